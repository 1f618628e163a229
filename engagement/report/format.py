"""How numbers read in the report, the CSVs aside (they keep raw values).

The digits are Python's (the report's precision); the marks and units are the language's the
report speaks (``i18n.using``): ``1,234.5 h`` in English, ``1.234,5 Std.`` in German.
"""

from __future__ import annotations

from typing import Any

from engagement import i18n
from engagement.i18n import gettext as _
from engagement.money import MISSING, Money


def marks(text: str) -> str:
    """A number as Python formats it (``1,234.5``) with the decimal and group marks of the
    active language (``1.234,5`` in German)."""
    symbols = i18n.babel_locale(i18n.current()).number_symbols["latn"]
    return text.translate({ord(","): "\0", ord("."): symbols["decimal"]}).replace("\0", symbols["group"])


def money(value: float | None, currency: Money) -> str:
    """An amount in the report's currency and locale (``engagement.money``)."""
    return currency(value)


def pct(value: float | None) -> str:
    if value is None:
        return MISSING
    number = f"{value * 100:.0f}" if abs(value) >= 0.1 or value == 0 else f"{value * 100:.1f}"
    return _("%(num)s%%") % {"num": marks(number)}


def signed_pts(value: float | None) -> str:
    """A change of a share in percentage points, e.g. '+4.0 pts'."""
    if value is None:
        return MISSING
    return _("%(num)s pts") % {"num": marks(f"{value * 100:+.1f}")}


def hours(value: float | None) -> str:
    if value is None:
        return MISSING
    if value < 1:
        return _("%(num)s min") % {"num": marks(f"{value * 60:.0f}")}
    if value < 48:
        return _("%(num)s h") % {"num": marks(f"{value:.1f}")}
    return _("%(num)s d") % {"num": marks(f"{value / 24:.1f}")}


def cell(value: Any, kind: str, currency: Money) -> str:
    """One table cell as text."""
    if value is None:
        return MISSING
    if kind == "int":
        return marks(f"{int(value):,}")
    if kind == "share":
        return pct(float(value))
    if kind == "money":
        return money(float(value), currency)
    if kind == "hours":
        return hours(float(value))
    if kind == "float":
        return marks(f"{float(value):+.2f}")
    return str(value)
