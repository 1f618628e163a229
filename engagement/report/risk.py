"""Revenue at risk: money at risk of this week's cases, answered vs unanswered, by tier."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engagement.report.rows import CaseRow, CustomerRow, ReportData
from engagement.report.tables import Column, Table, share

ANSWERED, UNANSWERED, DISMISSED = "answered", "unanswered", "dismissed"
RISK_NOTE = (
    "Money at risk is each case's rCLV x P(negative) x P(churn if unanswered), as triage stored "
    "it. "
    "Answered: a reply was sent or a brand reply was seen in the thread by the time of this "
    "report; "
    "dismissed: an agent closed it without a reply; unanswered: everything else (open, claimed, "
    "escalated)."
)


def outcome(case: CaseRow, now: datetime) -> str:
    """answered, dismissed or unanswered as of ``now``."""
    if case.first_response_at is not None and case.first_response_at <= now:
        return ANSWERED
    if case.status == DISMISSED:
        return DISMISSED
    return UNANSWERED


def _risk_row(group: str, cases: Sequence[CaseRow], now: datetime) -> dict[str, object]:
    money = {ANSWERED: 0.0, UNANSWERED: 0.0, DISMISSED: 0.0}
    count = {ANSWERED: 0, UNANSWERED: 0, DISMISSED: 0}
    for case in cases:
        kind = outcome(case, now)
        money[kind] += case.money_at_risk
        count[kind] += 1
    total = sum(money.values())
    return {
        "group": group,
        "cases": len(cases),
        "money_at_risk": total,
        "answered_cases": count[ANSWERED],
        "answered_money": money[ANSWERED],
        "unanswered_cases": count[UNANSWERED],
        "unanswered_money": money[UNANSWERED],
        "dismissed_cases": count[DISMISSED],
        "dismissed_money": money[DISMISSED],
        "answered_money_share": share(money[ANSWERED], total),
    }


def revenue_at_risk(data: ReportData) -> Table:
    """One row per tier (all tiers, even empty ones) and a total."""
    cases = data.cases_in(data.week)
    rows = [_risk_row(tier, [c for c in cases if c.tier == tier], data.now) for tier in data.tiers]
    rows += [
        _risk_row(tier, [c for c in cases if c.tier == tier], data.now)
        for tier in sorted({c.tier for c in cases} - set(data.tiers))
    ]
    rows.append(_risk_row("All", cases, data.now))
    columns = [
        Column("group", "Tier"),
        Column("cases", "Cases", "int"),
        Column("money_at_risk", "Money at risk", "money"),
        Column("answered_cases", "Answered", "int"),
        Column("answered_money", "Answered money", "money"),
        Column("unanswered_cases", "Unanswered", "int"),
        Column("unanswered_money", "Unanswered money", "money"),
        Column("dismissed_cases", "Dismissed", "int"),
        Column("dismissed_money", "Dismissed money", "money"),
        Column("answered_money_share", "Money answered", "share"),
    ]
    return Table(
        "revenue_at_risk",
        "Revenue at risk by tier",
        columns,
        rows if cases else [],
        note=RISK_NOTE,
        empty="No cases were opened by this week's posts.",
    )


def risk_trend(data: ReportData) -> Table:
    """Money at risk answered vs unanswered, week by week (as of this report)."""
    rows = []
    for week in data.trend:
        row = _risk_row(week.label, data.cases_in(week), data.now)
        rows.append(
            {
                key: row[key]
                for key in (
                    "group",
                    "cases",
                    "money_at_risk",
                    "answered_money",
                    "unanswered_money",
                    "dismissed_money",
                )
            }
        )
    columns = [
        Column("group", "Week"),
        Column("cases", "Cases", "int"),
        Column("money_at_risk", "Money at risk", "money"),
        Column("answered_money", "Answered", "money"),
        Column("unanswered_money", "Unanswered", "money"),
        Column("dismissed_money", "Dismissed", "money"),
    ]
    return Table("trend_revenue_at_risk", "Money at risk, week by week", columns, rows, note=RISK_NOTE)


def case_url(base_url: str, case_id: int) -> str:
    return f"{base_url.rstrip('/')}/cases/{case_id}"


def _who(case: CaseRow, customer: CustomerRow | None) -> str:
    if customer is not None and customer.name:
        return customer.name
    if case.handle:
        return f"@{case.handle}"
    return "unknown author"


def top_unanswered(data: ReportData, *, high_value_tiers: Sequence[str], base_url: str, limit: int) -> Table:
    """The unanswered high-value cases worth the most, with links to their case pages."""
    cases = [c for c in data.cases_in(data.week) if c.tier in high_value_tiers and outcome(c, data.now) == UNANSWERED]
    cases.sort(key=lambda c: (-c.money_at_risk, c.posted_at, c.id))
    rows = []
    for case in cases[:limit]:
        customer = data.customers.get(case.customer_id) if case.customer_id is not None else None
        waited = (data.now - case.posted_at).total_seconds() / 3600.0
        overdue = case.sla_due_at is not None and case.sla_due_at <= data.now
        rows.append(
            {
                "case": case.id,
                "url": case_url(base_url, case.id),
                "customer": _who(case, customer),
                "tier": case.tier,
                "team": case.team,
                "platform": case.platform,
                "money_at_risk": case.money_at_risk,
                "rclv": customer.rclv if customer is not None else None,
                "waiting_hours": max(0.0, waited),
                "sla": "overdue" if overdue else ("no SLA" if case.sla_due_at is None else "on time"),
                "status": case.status,
                "text": _snippet(case.text),
            }
        )
    columns = [
        Column("case", "Case", "link"),
        Column("customer", "Customer"),
        Column("tier", "Tier"),
        Column("team", "Team"),
        Column("platform", "Platform"),
        Column("money_at_risk", "Money at risk", "money"),
        Column("rclv", "rCLV", "money"),
        Column("waiting_hours", "Waiting", "hours"),
        Column("sla", "SLA"),
        Column("text", "Post"),
    ]
    return Table(
        "top_unanswered",
        f"Top unanswered high-value cases ({', '.join(high_value_tiers)} tiers)",
        columns,
        rows,
        note=f"{len(cases)} unanswered high-value case{'' if len(cases) == 1 else 's'} this week"
        + (f"; the {limit} worth the most are listed." if len(cases) > limit else ".")
        if cases
        else "",
        empty="Every high-value case of this week has been answered or dismissed.",
    )


def _snippet(text: str, limit: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
