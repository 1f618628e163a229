"""How numbers read in the report, the CSVs aside (they keep raw values)."""

from __future__ import annotations

from typing import Any

from engagement.money import MISSING, Money


def money(value: float | None, currency: Money) -> str:
    """An amount in the report's currency and locale (``engagement.money``)."""
    return currency(value)


def pct(value: float | None) -> str:
    if value is None:
        return MISSING
    return f"{value:.0%}" if abs(value) >= 0.1 or value == 0 else f"{value:.1%}"


def signed_pts(value: float | None) -> str:
    """A change of a share in percentage points, e.g. '+4.0 pts'."""
    if value is None:
        return MISSING
    return f"{value * 100:+.1f} pts"


def hours(value: float | None) -> str:
    if value is None:
        return MISSING
    if value < 1:
        return f"{value * 60:.0f} min"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} d"


def cell(value: Any, kind: str, currency: Money) -> str:
    """One table cell as text."""
    if value is None:
        return MISSING
    if kind == "int":
        return f"{int(value):,}"
    if kind == "share":
        return pct(float(value))
    if kind == "money":
        return money(float(value), currency)
    if kind == "hours":
        return hours(float(value))
    if kind == "float":
        return f"{float(value):+.2f}"
    return str(value)
