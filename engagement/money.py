"""Amounts as people read them: one formatter (Babel, CLDR data) for Slack, the web app, the
report and the CLI, so "$8,169" and "8.169 €" come from settings, never from an f-string."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.numbers import NumberPattern, format_currency, parse_pattern

from engagement.i18n import N_
from engagement.i18n import gettext as _
from engagement.settings import MoneySettings

MISSING = "–"


@lru_cache(maxsize=64)
def _whole_units(locale: str) -> NumberPattern:
    """The locale's currency pattern without decimals: money at risk is an estimate, and cents
    would claim a precision it does not have."""
    pattern = copy.copy(parse_pattern(Locale.parse(locale).currency_formats["standard"]))
    pattern.frac_prec = (0, 0)
    return pattern


def format_money(amount: float | None, *, currency: str = "USD", locale: str = "en_US") -> str:
    """``8169.4, USD, en_US`` -> ``$8,169``; ``EUR, de_DE`` -> ``8.169 €`` (no-break space, as CLDR
    writes it); ``None`` and non-finite amounts (a row from before imports refused them) -> ``–``.
    Rounded to whole units."""
    if amount is None or not math.isfinite(amount):
        return MISSING
    return format_currency(round(amount), currency, format=_whole_units(locale), locale=locale, currency_digits=False)


@dataclass(frozen=True)
class Money:
    """The formatter bound to one currency and locale (built from ``engagement.money``)."""

    currency: str = "USD"
    locale: str = "en_US"

    @classmethod
    def from_settings(cls, settings: MoneySettings) -> Money:
        return cls(currency=settings.currency, locale=settings.locale)

    def __call__(self, amount: float | None, currency: str | None = None) -> str:
        """Format ``amount``; ``currency`` overrides the default (a customer's own CRM currency)."""
        return format_money(amount, currency=currency or self.currency, locale=self.locale)


VALUE_NAMES = {"rclv": "rCLV", "clv": "CLV", "reach": N_("reach value")}  # in the message's language


def explain(reasons: Mapping[str, Any], money: Money, *, who: str, tier: str | None) -> str:
    """Why a case is worth what it is, every amount in its currency, from the factors triage
    stored (``triage.priority.assess``): "Ada (top tier): rCLV $16,097 × P(negative) 1.00 ×
    P(churn if unanswered) 0.50 = $8,049 at risk; ×3.00 for waiting against a 1 h SLA".

    The sentence triage stored has bare numbers; this one is built for readers. Empty when the
    factors are missing (a case from before they were stored).
    """
    if not {"value", "p_negative", "money_at_risk"} <= set(reasons):
        return ""
    value_name = _(VALUE_NAMES.get(str(reasons.get("value_source")), N_("value")))
    line = _(
        "%(who)s (%(tier)s tier): %(value_name)s %(value)s × P(negative) %(p_negative)s "
        "× P(churn if unanswered) %(p_churn)s = %(at_risk)s at risk"
    ) % {
        "who": who,
        "tier": _(tier) if tier else "?",
        "value_name": value_name,
        "value": money(reasons["value"]),
        "p_negative": f"{float(reasons['p_negative']):.2f}",
        "p_churn": f"{float(reasons.get('p_churn', 0.5)):.2f}",
        "at_risk": money(reasons["money_at_risk"]),
    }
    if "age_factor" in reasons and "sla_hours" in reasons:
        line += _("; ×%(factor)s for waiting against a %(hours)s h SLA") % {
            "factor": f"{float(reasons['age_factor']):.2f}",
            "hours": f"{float(reasons['sla_hours']):g}",
        }
    return line
