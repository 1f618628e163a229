"""Response performance: time to first reply (median, p90) and SLA hit rate by tier and team."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from engagement.i18n import N_
from engagement.i18n import gettext as _
from engagement.report.rows import CaseRow, ReportData
from engagement.report.tables import Column, Table, median, percentile, share

RESPONSE_NOTE = N_(  # translated where shown (weekly.html: |t)
    "Time to first reply runs from the customer's post to the first reply we sent (or the first "
    "brand "
    "reply seen in the thread). SLA hit rate: cases answered by their SLA due time, out of those "
    "answered "
    "or already due; dismissed cases and cases not yet due are left out."
)


def response_hours(case: CaseRow, now: datetime) -> float | None:
    """Hours from the post to the first response, if one came by ``now``."""
    if case.first_response_at is None or case.first_response_at > now:
        return None
    return max(0.0, (case.first_response_at - case.posted_at).total_seconds() / 3600.0)


def sla_result(case: CaseRow, now: datetime) -> bool | None:
    """True: answered in time; False: answered late or overdue; None: not counted."""
    if case.sla_due_at is None:
        return None
    answered = case.first_response_at is not None and case.first_response_at <= now
    if answered:
        assert case.first_response_at is not None
        return case.first_response_at <= case.sla_due_at
    if case.status == "dismissed" or case.sla_due_at > now:
        return None
    return False


def _row(group: str, cases: Sequence[CaseRow], now: datetime) -> dict[str, object]:
    hours = [h for h in (response_hours(c, now) for c in cases) if h is not None]
    results = [r for r in (sla_result(c, now) for c in cases) if r is not None]
    met = sum(results)
    return {
        "group": group,
        "cases": len(cases),
        "answered": len(hours),
        "median_hours": median(hours),
        "p90_hours": percentile(hours, 90),
        "sla_counted": len(results),
        "sla_met": met,
        "sla_hit_rate": share(met, len(results)),
    }


def _columns(first: str) -> list[Column]:
    return [
        Column("group", first),
        Column("cases", _("Cases"), "int"),
        Column("answered", _("Answered"), "int"),
        Column("median_hours", _("Median first reply"), "hours"),
        Column("p90_hours", _("p90 first reply"), "hours"),
        Column("sla_counted", _("SLA counted"), "int"),
        Column("sla_met", _("Within SLA"), "int"),
        Column("sla_hit_rate", _("SLA hit rate"), "share"),
    ]


def _grouped(data: ReportData, key: Callable[[CaseRow], str], order: Sequence[str]) -> list[dict[str, object]]:
    cases = data.cases_in(data.week)
    if not cases:
        return []
    names = list(order) + sorted({key(c) for c in cases} - set(order))
    rows = [_row(name, [c for c in cases if key(c) == name], data.now) for name in names]
    rows.append(_row("All", cases, data.now))
    return rows


def response_by_tier(data: ReportData) -> Table:
    return Table(
        "response_by_tier",
        _("Response performance by tier"),
        _columns(_("Tier")),
        _grouped(data, lambda c: c.tier, data.tiers),
        note=RESPONSE_NOTE,
        empty=_("No cases were opened by this week's posts."),
    )


def response_by_team(data: ReportData) -> Table:
    return Table(
        "response_by_team",
        _("Response performance by team"),
        _columns(_("Team")),
        _grouped(data, lambda c: c.team, []),
        note=RESPONSE_NOTE,
        empty=_("No cases were opened by this week's posts."),
    )


def response_hours_by_tier(data: ReportData) -> dict[str, list[float]]:
    """Hours to first reply of this week's answered cases, per tier (the distribution chart)."""
    result: dict[str, list[float]] = {}
    for case in data.cases_in(data.week):
        hours = response_hours(case, data.now)
        if hours is not None:
            result.setdefault(case.tier, []).append(hours)
    return result
