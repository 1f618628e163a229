"""Build the weekly report: read the rows, compute the figures, write HTML/CSV/PDF, queue Slack."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine
from sqlmodel import Session, select

from db.engine import session_scope
from db.jobs import job_run
from db.models import Outbox
from db.types import utcnow
from engagement import i18n
from engagement.i18n import gettext as _
from engagement.links import Links
from engagement.money import Money
from engagement.notify.attention import channel_language
from engagement.notify.outbox import enqueue
from engagement.report.charts import (
    Chart,
    platform_chart,
    response_chart,
    risk_chart,
    risk_trend_chart,
    tier_trend_chart,
    trend_chart,
    value_chart,
)
from engagement.report.coverage import coverage_by_source, step_failures
from engagement.report.headline import Headline, headline, story
from engagement.report.mail import email_message, write_eml
from engagement.report.pdf import write_pdf
from engagement.report.query import load_report_data, newest_post_time
from engagement.report.render import render_html, write_csvs
from engagement.report.response import response_by_team, response_by_tier, response_hours_by_tier
from engagement.report.risk import revenue_at_risk, risk_trend, top_unanswered
from engagement.report.rows import ReportData
from engagement.report.slack import summary_blocks, summary_text
from engagement.report.tables import Table
from engagement.report.terms import complaint_terms
from engagement.report.value import negative_high_value, sentiment_vs_value, turned_negative
from engagement.report.volume import (
    platform_trend,
    tier_trend,
    volume_by_platform,
    volume_by_tier,
    weekly_trend,
)
from engagement.report.weeks import Week, default_week, resolve_week
from engagement.settings import EngagementSettings, ReportSettings, SlackSettings

log = logging.getLogger(__name__)
HTML_NAME, PDF_NAME, EML_NAME = "weekly-report.html", "weekly-report.pdf", "weekly-report.eml"
CSV_FOLDER = "csv"


@dataclass
class WeeklyReport:
    """What one run wrote and found: paths, the headline figures, every table, the Slack summary."""

    week: str
    week_reason: str
    headline: Headline
    tables: dict[str, Table]
    html_path: Path
    eml_path: Path
    csv_paths: dict[str, Path]
    pdf_path: Path | None
    report_link: str
    slack_text: str
    slack_blocks: list[dict[str, Any]]
    charts: list[str] = field(default_factory=list)
    outbox_id: int | None = None
    currency: str = "USD"

    @property
    def figures(self) -> dict[str, Any]:
        return self.headline.as_dict()

    def as_json(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "week_reason": self.week_reason,
            "currency": self.currency,
            "figures": self.figures,
            "html": str(self.html_path),
            "eml": str(self.eml_path),
            "pdf": str(self.pdf_path) if self.pdf_path else None,
            "csv": {key: str(path) for key, path in self.csv_paths.items()},
            "charts": self.charts,
            "report_link": self.report_link,
            "slack_text": self.slack_text,
            "outbox_id": self.outbox_id,
        }


def compute_tables(
    data: ReportData, settings: ReportSettings, links: Links, *, stop_words: list[str] | None = None
) -> dict[str, Table]:
    """Every table of the report, in reading order; pure functions over the rows."""
    hv = settings.high_value_tiers
    tables = [
        top_unanswered(data, high_value_tiers=hv, links=links, limit=settings.top_cases),
        weekly_trend(data),
        tier_trend(data),
        platform_trend(data),
        volume_by_platform(data),
        volume_by_tier(data),
        revenue_at_risk(data),
        risk_trend(data),
        response_by_tier(data),
        response_by_team(data),
        sentiment_vs_value(data),
        turned_negative(data),
        negative_high_value(data, high_value_tiers=hv),
        complaint_terms(data, limit=settings.top_terms, extra_stop_words=stop_words or settings.stop_words),
        coverage_by_source(data),
        step_failures(data),
    ]
    return {table.key: table for table in tables}


def draw_charts(data: ReportData, tables: Mapping[str, Table], currency: Money) -> dict[str, Chart]:
    """The charts that have data this week (an empty week draws none rather than empty axes)."""
    drawn = [
        trend_chart(tables["trend_weekly"]),
        tier_trend_chart(tables["trend_by_tier"], data.tiers),
        platform_chart(tables["volume_by_platform"]),
        risk_chart(tables["revenue_at_risk"], currency),
        risk_trend_chart(tables["trend_revenue_at_risk"], currency),
        response_chart(response_hours_by_tier(data), data.tiers),
        value_chart(tables["sentiment_vs_value"], currency),
    ]
    return {chart.key: chart for chart in drawn if chart is not None}


def choose_week(week: str | None, *, session: Session, now: datetime, tz: str) -> tuple[Week, str]:
    """The week to report on and a sentence saying which (see ``weeks.default_week``)."""
    if week is None or week.strip().lower() in ("", "last"):
        last_end = resolve_week(None, now=now, tz=tz).end
        return default_week(now=now, tz=tz, newest_before=newest_post_time(session=session, before=last_end))
    newest = newest_post_time(session=session) if week.strip().lower() == "latest" else None
    target = resolve_week(week, now=now, tz=tz, newest=newest)
    return target, f"{target.label}: as asked ({week.strip()})"


def build_weekly_report(
    engine: Engine,
    engagement: EngagementSettings,
    *,
    week: str | None = None,
    out_dir: Path,
    now: datetime | None = None,
    slack_channel: str | None = None,
    enqueue_slack: bool = True,
) -> WeeklyReport:
    """Write the report of one ISO week under ``out_dir/<week>/`` and queue its Slack summary.

    ``week``: None for the last complete week before ``now`` that has posts, "current" for the
    week holding ``now``, "latest" for the week of the newest post, or an ISO week such as
    "2026-W47". Re-running for the same week rewrites the files and refreshes a summary not yet
    sent. Amounts read as ``engagement.money`` says; links go to ``engagement.public_url``.
    """
    now = now or utcnow()
    settings = engagement.report
    currency = Money.from_settings(engagement.money)
    with session_scope(engine) as session:
        target, reason = choose_week(week, session=session, now=now, tz=settings.timezone)
        data = load_report_data(
            session=session,
            week=target,
            trend_weeks=settings.trend_weeks,
            now=now,
            fractions=dict(engagement.triage.tier_fractions),
            settings=engagement,
            count_dry_runs=settings.count_dry_run_replies,
        )
    # The report (tables, charts, HTML, PDF, e-mail) in the brand's language; the Slack summary
    # in its channel's (``slack.channel_languages``).
    with i18n.using(engagement.language):
        written = _write_report(engagement, target, data, folder=out_dir / target.label, now=now)
    tables, top, charts, link = written.tables, written.headline, written.charts, written.link
    channel = slack_channel or settings.slack_channel or engagement.slack.default_channel
    with i18n.using(channel_language(channel, engagement.slack, engagement.language)):
        text = summary_text(top, currency, link)
        blocks = summary_blocks(top, tables["top_unanswered"], currency, link)
    report = WeeklyReport(
        week=target.label,
        week_reason=reason,
        currency=currency.currency,
        headline=top,
        tables=tables,
        html_path=written.html_path,
        eml_path=written.eml_path,
        csv_paths=written.csv_paths,
        pdf_path=written.pdf_path,
        report_link=link,
        slack_text=text,
        slack_blocks=blocks,
        charts=sorted(charts),
    )
    if enqueue_slack:
        with session_scope(engine) as session:
            report.outbox_id = enqueue_summary(
                report, session=session, channel=channel, now=now, slack=engagement.slack
            )
    log.info(
        "weekly report %s: %d posts, %d cases, %d tables, %d charts -> %s",
        target.label,
        top.posts,
        top.cases,
        len(tables),
        len(charts),
        written.html_path,
        extra={"step": "report", "week": target.label},
    )
    return report


class _Written(NamedTuple):
    """What ``_write_report`` computed and wrote, for the summary and ``WeeklyReport``."""

    tables: dict[str, Table]
    headline: Headline
    charts: dict[str, Chart]
    html_path: Path
    eml_path: Path
    csv_paths: dict[str, Path]
    pdf_path: Path | None
    link: str


def _write_report(
    engagement: EngagementSettings, target: Week, data: ReportData, *, folder: Path, now: datetime
) -> _Written:
    """Compute the tables and charts and write the HTML, e-mail, CSVs and PDF in the language
    active (``build_weekly_report`` makes it the brand's)."""
    settings = engagement.report
    currency = Money.from_settings(engagement.money)
    links = Links.from_settings(engagement)
    tables = compute_tables(data, settings, links)
    top = headline(data, high_value_tiers=settings.high_value_tiers)
    lines = story(top, currency, tables["complaint_terms"])
    charts = draw_charts(data, tables, currency)

    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / HTML_NAME
    render = partial(
        render_html,
        headline=top,
        story=lines,
        tables=tables,
        charts=charts,
        currency=currency,
        generated=utcnow(),
        as_of=now,
        tz=settings.timezone,
        trend_weeks=settings.trend_weeks,
    )
    html_path.write_text(render(), encoding="utf-8")
    link = links.report(target.label)
    eml_path = write_eml(
        folder / EML_NAME,
        email_message(
            subject=_("Weekly sentiment-to-CLV report %(week)s") % {"week": target.label},
            text="\n".join([*lines, "", _("Full report: %(link)s") % {"link": link}]),
            charts=charts,
            render=lambda sources: render(sources=sources),
        ),
    )
    csv_paths = write_csvs(tables, folder / CSV_FOLDER, currency=currency.currency)
    pdf_path = (
        write_pdf(
            folder / PDF_NAME,
            headline=top,
            story=lines,
            charts=charts,
            tables=tables,
            currency=currency,
        )
        if settings.pdf
        else None
    )
    return _Written(tables, top, charts, html_path, eml_path, csv_paths, pdf_path, link)


def enqueue_summary(
    report: WeeklyReport, *, session: Session, channel: str, now: datetime, slack: SlackSettings
) -> int | None:
    """Queue the Slack summary once per week (dedupe key ``report:<week>``) through the outbox's
    front door: it goes out when the channel's quiet hours end, or now.

    A summary still pending is refreshed with the new figures; one already sent is left alone,
    so re-running the report never posts twice.
    """
    key = f"report:{report.week}"
    payload: dict[str, Any] = {
        "channel": channel,
        "text": report.slack_text,
        "blocks": report.slack_blocks,
        "week": report.week,
    }
    row = enqueue(session, kind="report", key=key, payload=payload, now=now, slack=slack, refresh=True)
    if row is None:  # sent already: re-running the report never posts twice
        return session.exec(select(Outbox.id).where(Outbox.dedupe_key == key)).first()
    session.flush()
    return row.id


def weekly_report_step(
    engine: Engine,
    settings: EngagementSettings,
    *,
    out_dir: Path,
    week: str | None = None,
    now: datetime | None = None,
    enqueue_slack: bool = True,
) -> WeeklyReport:
    """The scheduled step: build the report with the engagement settings, recorded as a JobRun."""
    with job_run(engine, "weekly_report") as counts:
        report = build_weekly_report(
            engine,
            settings,
            week=week,
            out_dir=out_dir,
            now=now,
            slack_channel=settings.report.slack_channel or settings.slack.default_channel,
            enqueue_slack=enqueue_slack,
        )
        counts.update(
            week=report.week,
            posts=report.headline.posts,
            cases=report.headline.cases,
            charts=len(report.charts),
        )
    return report
