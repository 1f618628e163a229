"""/reports: the weekly reports behind sign-in, each week rendered, its CSVs and PDF downloadable."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web_factories import Browser, Seed

from db.types import utcnow
from engagement.report.weeks import week_of
from engagement.settings import EngagementSettings, MoneySettings
from engagement.web import create_app


def _app(engine: Engine, folder: Path, **settings: object) -> Browser:
    engagement = EngagementSettings(public_url="https://care.example", **settings)  # type: ignore[arg-type]
    engagement.report.pdf = False
    return Browser(create_app(engine, engagement, reports_dir=folder)).login("ana@example.com")


def test_reports_need_sign_in(sqlite_engine: Engine, seeded: Seed, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    app = create_app(sqlite_engine, EngagementSettings(), reports_dir=folder)
    anonymous = TestClient(app, base_url="https://testserver")
    week = week_of(utcnow()).label
    for url in ("/reports", f"/reports/{week}", f"/reports/{week}/weekly-report.html", f"/reports/{week}/csv/x.csv"):
        response = anonymous.get(url, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), url
    assert not folder.exists(), "nothing is built for a stranger"


def test_weeks_with_posts_listed_and_each_rendered(sqlite_engine: Engine, seeded: Seed, tmp_path: Path) -> None:
    ana = _app(sqlite_engine, tmp_path, money=MoneySettings(currency="EUR", locale="de_DE"))
    listing = ana.get("/reports")
    assert listing.status_code == 200
    assert '<a href="/reports" aria-current="page">Reports</a>' in listing.text  # the nav link
    week = week_of(utcnow()).label  # the seeded posts are from the last hours
    assert f'href="/reports/{week}"' in listing.text and "not yet" in listing.text

    page = ana.get(f"/reports/{week}")
    assert page.status_code == 200
    assert f'src="/reports/{week}/weekly-report.html"' in page.text
    assert "revenue_at_risk.csv" in page.text
    assert (tmp_path / week / "weekly-report.html").is_file(), "built on first view"

    html = ana.get(f"/reports/{week}/weekly-report.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'self'" in html.headers["content-security-policy"]  # framed by our page only
    assert "Revenue at risk" in html.text and "file://" not in html.text
    assert "\u00a0€" in html.text, "amounts in the configured currency and locale (8.169 €)"

    table = ana.get(f"/reports/{week}/csv/revenue_at_risk.csv")
    assert table.status_code == 200 and "attachment" in table.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert rows and {row["currency"] for row in rows} == {"EUR"}

    assert ana.get("/reports").text.count("not yet") == listing.text.count("not yet") - 1
    assert ana.get(f"/reports/{week}/weekly-report.pdf").status_code == 404  # PDFs turned off
    assert ana.get(f"/reports/{week}/csv/nope.csv").status_code == 404
    assert ana.get("/reports/2026-W99").status_code == 400
    assert ana.get("/reports/../../etc").status_code == 404


def test_a_week_outside_the_report_years_is_refused_not_a_server_error(
    sqlite_engine: Engine, seeded: Seed, tmp_path: Path
) -> None:
    """9999-W52 is a valid ISO week whose end overflows ``date``: it answered 500 (and 1990's
    weeks or 2100's are built on first view like any other)."""
    folder = tmp_path / "reports"
    ana = _app(sqlite_engine, folder)
    for week in ("9999-W52", "0001-W01", "1989-W52"):
        response = ana.get(f"/reports/{week}")
        assert response.status_code == 400, week
        assert "a report covers 1990 to 2100" in response.text
    assert not folder.exists(), "nothing built for a refused week"


def test_a_week_without_posts_is_not_built(sqlite_engine: Engine, seeded: Seed, tmp_path: Path) -> None:
    """Any signed-in person could otherwise make the server build (and store) reports for every
    empty week from 1990 to 2100."""
    folder = tmp_path / "reports"
    ana = _app(sqlite_engine, folder)
    for week in ("1999-W01", "2100-W01"):
        response = ana.get(f"/reports/{week}")
        assert response.status_code == 404 and "no customer posts that week" in response.text, week
    assert not folder.exists() or not any(folder.iterdir())
