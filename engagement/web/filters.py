"""Jinja filters: money, time left to the SLA, relative times, reasons; all plain text (escaped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.templating import Jinja2Templates

from db.types import utcnow
from engagement import i18n
from engagement.bidi import reveal_bidi
from engagement.i18n import gettext as _
from engagement.money import Money
from engagement.queue import sla

money = Money()  # replaced by the settings' currency and locale in ``install``


def duration(seconds: float) -> str:
    """``1d 3h``, ``2h 05m``, ``7m`` (German ``1 T. 3 Std.``): two units at most, for a glance.
    The unit marks are catalogue entries, so the page's language writes them."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(days)dd %(hours)dh") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)dh %(minutes)02dm") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)dm") % {"minutes": minutes}


def sla_left(due: datetime | None, now: datetime | None = None) -> str:
    if due is None:
        return _("no SLA")
    delta = (due - (now or utcnow())).total_seconds()
    if delta < 0:
        return _("overdue %(duration)s") % {"duration": duration(delta)}
    return _("due in %(duration)s") % {"duration": duration(delta)}


def is_overdue(due: datetime | None, now: datetime | None = None) -> bool:
    """The queue's red rows: the same rule as the lead view and the breach alert."""
    return sla.is_overdue(due, now or utcnow())


def ago(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return "—"
    delta = ((now or utcnow()) - when).total_seconds()
    if delta < 0:
        return _("in %(duration)s") % {"duration": duration(delta)}
    return _("%(duration)s ago") % {"duration": duration(delta)}


def iso(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when is not None else ""


def pct(value: float | None) -> str:
    """``42%`` (en), ``42 %`` (de): the page's language decides the spacing and the digits."""
    return "—" if value is None else i18n.format_percent(value, i18n.current())


def number(value: Any) -> str:
    """Counts and measures in the page's language: ``1,234`` (en), ``1.234`` (de)."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else (_("yes") if value else _("no"))
    lang = i18n.current()
    if isinstance(value, int):
        return i18n.format_number(value, lang)
    if isinstance(value, float):
        if 0 < abs(value) < 1:
            return i18n.format_number(value, lang, digits=3)
        return i18n.format_number(value, lang, digits=2)
    return str(value)


def translate(text: object) -> str:
    """A text marked elsewhere (``N_``: a vocabulary word, a go-live check's title) in the page's
    language; unknown text comes back as it is. A filter, not ``_()``: ``_()`` would read a
    ``%`` in the text as a placeholder."""
    return i18n.gettext(str(text)) if text else ""


def humanise(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def bidi(text: object) -> str:
    """Post text for the page with each bidirectional override/isolate control shown as a mark
    (``⟦RLO⟧``, ``engagement.bidi.reveal_bidi``): a post cannot reorder what an agent reads, and
    the agent sees that it tried (issue 25). Autoescaping still applies to the result."""
    return reveal_bidi("" if text is None else str(text))


def install(templates: Jinja2Templates, *, amounts: Money | None = None) -> None:
    """Register the filters; ``amounts`` formats ``|money`` (``engagement.money``: the settings'
    currency and locale; ``|money(code)`` keeps a customer's own CRM currency)."""
    env = templates.env
    env.filters.update(
        money=amounts or money,
        sla_left=sla_left,
        overdue=is_overdue,
        ago=ago,
        iso=iso,
        pct=pct,
        number=number,
        humanise=humanise,
        t=translate,
        duration=duration,
        bidi=bidi,
    )
