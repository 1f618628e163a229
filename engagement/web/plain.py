"""Plain words for the case page and the queue: the money-at-risk reasons, the customer's value,
the routing, how a finished case ended and P(alive), said the way an agent would say them.

The stored ``Case.reasons`` keep the model's names (``rclv``, ``p_text_negative``, ``route``)
for the API and the report; only these functions decide what a person reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engagement.web.filters import duration, money

Money = Callable[[float | None, str], str]

VALUE_SOURCE = {
    "rclv": "what this customer is worth: lifetime value plus the value of their voice",
    "clv": "this customer's lifetime value (the value of their voice is not known yet)",
    "reach": "the value of their voice alone (followers and engagement); they are no known customer",
}


@dataclass(frozen=True)
class Fact:
    """One line of an explanation: what it is, and its value in words or figures."""

    label: str
    value: str


def why_facts(reasons: Mapping[str, Any], currency: str = "USD", fmt: Money = money) -> list[Fact]:
    """The money-at-risk reasoning as labelled lines, without formula syntax or field names."""
    facts: list[Fact] = []
    if reasons.get("value") is not None:
        source = VALUE_SOURCE.get(str(reasons.get("value_source")), "what this author is worth to us")
        facts.append(Fact("Worth to us", f"{fmt(float(reasons['value']), currency)}: {source}"))
    if reasons.get("p_negative") is not None:
        sure = f"{float(reasons['p_negative']) * 100:.0f}%"
        text = f"{sure} sure the post is a complaint"
        if reasons.get("rating") is not None:
            text += f" (their rating: {int(reasons['rating'])} of 5 stars)"
        facts.append(Fact("Unhappy", text))
    if reasons.get("p_churn") is not None:
        facts.append(Fact("Left unanswered", f"{float(reasons['p_churn']) * 100:.0f}% of such customers go elsewhere"))
    if reasons.get("money_at_risk") is not None:
        facts.append(Fact("Money at risk", fmt(float(reasons["money_at_risk"]), currency)))
    if reasons.get("age_factor") is not None and reasons.get("sla_hours") is not None:
        hours = float(reasons["sla_hours"])
        target = f"{hours:g} hour" + ("" if hours == 1 else "s")
        urgency = f"{float(reasons['age_factor']):.1f}x"
        facts.append(Fact("Waiting", f"{urgency} more urgent for waiting against a {target} answer target"))
    routed = routing_sentence(reasons)
    if routed:
        facts.append(Fact("Team", routed))
    return facts


def routing_sentence(reasons: Mapping[str, Any]) -> str:
    """Why the case sits with its team, in words (no rule syntax)."""
    team = reasons.get("team")
    if not team:
        return ""
    rule = reasons.get("rule")
    if rule:
        return f"{team}, by the routing rule “{rule}”"
    return f"{team} (no routing rule applies, so the default team has it)"


def customer_value_facts(customer: Any, fmt: Money = money) -> list[Fact]:
    """The customer's worth in plain words: lifetime value, value of their voice, reach."""
    currency = getattr(customer, "currency", None) or "USD"
    parts: Mapping[str, Any] = getattr(customer, "rclv_parts", None) or {}
    facts = [Fact("Lifetime value", fmt(customer.clv, currency) if customer.clv is not None else "not known")]
    if parts.get("reach_value") is not None:
        facts.append(Fact("Value of their voice", fmt(float(parts["reach_value"]), currency)))
    if customer.rclv is not None:
        facts.append(Fact("Worth to us in all", fmt(customer.rclv, currency)))
    reach = [
        _count(int(parts[key]), one, many)
        for key, one, many in (
            ("followers", "follower", "followers"),
            ("posts", "post", "posts"),
            ("engagement", "like or repost", "likes and reposts"),
        )
        if parts.get(key)
    ]
    if reach:
        facts.append(Fact("Their voice", ", ".join(reach)))
    return facts


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def p_alive_text(p_alive: float | None, purchases: int) -> str:
    """P(alive) for a person, or why it cannot be said.

    BG/NBD gives a customer with a single purchase P(alive) = 100 % (no repeat purchase means no
    gap to judge by), which reads as certainty where there is none: one purchase is "too little
    history". With no purchases on record the figure, if any, came with the CRM import.
    """
    if purchases == 1:
        return "too little history (one purchase)"
    if p_alive is None:
        return "too little history (no purchases)" if purchases == 0 else "not fitted yet"
    return f"{p_alive * 100:.0f}% likely still a customer"


def churn_text(churn_risk: float | None, purchases: int) -> str:
    """The churn risk beside ``p_alive_text``: unknown wherever P(alive) is."""
    if purchases == 1 or churn_risk is None:
        return "unknown"
    return f"{churn_risk * 100:.0f}%"


def outcome_sentence(
    *,
    status: str,
    close_reason: str | None,
    closed_at: datetime | None,
    first_post_at: datetime | None,
    answered_by: str | None = None,
) -> str:
    """How a finished case ended, when, and how fast after the customer's post."""
    when = f"{closed_at:%Y-%m-%d %H:%M} UTC" if closed_at else "at an unknown time"
    speed = ""
    if closed_at and first_post_at:
        speed = f", {duration((closed_at - first_post_at).total_seconds())} after the post"
    if status == "replied":
        who = f" by {answered_by}" if answered_by else ""
        dry = " (dry run: recorded, not posted to the platform)" if close_reason and "dry" in close_reason else ""
        return f"Answered{who} on {when}{speed}{dry}."
    if close_reason == "brand_replied":
        return f"Answered on the platform by our brand account on {when}{speed}."
    if status == "dismissed":
        reason = f": {close_reason}" if close_reason else ""
        return f"Dismissed on {when}{reason}."
    if status == "closed":
        reason = f" ({close_reason.replace('_', ' ')})" if close_reason else ""
        return f"Closed on {when}{reason}."
    return ""


def model_name(model_id: str | None, lang: str | None = None) -> str:
    """A sentiment model's id in two words ("English model"): the full id (name, weights hash,
    calibration tags) is for audits, and on a phone it took three lines on every case. A routed
    id names both models; the post's language says which of them read it."""
    if not model_id:
        return ""
    english, multilingual = "MiniLM" in model_id, "multilingual" in model_id
    if english and multilingual:
        return "English model" if (lang or "en").lower().startswith("en") else "multilingual model"
    if english:
        return "English model"
    if multilingual:
        return "multilingual model"
    return model_id.split("@", 1)[0]


#: Audit detail keys the history never shows: the status pair is said by the verb, ids are noise.
_HIDDEN_DETAIL = frozenset({"from", "to", "holder", "reply_id", "note_id", "post_ids", "created_at"})

#: How the history names a detail that has a person's word for it.
_DETAIL_WORDS = {
    "lease_until": "claimed until",
    "expired_claim_of": "after the expired claim of",
    "until": "until",
    "reason": "reason:",
    "previous_status": "was",
    "old_label": "label was",
    "new_label": "now",
    "platform_reply_id": "platform id",
}


def _detail_value(value: Any, *, clock_only: bool = False) -> str:
    """A detail's value as a person reads it: times to the minute in UTC (the hour alone for a
    claim, which lasts minutes), lists joined."""
    if isinstance(value, str) and len(value) > 10 and value[:4].isdigit():
        text = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, datetime):
        return f"{value:%H:%M} UTC" if clock_only else f"{value:%a %d %b %H:%M} UTC"
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def history_details(detail: Mapping[str, Any] | None) -> list[str]:
    """An audit event's details as short phrases ("claimed until 14:05 UTC"), never raw keys such
    as ``lease_until`` with microseconds: the newcomer reading the history is not a database."""
    phrases = []
    for key, value in (detail or {}).items():
        if key in _HIDDEN_DETAIL or value is None or value == "" or value == [] or value == {}:
            continue
        words = _DETAIL_WORDS.get(key, key.replace("_", " "))
        phrases.append(f"{words} {_detail_value(value, clock_only=key == 'lease_until')}")
    return phrases


def install(env: Any) -> None:
    """Register ``why_facts`` as a Jinja filter that formats amounts with the app's ``money``."""

    def _why(reasons: Mapping[str, Any] | None, currency: str = "USD") -> list[Fact]:
        fmt = env.filters.get("money", money)
        return why_facts(reasons or {}, currency, lambda value, cur: str(fmt(value, cur)))

    def _value(customer: Any) -> list[Fact]:
        fmt = env.filters.get("money", money)
        return customer_value_facts(customer, lambda value, cur: str(fmt(value, cur)))

    env.filters["why_facts"] = _why
    env.filters["value_facts"] = _value
    env.filters["model_name"] = model_name
    env.filters["history_details"] = history_details
