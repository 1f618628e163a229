"""The weekly report as files: HTML parsed, charts decoded, CSVs read, PDF, Slack outbox, CLI."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import select
from test_report_dataset import BASE_URL, NOW, build_dataset
from typer.testing import CliRunner

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import JobRun, Outbox
from engagement.notify.deliver import deliver_pending
from engagement.report.weekly import WeeklyReport, build_weekly_report
from engagement.settings import EngagementSettings, SlackSettings

SETTINGS = EngagementSettings(public_url=BASE_URL)
QUICK = SETTINGS.model_copy(update={"report": SETTINGS.report.model_copy(update={"pdf": False})})


class ReportPage(HTMLParser):
    """What a reader sees: headline figures, tables (headings and cells), images, links, text."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.tables: dict[str, dict[str, Any]] = {}
        self.images: list[dict[str, str]] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self._figure: str | None = None
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-figure" in a:
            self._figure = a["data-figure"]
            self.figures[self._figure] = ""
        if tag == "table":
            self._table = a.get("data-table", "")
            self.tables[self._table] = {"headers": [], "rows": []}
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(a)
        elif tag == "a":
            self.links.append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            table = self.tables[self._table]
            if table["headers"]:
                table["rows"].append(self._row)
            else:
                table["headers"] = self._row
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "div" and self._figure is not None:
            self._figure = None

    def handle_data(self, data: str) -> None:
        if self._figure is not None:
            self.figures[self._figure] += data.strip()
        if self._cell is not None:
            self._cell.append(data)
        self.text.append(data)

    def row(self, table: str, first: str) -> dict[str, str]:
        found = self.tables[table]
        for cells in found["rows"]:
            if cells[0] == first:
                return dict(zip(found["headers"], cells, strict=True))
        raise KeyError(first)


def parse(path: Path) -> ReportPage:
    page = ReportPage()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, WeeklyReport]]:
    """One report of the world, shared by the read-only tests (charts and a PDF take seconds)."""
    folder = tmp_path_factory.mktemp("report")
    engine = make_engine(f"sqlite:///{folder / 'report.db'}")
    upgrade(engine)
    build_dataset(engine)
    yield engine, build_weekly_report(engine, SETTINGS, out_dir=folder / "reports", now=NOW)
    engine.dispose()


@pytest.fixture
def report(built: tuple[Engine, WeeklyReport]) -> WeeklyReport:
    return built[1]


def test_html_shows_the_headline_first_and_every_section(report: WeeklyReport) -> None:
    page = parse(report.html_path)
    assert report.html_path.name == "weekly-report.html" and report.html_path.parent.name == "2026-W47"
    assert page.figures == {
        "posts": "11",
        "negative_share": "67%",
        "unanswered_money": "$1,400",
        "unanswered_high_value_cases": "2",
        "median_response_hours": "6.0 h",
        "sla_hit_rate": "50%",
        "linked_share": "55%",
    }
    text = " ".join(" ".join(page.text).split())
    assert "11 customer posts (+175% vs last week); 67% negative, +16.7 pts vs last week." in text
    assert (
        "$4,960 at risk in this week's negative posts: $4,960 triaged in 6 cases; $2,060 answered; $1,500 dismissed."
        in text
    )
    assert "$1,400 is still unanswered; 2 high-value posts are waiting." in text
    assert "answered or dismissed" not in text  # no all-clear while money waits
    assert text.index("Act now") < text.index("Revenue at risk") < text.index("Trend") < text.index("Coverage")
    for table in (
        "top_unanswered",
        "trend_weekly",
        "volume_by_platform",
        "volume_by_tier",
        "revenue_at_risk",
        "response_by_tier",
        "response_by_team",
        "sentiment_vs_value",
        "turned_negative",
        "negative_high_value",
        "complaint_terms",
        "coverage",
        "step_failures",
    ):
        assert table in page.tables, table
    assert page.row("volume_by_platform", "x")["Negative share"] == "71%"
    assert page.row("revenue_at_risk", "All")["Unanswered money"] == "$1,400"
    assert page.row("response_by_team", "care")["p90 first reply"] == "27.6 h"
    assert page.row("complaint_terms", "not processed")["Rise (log-odds)"] == "+2.20"
    assert page.row("coverage", "reddit-sub")["Last error"] == "HTTPError: 503 Service Unavailable"
    case_links = [link for link in page.links if "/cases/" in link]
    assert case_links == [row["url"] for row in report.tables["top_unanswered"].rows]
    assert all(link.startswith(f"{BASE_URL}/cases/") for link in case_links)


def test_charts_are_embedded_pngs_worth_looking_at(report: WeeklyReport) -> None:
    page = parse(report.html_path)
    charts = {img["id"]: img for img in page.images}
    assert set(charts) == {
        f"chart-{key}" for key in ("trend", "tier_trend", "platforms", "risk", "risk_trend", "response", "value")
    }
    for img in charts.values():
        assert img["alt"], "every chart says what it shows"
        assert img["src"].startswith("data:image/png;base64,")  # inline: survives email and offline
        image = Image.open(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1])))
        assert image.format == "PNG"
        assert image.width >= 400 and image.height >= 200
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 20, f"{img['id']} looks blank"
        # the sentiment/risk palette is drawn, not just axes
        assert any(abs(r - 0xD1) < 8 and abs(g - 0x49) < 8 and abs(b - 0x5B) < 8 for _n, (r, g, b) in colours) or img[
            "id"
        ] in ("chart-tier_trend", "chart-response")
    html = report.html_path.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # post text is escaped
    assert "<script" not in html and "http" not in "".join(i["src"][:5] for i in page.images)


def test_the_email_carries_charts_as_inline_images(report: WeeklyReport) -> None:
    message = BytesParser(policy=policy.default).parsebytes(report.eml_path.read_bytes())
    assert message["Subject"] == "Weekly sentiment-to-CLV report 2026-W47"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "11 customer posts" in text.get_content()
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == len(report.charts) == 7
    page = ReportPage()
    page.feed(html.get_content())
    sources = [img["src"] for img in page.images]
    assert all(src.startswith("cid:") for src in sources)  # web mail does not show data: images
    assert sorted(src[4:] for src in sources) == sorted(part["Content-ID"].strip("<>") for part in images)


def test_a_csv_per_table_with_raw_values(report: WeeklyReport) -> None:
    assert set(report.csv_paths) == set(report.tables)
    with report.csv_paths["revenue_at_risk"].open(newline="") as handle:
        rows = {row["group"]: row for row in csv.DictReader(handle)}
    assert rows["All"]["money_at_risk"] == "4960.0" and rows["high"]["unanswered_money"] == "1400.0"
    with report.csv_paths["response_by_tier"].open(newline="") as handle:
        rows = {row["group"]: row for row in csv.DictReader(handle)}
    assert rows["All"]["p90_hours"] == "25.2" and rows["high"]["median_hours"] == ""  # no reply: empty, not 0
    with report.csv_paths["volume_by_platform"].open(newline="") as handle:
        assert float(next(r for r in csv.DictReader(handle) if r["group"] == "x")["negative_share"]) == pytest.approx(
            5 / 7
        )


def test_pdf_is_written(report: WeeklyReport) -> None:
    assert report.pdf_path is not None
    content = report.pdf_path.read_bytes()
    assert content.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b", content))
    assert pages >= 2  # the headline with the charts, then the key tables
    assert b"Weekly sentiment-to-CLV report 2026-W47" in content  # the document title
    assert len(content) > 20_000  # charts and tables, not empty pages


def test_slack_summary_says_the_key_figures(report: WeeklyReport) -> None:
    assert report.slack_text.startswith("Weekly report 2026-W47: 11 posts, 67% negative; $1,400 at risk unanswered")
    assert report.report_link == f"{BASE_URL}/reports/2026-W47"
    fields = " ".join(f["text"] for f in report.slack_blocks[1]["fields"])
    assert "$1,400 of $4,960" in fields and "median 6.0 h, p90 25.2 h" in fields
    cases = report.slack_blocks[2]["text"]["text"]
    assert f"<{BASE_URL}/cases/" in cases and "Customer 3 (high)" in cases
    assert (
        report.slack_blocks[-1]["elements"][0]["text"]
        == f"<{BASE_URL}/reports/2026-W47|Open the full report>"
    )


def test_the_notifier_delivers_the_summary(sqlite_engine: Engine, tmp_path: Path) -> None:
    build_dataset(sqlite_engine)
    quick = QUICK
    report = build_weekly_report(sqlite_engine, quick, out_dir=tmp_path, now=NOW)
    sink = tmp_path / "slack.jsonl"
    counts = deliver_pending(sqlite_engine, SlackSettings(sink=str(sink)), now=NOW)
    assert counts["sent"] == 1
    [message] = [json.loads(line) for line in sink.read_text().splitlines()]
    assert message["channel"] == "#social-care"  # slack.default_channel when none is set
    assert message["text"] == report.slack_text and message["kind"] == "report"


def test_slack_summary_is_queued_once_per_week(sqlite_engine: Engine, tmp_path: Path) -> None:
    build_dataset(sqlite_engine)
    quick = QUICK
    report = build_weekly_report(sqlite_engine, quick, out_dir=tmp_path / "first", now=NOW, slack_channel="#care-leads")
    with session_scope(sqlite_engine) as session:
        rows = session.exec(select(Outbox)).all()
        assert [(r.kind, r.dedupe_key, r.channel) for r in rows] == [("report", "report:2026-W47", "slack")]
        assert rows[0].payload["text"] == report.slack_text and rows[0].payload["blocks"] == report.slack_blocks
        assert rows[0].payload["channel"] == "#care-leads"
        rows[0].status = "sent"
        rows[0].payload = {"text": "as sent"}
    again = build_weekly_report(sqlite_engine, quick, out_dir=tmp_path / "again", now=NOW)
    assert again.outbox_id == report.outbox_id
    with session_scope(sqlite_engine) as session:
        rows = session.exec(select(Outbox)).all()
        assert len(rows) == 1 and rows[0].payload == {"text": "as sent"}  # re-running never posts twice


def test_empty_week_is_a_clear_report(sqlite_engine: Engine, tmp_path: Path) -> None:
    report = build_weekly_report(
        sqlite_engine, SETTINGS, week="2026-W30", out_dir=tmp_path, now=NOW, enqueue_slack=False
    )
    page = parse(report.html_path)
    text = " ".join(" ".join(page.text).split())
    assert "No customer posts were collected in 2026-W30 (20-26 Jul 2026)." in text
    assert "No posts were collected this week." in text and "No negative posts this week." in text
    assert page.figures["posts"] == "0" and page.figures["negative_share"] == "–"
    assert page.images == []  # no empty axes pretending to be charts
    assert report.pdf_path is not None and report.pdf_path.read_bytes().startswith(b"%PDF")
    assert report.slack_text.startswith("Weekly report 2026-W30: 0 posts, – negative")


def test_current_week_is_marked_partial(sqlite_engine: Engine, tmp_path: Path) -> None:
    build_dataset(sqlite_engine)
    quick = QUICK
    report = build_weekly_report(sqlite_engine, quick, week="latest", out_dir=tmp_path, now=NOW)
    assert report.week == "2026-W47" and not report.headline.partial
    current = build_weekly_report(sqlite_engine, quick, week="current", out_dir=tmp_path, now=NOW)
    assert current.week == "2026-W48" and current.headline.partial
    assert "This week is not over yet" in current.html_path.read_text()


def test_cli_weekly_report(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engagebot.cli import app

    build_dataset(sqlite_engine)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    runner = CliRunner()
    monkeypatch.setenv("ENGAGEBOT_ENGAGEMENT__REPORT__PDF", "false")
    result = runner.invoke(app, ["report", "weekly", "--week", "2026-W47", "--out", str(tmp_path / "r"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["week"] == "2026-W47" and payload["figures"]["posts"] == 11
    assert Path(payload["html"]).is_file() and len(payload["csv"]) == 16 and payload["pdf"] is None
    with session_scope(sqlite_engine) as session:
        run = session.exec(select(JobRun).where(JobRun.job == "weekly_report")).one()
        assert run.status == "ok" and run.counts["week"] == "2026-W47"
    bad = runner.invoke(app, ["report", "weekly", "--week", "2026-W99"])
    assert bad.exit_code == 2 and "2026 has no ISO week 99" in bad.output
