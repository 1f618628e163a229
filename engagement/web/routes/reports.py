"""The weekly reports in the web app (``/reports``): the weeks with posts, each week's report
rendered, its CSVs and PDF downloadable; behind sign-in like every page.

A week's files are the ones ``engagebot report weekly`` (or the scheduled job) wrote under the
reports folder; a week nobody has built yet is built on first view, without a Slack summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from sqlalchemy import func, select
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import Post
from db.types import utcnow
from engagement.errors import NotFound
from engagement.report.weekly import CSV_FOLDER, HTML_NAME, PDF_NAME, build_weekly_report
from engagement.report.weeks import Week, parse_week, week_of
from engagement.web.deps import CurrentUser, DbSession, State, WebState
from engagement.web.routes.pages import base_context

router = APIRouter(include_in_schema=False)
DEFAULT_REPORTS_DIR = Path("out") / "reports"
MAX_WEEKS = 52
# The report is one self-contained document with its own inline styles and data: images: it
# gets a CSP of its own that allows exactly that, and may be framed by our report page only.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'"
WeekLabel = Annotated[str, PathParam(pattern=r"^\d{4}-W\d{2}$", description="ISO week, e.g. 2026-W47")]
CsvName = Annotated[str, PathParam(pattern=r"^[a-z0-9_]{1,64}\.csv$")]
_CSV = re.compile(r"^[a-z0-9_]{1,64}\.csv$")


@dataclass(frozen=True)
class WeekEntry:
    """One week in the list: its posts and whether its report has been written."""

    week: Week
    posts: int
    generated: datetime | None


def reports_dir(request: Request) -> Path:
    """Where reports are written (``create_app(reports_dir=...)``: ``<output_dir>/reports``)."""
    folder: Path = getattr(request.app.state, "reports_dir", DEFAULT_REPORTS_DIR)
    return folder


def _generated(folder: Path) -> datetime | None:
    html = folder / HTML_NAME
    return datetime.fromtimestamp(html.stat().st_mtime, tz=UTC) if html.is_file() else None


def posts_in(session: Session, week: Week) -> int:
    """How many customer (not brand) posts the week has."""
    count = session.scalar(
        select(func.count())
        .select_from(Post)
        .where(col(Post.is_brand).is_(False), col(Post.created_at) >= week.start, col(Post.created_at) < week.end)
    )
    return int(count or 0)


def weeks_with_posts(session: Session, *, tz: str, folder: Path, now: datetime) -> list[WeekEntry]:
    """The weeks that have customer posts, newest first (at most a year back from the newest)."""
    newest, oldest = session.execute(
        select(func.max(col(Post.created_at)), func.min(col(Post.created_at))).where(col(Post.is_brand).is_(False))
    ).one()
    if newest is None:
        return []
    entries: list[WeekEntry] = []
    week = week_of(min(newest, now), tz)
    first = week_of(oldest, tz)
    while len(entries) < MAX_WEEKS and week.start >= first.start:
        posts = posts_in(session, week)
        if posts:
            entries.append(WeekEntry(week=week, posts=posts, generated=_generated(folder / week.label)))
        week = week.previous()
    return entries


def ensure_report(state: WebState, folder: Path, label: str) -> Path:
    """The folder of one week's report, built now if nobody has built it yet."""
    week = parse_week(label, state.settings.report.timezone)
    target = folder / week.label
    if not (target / HTML_NAME).is_file():
        with session_scope(state.engine) as session:
            posts = posts_in(session, week)
        if not posts:  # any signed-in person could otherwise make the server build empty years
            raise HTTPException(status_code=404, detail=f"no report for {week.label}: no customer posts that week")
        build_weekly_report(state.engine, state.settings, week=week.label, out_dir=folder, enqueue_slack=False)
    return target


@router.get("/reports")
def reports_page(request: Request, state: State, session: DbSession, user: CurrentUser) -> Response:
    folder = reports_dir(request)
    entries = weeks_with_posts(session, tz=state.settings.report.timezone, folder=folder, now=utcnow())
    context: dict[str, Any] = {**base_context(request, user), "entries": entries}
    return state.templates.TemplateResponse(request, "reports.html", context)


@router.get("/reports/{week}")
def report_page(request: Request, state: State, user: CurrentUser, week: WeekLabel) -> Response:
    target = ensure_report(state, reports_dir(request), week)
    csvs = sorted(path.name for path in (target / CSV_FOLDER).glob("*.csv"))
    context: dict[str, Any] = {
        **base_context(request, user),
        "week": parse_week(week, state.settings.report.timezone),
        "generated": _generated(target),
        "csvs": csvs,
        "pdf": (target / PDF_NAME).is_file(),
    }
    return state.templates.TemplateResponse(request, "report.html", context)


@router.get("/reports/{week}/" + HTML_NAME)
def report_html(request: Request, state: State, user: CurrentUser, week: WeekLabel) -> Response:
    target = ensure_report(state, reports_dir(request), week)
    return FileResponse(
        target / HTML_NAME,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"},
    )


@router.get("/reports/{week}/" + PDF_NAME)
def report_pdf(request: Request, state: State, user: CurrentUser, week: WeekLabel) -> Response:
    path = ensure_report(state, reports_dir(request), week) / PDF_NAME
    if not path.is_file():
        raise NotFound(f"no PDF for {week}: PDFs are turned off (engagement.report.pdf)")
    return FileResponse(path, media_type="application/pdf", filename=f"weekly-report-{week}.pdf")


@router.get("/reports/{week}/" + CSV_FOLDER + "/{name}")
def report_csv(request: Request, state: State, user: CurrentUser, week: WeekLabel, name: CsvName) -> Response:
    folder = ensure_report(state, reports_dir(request), week) / CSV_FOLDER
    path = folder / name
    if not _CSV.match(name) or not path.is_file():
        raise NotFound(f"no table {name} in the report of {week}")
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"{week}-{name}")
