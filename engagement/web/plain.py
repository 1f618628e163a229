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

from engagement.i18n import N_, ngettext
from engagement.i18n import gettext as _
from engagement.web.filters import duration, money

Money = Callable[[float | None, str], str]

# Said in the page's language when shown (``_(VALUE_SOURCE[...])``): marked here, translated there.
VALUE_SOURCE = {
    "rclv": N_("what this customer is worth: lifetime value plus the value of their voice"),
    "clv": N_("this customer's lifetime value (the value of their voice is not known yet)"),
    "reach": N_("the value of their voice alone (followers and engagement); they are no known customer"),
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
        source = _(VALUE_SOURCE.get(str(reasons.get("value_source")), N_("what this author is worth to us")))
        facts.append(Fact(_("Worth to us"), f"{fmt(float(reasons['value']), currency)}: {source}"))
    if reasons.get("p_negative") is not None:
        sure = f"{float(reasons['p_negative']) * 100:.0f}%"
        text = _("%(sure)s sure the post is a complaint") % {"sure": sure}
        if reasons.get("rating") is not None:
            text += _(" (their rating: %(stars)d of 5 stars)") % {"stars": int(reasons["rating"])}
        facts.append(Fact(_("Unhappy"), text))
    if reasons.get("p_churn") is not None:
        share = f"{float(reasons['p_churn']) * 100:.0f}%"
        facts.append(Fact(_("Left unanswered"), _("%(share)s of such customers go elsewhere") % {"share": share}))
    if reasons.get("money_at_risk") is not None:
        facts.append(Fact(_("Money at risk"), fmt(float(reasons["money_at_risk"]), currency)))
    if reasons.get("age_factor") is not None and reasons.get("sla_hours") is not None:
        hours = float(reasons["sla_hours"])
        urgency = f"{float(reasons['age_factor']):.1f}x"
        sentence = ngettext(
            "%(urgency)s more urgent for waiting against a %(hours)s hour answer target",
            "%(urgency)s more urgent for waiting against a %(hours)s hours answer target",
            1 if hours == 1 else 2,
        )
        facts.append(Fact(_("Waiting"), sentence % {"urgency": urgency, "hours": f"{hours:g}"}))
    routed = routing_sentence(reasons)
    if routed:
        facts.append(Fact(_("Team"), routed))
    return facts


def routing_sentence(reasons: Mapping[str, Any]) -> str:
    """Why the case sits with its team, in words (no rule syntax)."""
    team = reasons.get("team")
    if not team:
        return ""
    rule = reasons.get("rule")
    if rule:
        return _("%(team)s, by the routing rule “%(rule)s”") % {"team": team, "rule": rule}
    return _("%(team)s (no routing rule applies, so the default team has it)") % {"team": team}


def customer_value_facts(customer: Any, fmt: Money = money) -> list[Fact]:
    """The customer's worth in plain words: lifetime value, value of their voice, reach."""
    currency = getattr(customer, "currency", None) or "USD"
    parts: Mapping[str, Any] = getattr(customer, "rclv_parts", None) or {}
    facts = [Fact(_("Lifetime value"), fmt(customer.clv, currency) if customer.clv is not None else _("not known"))]
    if parts.get("reach_value") is not None:
        facts.append(Fact(_("Value of their voice"), fmt(float(parts["reach_value"]), currency)))
    if customer.rclv is not None:
        facts.append(Fact(_("Worth to us in all"), fmt(customer.rclv, currency)))
    reach = [_count(int(parts[key]), key) for key in ("followers", "posts", "engagement") if parts.get(key)]
    if reach:
        facts.append(Fact(_("Their voice"), ", ".join(reach)))
    return facts


def _count(n: int, key: str) -> str:
    """``1,234 followers`` in the page's language (each kind its own plural forms)."""
    forms = {
        "followers": ngettext("%(num)s follower", "%(num)s followers", n),
        "posts": ngettext("%(num)s post", "%(num)s posts", n),
        "engagement": ngettext("%(num)s like or repost", "%(num)s likes and reposts", n),
    }
    return forms[key] % {"num": f"{n:,}"}


def p_alive_text(p_alive: float | None, purchases: int) -> str:
    """P(alive) for a person, or why it cannot be said.

    BG/NBD gives a customer with a single purchase P(alive) = 100 % (no repeat purchase means no
    gap to judge by), which reads as certainty where there is none: one purchase is "too little
    history". With no purchases on record the figure, if any, came with the CRM import.
    """
    if purchases == 1:
        return _("too little history (one purchase)")
    if p_alive is None:
        return _("too little history (no purchases)") if purchases == 0 else _("not fitted yet")
    return _("%(share)s likely still a customer") % {"share": f"{p_alive * 100:.0f}%"}


def churn_text(churn_risk: float | None, purchases: int) -> str:
    """The churn risk beside ``p_alive_text``: unknown wherever P(alive) is."""
    if purchases == 1 or churn_risk is None:
        return _("unknown")
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
        return _("English model") if (lang or "en").lower().startswith("en") else _("multilingual model")
    if english:
        return _("English model")
    if multilingual:
        return _("multilingual model")
    return model_id.split("@", 1)[0]


#: Audit detail keys the history never shows: the status pair is said by the verb, ids are noise.
_HIDDEN_DETAIL = frozenset({"from", "to", "holder", "reply_id", "note_id", "post_ids", "created_at"})

#: How the history names a detail that has a person's word for it.
_DETAIL_WORDS = {
    "lease_until": N_("claimed until"),
    "expired_claim_of": N_("after the expired claim of"),
    "until": N_("until"),
    "reason": N_("reason:"),
    "previous_status": N_("was"),
    "old_label": N_("label was"),
    "new_label": N_("now"),
    "platform_reply_id": N_("platform id"),
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
        words = _(_DETAIL_WORDS[key]) if key in _DETAIL_WORDS else key.replace("_", " ")
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
