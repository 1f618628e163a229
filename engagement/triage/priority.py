"""Priority as money at risk: value x P(negative) x P(churn if unanswered), aged toward the SLA.

Pure functions, no database: triage gathers the facts, these turn them into a number and the
reasons an agent sees ("why is this first?").

- value: the linked customer's rCLV (CLV plus the value of their voice), else their CLV; an
  author with no linked customer is worth their reach alone. Reach value has one formula,
  ``engagement.customers.value.voice_value`` (settings ``[engagement.clv.rclv]``); triage hands
  it in, worked out by ``case_reach_value``, so "why" shows the customer card's number.
- P(negative): the sentiment model's probability; for reviews blended with the star rating,
  ``(1 - w) x p_text + w x p_rating`` (w = ``rating_weight``).
- P(churn if unanswered): a setting, by default 0.5 (about half of customers leave after one
  bad experience, the product's source material).
- aging: ``priority = money_at_risk x (1 + aging_weight x min(age / SLA, aging_cap))``, so a
  case twice as old relative to its SLA climbs above a fresh one of the same value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engagement.settings import TriageSettings


def rating_p_negative(rating: int | None, settings: TriageSettings) -> float | None:
    """P(negative) implied by a star rating (1-2 stars negative evidence, 4-5 positive)."""
    if rating is None:
        return None
    clamped = min(5, max(1, int(rating)))
    return float(settings.rating_p_negative.get(clamped, 0.5))


def combined_p_negative(p_text: float | None, rating: int | None, settings: TriageSettings) -> float | None:
    """Blend the text's P(negative) with the review's rating; either may be missing."""
    p_rating = rating_p_negative(rating, settings)
    if p_text is None:
        return p_rating
    if p_rating is None:
        return float(p_text)
    weight = min(1.0, max(0.0, settings.rating_weight))
    return (1.0 - weight) * float(p_text) + weight * p_rating


def age_factor(created_at: datetime, now: datetime, sla_hours: float, settings: TriageSettings) -> float:
    """How much waiting raises priority: 1 when fresh, ``1 + weight`` at the SLA, capped after."""
    if sla_hours <= 0:
        return 1.0 + settings.aging_weight * settings.aging_cap
    waited = max(0.0, (now - created_at).total_seconds() / 3600.0)
    return 1.0 + settings.aging_weight * min(waited / sla_hours, settings.aging_cap)


@dataclass(frozen=True)
class ValueFacts:
    """What we know of the author's worth."""

    linked: bool
    clv: float | None = None
    rclv: float | None = None
    churn_risk: float | None = None
    followers: int | None = None
    reach_value: float = 0.0
    customer_name: str | None = None


@dataclass(frozen=True)
class Priority:
    """The result: the number the queue sorts by and the reasons shown beside it."""

    priority: float
    money_at_risk: float
    value: float
    age_factor: float
    reasons: dict[str, Any]


def _money(amount: float) -> str:
    return f"{amount:,.0f}"


def assess(
    *,
    facts: ValueFacts,
    p_negative: float,
    created_at: datetime,
    now: datetime,
    sla_hours: float,
    tier: str,
    settings: TriageSettings,
    p_text: float | None = None,
    rating: int | None = None,
) -> Priority:
    """Money at risk and aged priority for one case, with every factor in ``reasons``."""
    reach = facts.reach_value
    if facts.linked and (facts.rclv is not None or facts.clv is not None):
        value = float(facts.rclv if facts.rclv is not None else facts.clv or 0.0)
        value_source = "rclv" if facts.rclv is not None else "clv"
    else:
        value = reach
        value_source = "reach"
    p_churn = settings.churn_if_unanswered
    money = value * p_negative * p_churn
    aged = age_factor(created_at, now, sla_hours, settings)
    priority = money * aged
    who = facts.customer_name or ("a linked customer" if facts.linked else "an unlinked author")
    value_text = {
        "rclv": f"rCLV {_money(value)}",
        "clv": f"CLV {_money(value)} (no rCLV yet)",
        "reach": f"reach value {_money(value)} from {facts.followers or 0:,} followers",
    }[value_source]
    why = (
        f"{who} ({tier} tier): {value_text} x P(negative) {p_negative:.2f} "
        f"x P(churn if unanswered) {p_churn:.2f} = {_money(money)} at risk; "
        f"x{aged:.2f} for waiting against a {sla_hours:g} h SLA"
    )
    reasons: dict[str, Any] = {
        "rclv": facts.rclv,
        "clv": facts.clv,
        "reach_value": round(reach, 2),
        "value": round(value, 2),
        "value_source": value_source,
        "followers": facts.followers,
        "p_negative": round(p_negative, 4),
        "p_text_negative": None if p_text is None else round(float(p_text), 4),
        "rating": rating,
        "p_churn": p_churn,
        "customer_churn_risk": facts.churn_risk,
        "money_at_risk": round(money, 2),
        "age_factor": round(aged, 4),
        "sla_hours": sla_hours,
        "tier": tier,
        "why": why,
    }
    return Priority(
        priority=round(priority, 4),
        money_at_risk=round(money, 2),
        value=value,
        age_factor=aged,
        reasons=reasons,
    )
