"""The headline numbers a reader sees first, and the one-paragraph story of the week."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from engagement.i18n import gettext as _
from engagement.i18n import ngettext
from engagement.money import Money
from engagement.report.format import hours as fmt_hours
from engagement.report.format import money, pct, signed_pts
from engagement.report.response import response_hours, sla_result
from engagement.report.risk import NEVER_TRIAGED, UNANSWERED, exposure, outcome, untriaged_outcome
from engagement.report.rows import ReportData
from engagement.report.tables import Table, median, percentile, share
from engagement.report.value import customer_sentiment
from engagement.report.volume import count_sentiment


@dataclass(frozen=True)
class Headline:
    """Key figures of the week (None where there is nothing to measure)."""

    week: str
    span: str
    partial: bool
    posts: int
    posts_last_week: int
    negative: int
    negative_share: float | None
    negative_share_last_week: float | None
    cases: int
    money_at_risk: float
    unanswered_money: float
    unanswered_cases: int
    unanswered_high_value_cases: int
    answered_money_share: float | None
    median_response_hours: float | None
    p90_response_hours: float | None
    sla_hit_rate: float | None
    linked_share: float | None
    negative_customers: int
    negative_high_value_customers: int
    triaged_money: float = 0.0
    answered_money: float = 0.0
    dismissed_money: float = 0.0
    never_triaged_money: float = 0.0
    never_triaged_posts: int = 0

    @property
    def posts_change(self) -> float | None:
        """Relative change of volume vs last week (None without last week's posts)."""
        return share(self.posts - self.posts_last_week, self.posts_last_week)

    @property
    def negative_share_change(self) -> float | None:
        """Change of the negative share in percentage points (as a fraction)."""
        if self.negative_share is None or self.negative_share_last_week is None:
            return None
        return self.negative_share - self.negative_share_last_week

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["posts_change"] = self.posts_change
        values["negative_share_change"] = self.negative_share_change
        return values


def headline(data: ReportData, *, high_value_tiers: Sequence[str]) -> Headline:
    posts = data.posts_in(data.week)
    last = data.posts_in(data.week.previous())
    counts, last_counts = count_sentiment(posts), count_sentiment(last)
    cases = data.cases_in(data.week)
    untriaged = data.untriaged_in(data.week)
    money = exposure(cases, untriaged, data.now)
    unanswered_high_value = sum(c.tier in high_value_tiers for c in cases if outcome(c, data.now) == UNANSWERED) + sum(
        u.tier in high_value_tiers for u in untriaged if untriaged_outcome(u, data.now) == NEVER_TRIAGED
    )
    hours = [h for h in (response_hours(c, data.now) for c in cases) if h is not None]
    sla = [r for r in (sla_result(c, data.now) for c in cases) if r is not None]
    sentiments = customer_sentiment(posts)
    negative_ids = [cid for cid, label in sentiments.items() if label == "negative"]
    return Headline(
        week=data.week.label,
        span=data.week.span(),
        partial=data.partial,
        posts=counts.posts,
        posts_last_week=last_counts.posts,
        negative=counts.negative,
        negative_share=counts.negative_share,
        negative_share_last_week=last_counts.negative_share,
        cases=len(cases),
        money_at_risk=money.money_at_risk,
        unanswered_money=money.unanswered_money,
        unanswered_cases=money.unanswered,
        unanswered_high_value_cases=unanswered_high_value,
        answered_money_share=share(money.answered_money, money.money_at_risk),
        median_response_hours=median(hours),
        p90_response_hours=percentile(hours, 90),
        sla_hit_rate=share(sum(sla), len(sla)),
        linked_share=share(sum(p.customer_id is not None for p in posts), len(posts)),
        negative_customers=len(negative_ids),
        negative_high_value_customers=sum(
            1 for cid in negative_ids if cid in data.customers and data.customers[cid].tier in high_value_tiers
        ),
        triaged_money=money.triaged_money,
        answered_money=money.answered_money,
        dismissed_money=money.dismissed_money,
        never_triaged_money=money.never_triaged_money,
        never_triaged_posts=money.never_triaged,
    )


def story(h: Headline, currency: Money, terms: Table | None = None) -> list[str]:
    """The week in a few plain sentences, the numbers a reader needs first (in the language the
    report speaks: ``i18n.using``)."""
    if h.posts == 0 and h.cases == 0 and not h.money_at_risk:
        text = _("No customer posts were collected in %(week)s (%(span)s)") % {"week": h.week, "span": h.span}
        return [
            text + (_(" so far.") if h.partial else ".") + " " + _("Check the coverage section for failed sources.")
        ]
    lines = []
    change = (
        "" if h.posts_change is None else " " + _("(%(change)s vs last week)") % {"change": f"{h.posts_change:+.0%}"}
    )
    line = ngettext("%(num)s customer post", "%(num)s customer posts", h.posts) % {"num": f"{h.posts:,}"} + change
    if h.negative_share is not None:
        pts = (
            ""
            if h.negative_share_change is None
            else ", " + _("%(pts)s vs last week") % {"pts": signed_pts(h.negative_share_change)}
        )
        line += "; " + _("%(share)s negative") % {"share": pct(h.negative_share)} + pts
    lines.append(line + ".")
    if h.money_at_risk:
        risk = _("%(amount)s at risk in this week's negative posts") % {"amount": money(h.money_at_risk, currency)}
        parts = [
            ngettext("%(amount)s triaged in %(num)s case", "%(amount)s triaged in %(num)s cases", h.cases)
            % {"amount": money(h.triaged_money, currency), "num": h.cases},
            _("%(amount)s answered") % {"amount": money(h.answered_money, currency)},
            _("%(amount)s dismissed") % {"amount": money(h.dismissed_money, currency)},
        ]
        if h.never_triaged_posts:
            parts.append(
                ngettext(
                    "%(amount)s never triaged in %(num)s post",
                    "%(amount)s never triaged in %(num)s posts",
                    h.never_triaged_posts,
                )
                % {"amount": money(h.never_triaged_money, currency), "num": h.never_triaged_posts}
            )
        lines.append(f"{risk}: {'; '.join(parts)}.")
        if h.unanswered_money > 0:
            lines.append(
                ngettext(
                    "%(amount)s is still unanswered; %(num)s high-value post is waiting.",
                    "%(amount)s is still unanswered; %(num)s high-value posts are waiting.",
                    h.unanswered_high_value_cases,
                )
                % {"amount": money(h.unanswered_money, currency), "num": h.unanswered_high_value_cases}
            )
        else:
            lines.append(_("Every negative post of this week has been answered or dismissed."))
    if h.median_response_hours is not None:
        median, p90 = fmt_hours(h.median_response_hours), fmt_hours(h.p90_response_hours)
        reply = _("Median first reply %(median)s (p90 %(p90)s)") % {"median": median, "p90": p90}
        if h.sla_hit_rate is not None:
            reply += ", " + _("%(share)s within SLA") % {"share": pct(h.sla_hit_rate)}
        lines.append(reply + ".")
    elif h.cases:
        lines.append(_("No case has had a reply yet."))
    if h.negative_high_value_customers:
        lines.append(
            ngettext(
                "%(num)s high-value customer was negative this week.",
                "%(num)s high-value customers were negative this week.",
                h.negative_high_value_customers,
            )
            % {"num": h.negative_high_value_customers}
        )
    if terms is not None and terms.rows:
        top = ", ".join(f"“{row['term']}” ({row['posts']})" for row in terms.rows[:3])
        lines.append(_("Most mentioned in negative posts: %(terms)s.") % {"terms": top})
    if h.partial:
        lines.append(_("The week is not over yet: figures cover it so far."))
    return lines
