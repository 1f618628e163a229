"""Jinja filters: money, time left to the SLA, relative times, reasons; all plain text (escaped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.templating import Jinja2Templates

from db.types import utcnow
from engagement.bidi import reveal_bidi
from engagement.money import Money
from engagement.queue import sla

money = Money()  # replaced by the settings' currency and locale in ``install``


def duration(seconds: float) -> str:
    """``1d 3h``, ``2h 05m``, ``7m``: two units at most, for a glance."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def sla_left(due: datetime | None, now: datetime | None = None) -> str:
    if due is None:
        return "no SLA"
    delta = (due - (now or utcnow())).total_seconds()
    return f"overdue {duration(delta)}" if delta < 0 else f"due in {duration(delta)}"


def is_overdue(due: datetime | None, now: datetime | None = None) -> bool:
    """The queue's red rows: the same rule as the lead view and the breach alert."""
    return sla.is_overdue(due, now or utcnow())


def ago(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return "—"
    delta = ((now or utcnow()) - when).total_seconds()
    return f"in {duration(delta)}" if delta < 0 else f"{duration(delta)} ago"


def iso(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when is not None else ""


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if 0 < abs(value) < 1:
            return f"{value:.3f}"
        return f"{value:,.2f}"
    return str(value)


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
        duration=duration,
        bidi=bidi,
    )
