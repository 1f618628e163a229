"""Backfilled history: never announced in Slack, cases only inside the triage window, and a
weekly report that still counts its money (never triaged) instead of a false all-clear."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import queue_factories as f
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Case, Outbox, SourceCursor
from engagement import notify
from engagement.notify.backfill import BACKFILL_CURSOR, backfill_marks, record_backfill
from engagement.report.risk import ALL_CLEAR
from engagement.report.weekly import build_weekly_report
from engagement.settings import EngagementSettings, SlackSettings
from engagement.triage.cases import triage

# Monday 23 Nov 2026, noon: 2026-W47 (16-22 Nov) has just ended
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _history(engine: Engine) -> dict[str, int]:
    """Three valued customers; their complaints span two weeks, most older than the 72 h window."""
    ids = {}
    for handle, value in (("ada", 9000.0), ("bo", 5000.0), ("cy", 3000.0)):
        f.customer(engine, handle=handle, rclv=value, name=handle.title())
        ids[handle] = f.author(engine, handle=handle)
    when = {
        "ada-w47": datetime(2026, 11, 17, 9, tzinfo=UTC),  # outside the window at NOW
        "bo-w47": datetime(2026, 11, 18, 9, tzinfo=UTC),  # outside the window
        "cy-w47": datetime(2026, 11, 21, 9, tzinfo=UTC),  # inside the window: a case
        "ada-w46": datetime(2026, 11, 10, 9, tzinfo=UTC),  # last week: the trend counts it too
    }
    for key, created in when.items():
        handle = key.split("-")[0]
        f.post(
            engine, author_id=ids[handle], text=f"{key}: refund still missing", created_at=created, scored_at=created
        )
    f.post(engine, author_id=ids["bo"], text="lovely crew", p_negative=0.05, created_at=when["bo-w47"])
    return ids


def test_backfill_never_notifies_and_opens_cases_only_inside_the_window(engine: Engine) -> None:
    _history(engine)
    record_backfill(engine, source="x-search", until=NOW)
    counts = triage(engine, EngagementSettings(), now=NOW)
    assert counts["created"] == 1, "only the post inside the 72 h window became a case"
    settings = EngagementSettings(slack=SlackSettings(immediate_min_priority=0, spike_min_count=1, spike_ratio=0.1))
    for later in (NOW, NOW + timedelta(days=2)):  # not now, and not when its SLA breaches either
        assert notify.enqueue_notifications(engine, settings, later) == dict.fromkeys(notify.alerts.KINDS, 0)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0
        assert session.scalar(select(func.count()).where(Case.notified_at.is_(None))) == 0  # type: ignore[union-attr]
    # a live post of the same source after the backfill is announced as usual
    live = f.author(engine, handle="dee")
    f.post(engine, author_id=live, text="my bag is gone", created_at=NOW + timedelta(hours=1))
    triage(engine, EngagementSettings(), now=NOW + timedelta(hours=2))
    assert notify.enqueue_notifications(engine, settings, NOW + timedelta(hours=2))["new_case"] == 1


def test_report_over_a_backfilled_history_counts_the_never_triaged_money(engine: Engine, tmp_path: Path) -> None:
    _history(engine)
    record_backfill(engine, source="x-search", until=NOW)
    # the report's view of history nobody triaged: without the day-one backlog (triage --backlog)
    triage(engine, EngagementSettings(), now=NOW, backlog=False)
    settings = EngagementSettings(public_url="https://care.example")
    settings.report.pdf = False
    report = build_weekly_report(engine, settings, out_dir=tmp_path, now=NOW, enqueue_slack=False)
    assert (report.week, report.week_reason) == ("2026-W47", "2026-W47: the last complete week")
    h = report.headline
    with session_scope(engine) as session:
        [case] = session.execute(select(Case)).scalars()  # type: ignore[call-overload]
    # ada 9000 and bo 5000, x P(negative) 0.9 x P(churn) 0.5, never triaged; cy's case triaged
    assert h.never_triaged_posts == 2 and h.never_triaged_money == pytest.approx((9000 + 5000) * 0.9 * 0.5)
    assert h.triaged_money == pytest.approx(case.money_at_risk)
    assert h.unanswered_money == pytest.approx(h.never_triaged_money + case.money_at_risk)
    assert h.unanswered_money > 0
    assert h.money_at_risk == pytest.approx(h.unanswered_money)
    html = report.html_path.read_text(encoding="utf-8")
    assert ALL_CLEAR not in html and "Every negative post of this week has been answered" not in html
    assert "never triaged in 2 posts" in html
    top = report.tables["top_unanswered"].rows
    assert (top[0]["case"], top[0]["customer"]) == ("never triaged", "Ada")  # the most money first
    assert {row["sla"] for row in top if row["case"] == "never triaged"} == {"before engagebot ran"}
    trend = {row["group"]: row for row in report.tables["trend_revenue_at_risk"].rows}
    assert trend["2026-W46"]["never_triaged_money"] == pytest.approx(9000 * 0.9 * 0.5)  # the same measure
    assert "file://" not in json.dumps(report.as_json()) and report.report_link.endswith("/reports/2026-W47")


def test_default_week_goes_back_to_the_last_week_with_posts(engine: Engine, tmp_path: Path) -> None:
    _history(engine)
    settings = EngagementSettings()
    settings.report.pdf = False
    quiet = NOW + timedelta(weeks=3)  # three weeks without a post
    report = build_weekly_report(engine, settings, out_dir=tmp_path, now=quiet, enqueue_slack=False)
    assert report.week == "2026-W47"
    assert report.week_reason == "2026-W47: the last complete week with posts (2026-W50 has none)"


def test_the_answered_history_is_not_at_risk(engine: Engine, tmp_path: Path) -> None:
    """A brand reply in the thread answers a never-triaged post: its money is answered, and with
    nothing left unanswered the all-clear is true and shown."""
    author = f.author(engine, handle="eve")
    f.customer(engine, handle="eve", rclv=4000.0, name="Eve")
    f.post(
        engine,
        author_id=author,
        text="lost bag",
        created_at=datetime(2026, 11, 17, 9, tzinfo=UTC),
        conversation_id="t1",
    )
    brand = f.author(engine, handle="brand", is_brand=True)
    f.post(
        engine,
        author_id=brand,
        text="so sorry, DM us",
        is_brand=True,
        conversation_id="t1",
        created_at=datetime(2026, 11, 17, 10, tzinfo=UTC),
        p_negative=None,
    )
    settings = EngagementSettings()
    settings.report.pdf = False
    report = build_weekly_report(engine, settings, out_dir=tmp_path, now=NOW, enqueue_slack=False)
    h = report.headline
    assert h.unanswered_money == 0 and h.answered_money == pytest.approx(4000 * 0.9 * 0.5)
    assert "Every negative post of this week has been answered or dismissed." in report.html_path.read_text()


def test_import_posts_backfill_flag_records_the_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engagebot.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    upgrade(make_engine(url))
    export = tmp_path / "history.csv"
    export.write_text("text,created_at,author\nrefund missing,2026-10-01T09:00:00Z,ada\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import-posts", "-p", "csv", str(export), "--backfill", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["backfill"] is True
    engine = make_engine(url)
    with session_scope(engine) as session:
        marks = backfill_marks(session)
        assert set(marks) == {"import:csv"} and session.get(SourceCursor, BACKFILL_CURSOR) is not None
