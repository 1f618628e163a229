"""Revenue at risk: money at risk of this week's cases, answered vs unanswered, by tier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engagement.i18n import N_, ngettext
from engagement.i18n import gettext as _
from engagement.links import Links
from engagement.queue.sla import is_overdue
from engagement.report.rows import CaseRow, CustomerRow, ReportData, UntriagedRow
from engagement.report.tables import Column, Table, share

ANSWERED, UNANSWERED, DISMISSED, NEVER_TRIAGED = "answered", "unanswered", "dismissed", "never_triaged"
RISK_NOTE = N_(  # translated where shown (weekly.html: |t)
    "Money at risk counts every negative post of the week: value (rCLV, else CLV, else the "
    "author's reach) x P(negative) x P(churn if unanswered), one per author and thread. "
    "Triaged: a case was opened (its money as triage stored it); answered: a reply was sent or a "
    "brand reply was seen in the thread by the time of this report; dismissed: an agent closed "
    "it without a reply; unanswered: triaged and still waiting; never triaged: no case was "
    "opened because the post was older than the triage window when engagebot saw it, or was "
    "written before engagebot ran (a backfill), and nobody answered it."
)


def outcome(case: CaseRow, now: datetime) -> str:
    """answered, dismissed or unanswered as of ``now``."""
    if case.first_response_at is not None and case.first_response_at <= now:
        return ANSWERED
    if case.status == DISMISSED:
        return DISMISSED
    return UNANSWERED


def untriaged_outcome(row: UntriagedRow, now: datetime) -> str:
    """answered (a brand reply by ``now``) or never_triaged."""
    return ANSWERED if row.answered_at is not None and row.answered_at <= now else NEVER_TRIAGED


@dataclass(frozen=True)
class Exposure:
    """The money of one group of the week's negative posts, split by what happened to it."""

    cases: int
    triaged_money: float
    answered: int
    answered_money: float
    dismissed: int
    dismissed_money: float
    unanswered: int
    unanswered_triaged_money: float
    never_triaged: int
    never_triaged_money: float

    @property
    def money_at_risk(self) -> float:
        return self.answered_money + self.dismissed_money + self.unanswered_triaged_money + self.never_triaged_money

    @property
    def unanswered_money(self) -> float:
        """Nobody answered: triaged cases still waiting and posts never triaged."""
        return self.unanswered_triaged_money + self.never_triaged_money


def exposure(cases: Sequence[CaseRow], untriaged: Sequence[UntriagedRow], now: datetime) -> Exposure:
    """Split the money of these cases and untriaged posts by outcome as of ``now``."""
    money = {ANSWERED: 0.0, UNANSWERED: 0.0, DISMISSED: 0.0, NEVER_TRIAGED: 0.0}
    count = {ANSWERED: 0, UNANSWERED: 0, DISMISSED: 0, NEVER_TRIAGED: 0}
    for case in cases:
        kind = outcome(case, now)
        money[kind] += case.money_at_risk
        count[kind] += 1
    for row in untriaged:
        kind = untriaged_outcome(row, now)
        money[kind] += row.money_at_risk
        count[kind] += 1
    return Exposure(
        cases=len(cases),
        triaged_money=sum(case.money_at_risk for case in cases),
        answered=count[ANSWERED],
        answered_money=money[ANSWERED],
        dismissed=count[DISMISSED],
        dismissed_money=money[DISMISSED],
        unanswered=count[UNANSWERED],
        unanswered_triaged_money=money[UNANSWERED],
        never_triaged=count[NEVER_TRIAGED],
        never_triaged_money=money[NEVER_TRIAGED],
    )


def _risk_row(
    group: str, cases: Sequence[CaseRow], untriaged: Sequence[UntriagedRow], now: datetime
) -> dict[str, object]:
    e = exposure(cases, untriaged, now)
    return {
        "group": group,
        "money_at_risk": e.money_at_risk,
        "cases": e.cases,
        "triaged_money": e.triaged_money,
        "answered_cases": e.answered,
        "answered_money": e.answered_money,
        "dismissed_cases": e.dismissed,
        "dismissed_money": e.dismissed_money,
        "unanswered_cases": e.unanswered,
        "unanswered_triaged_money": e.unanswered_triaged_money,
        "never_triaged_posts": e.never_triaged,
        "never_triaged_money": e.never_triaged_money,
        "unanswered_money": e.unanswered_money,
        "answered_money_share": share(e.answered_money, e.money_at_risk),
    }


def revenue_at_risk(data: ReportData) -> Table:
    """One row per tier (all tiers, even empty ones) and a total."""
    cases, untriaged = data.cases_in(data.week), data.untriaged_in(data.week)

    def row(tier: str) -> dict[str, object]:
        return _risk_row(tier, [c for c in cases if c.tier == tier], [u for u in untriaged if u.tier == tier], data.now)

    rows = [row(tier) for tier in data.tiers]
    rows += [row(tier) for tier in sorted({c.tier for c in cases} - set(data.tiers))]
    rows.append(_risk_row("All", cases, untriaged, data.now))
    columns = [
        Column("group", _("Tier")),
        Column("money_at_risk", _("Money at risk"), "money"),
        Column("cases", _("Cases"), "int"),
        Column("triaged_money", _("Triaged"), "money"),
        Column("answered_cases", _("Answered"), "int"),
        Column("answered_money", _("Answered money"), "money"),
        Column("dismissed_cases", _("Dismissed"), "int"),
        Column("dismissed_money", _("Dismissed money"), "money"),
        Column("unanswered_cases", _("Waiting cases"), "int"),
        Column("unanswered_triaged_money", _("Waiting money"), "money"),
        Column("never_triaged_posts", _("Never triaged"), "int"),
        Column("never_triaged_money", _("Never triaged money"), "money"),
        Column("unanswered_money", _("Unanswered money"), "money"),
        Column("answered_money_share", _("Money answered"), "share"),
    ]
    return Table(
        "revenue_at_risk",
        _("Revenue at risk by tier"),
        columns,
        rows if cases or untriaged else [],
        note=RISK_NOTE,
        empty=_("No negative posts this week."),
    )


def risk_trend(data: ReportData) -> Table:
    """The same measure every week: all negative posts' money, answered vs not (as of this report)."""
    rows = []
    for week in data.trend:
        row = _risk_row(week.label, data.cases_in(week), data.untriaged_in(week), data.now)
        rows.append(
            {
                key: row[key]
                for key in (
                    "group",
                    "money_at_risk",
                    "triaged_money",
                    "answered_money",
                    "dismissed_money",
                    "unanswered_money",
                    "never_triaged_money",
                )
            }
        )
    columns = [
        Column("group", _("Week")),
        Column("money_at_risk", _("Money at risk"), "money"),
        Column("triaged_money", _("Triaged"), "money"),
        Column("answered_money", _("Answered"), "money"),
        Column("dismissed_money", _("Dismissed"), "money"),
        Column("unanswered_money", _("Unanswered"), "money"),
        Column("never_triaged_money", _("of which never triaged"), "money"),
    ]
    return Table("trend_revenue_at_risk", _("Money at risk, week by week"), columns, rows, note=RISK_NOTE)


def _who(customer: CustomerRow | None, handle: str | None) -> str:
    if customer is not None and customer.name:
        return customer.name
    if handle:
        return f"@{handle}"
    return "unknown author"


def top_unanswered(data: ReportData, *, high_value_tiers: Sequence[str], links: Links, limit: int) -> Table:
    """The unanswered high-value negative posts worth the most: cases (linked to their case
    page) and posts never triaged (linked to the post), most money first."""
    cases = [c for c in data.cases_in(data.week) if c.tier in high_value_tiers and outcome(c, data.now) == UNANSWERED]
    untriaged = [
        u
        for u in data.untriaged_in(data.week)
        if u.tier in high_value_tiers and untriaged_outcome(u, data.now) == NEVER_TRIAGED
    ]
    rows: list[dict[str, Any]] = []
    for case in cases:
        customer = data.customers.get(case.customer_id) if case.customer_id is not None else None
        overdue = is_overdue(case.sla_due_at, data.now)
        rows.append(
            {
                "case": case.id,
                "url": links.case(case.id),
                "customer": _who(customer, case.handle),
                "tier": case.tier,
                "team": case.team,
                "platform": case.platform,
                "money_at_risk": case.money_at_risk,
                "rclv": customer.rclv if customer is not None else None,
                "waiting_hours": max(0.0, (data.now - case.posted_at).total_seconds() / 3600.0),
                "sla": "overdue" if overdue else ("no SLA" if case.sla_due_at is None else "on time"),
                "status": case.status,
                "text": _snippet(case.text),
            }
        )
    for post in untriaged:
        customer = data.customers.get(post.customer_id) if post.customer_id is not None else None
        rows.append(
            {
                "case": "never triaged",
                "url": post.url,
                "customer": _who(customer, post.handle),
                "tier": post.tier,
                "team": None,
                "platform": post.platform,
                "money_at_risk": post.money_at_risk,
                "rclv": customer.rclv if customer is not None else None,
                "waiting_hours": max(0.0, (data.now - post.posted_at).total_seconds() / 3600.0),
                "sla": "before engagebot ran" if post.before_engagebot else "older than the triage window",
                "status": NEVER_TRIAGED,
                "text": _snippet(post.text),
            }
        )
    rows.sort(key=lambda row: -row["money_at_risk"])
    total = len(rows)
    columns = [
        Column("case", _("Case"), "link"),
        Column("customer", _("Customer")),
        Column("tier", _("Tier")),
        Column("team", _("Team")),
        Column("platform", _("Platform")),
        Column("money_at_risk", _("Money at risk"), "money"),
        Column("rclv", _("rCLV"), "money"),
        Column("waiting_hours", _("Waiting"), "hours"),
        Column("sla", _("SLA")),
        Column("text", _("Post")),
    ]
    note = ""
    if total:
        note = ngettext(
            "%(num)s unanswered high-value negative post this week",
            "%(num)s unanswered high-value negative posts this week",
            total,
        ) % {"num": total}
        if untriaged:
            note += " " + _("(%(num)s never triaged)") % {"num": len(untriaged)}
        note += _("; the %(num)s worth the most are listed.") % {"num": limit} if total > limit else "."
    return Table(
        "top_unanswered",
        _("Top unanswered high-value posts (%(tiers)s tiers)") % {"tiers": ", ".join(high_value_tiers)},
        columns,
        rows[:limit],
        note=note,
        empty=_(ALL_CLEAR),
    )


ALL_CLEAR = N_("Every high-value negative post of this week has been answered or dismissed.")


def _snippet(text: str, limit: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
