"""A snooze time as people give it on a page: "for N hours", or a ``datetime-local`` until (UTC).

One reading for the case page's snooze form and the queue's bulk bar, with one ceiling
(``MAX_SNOOZE``), so the two can never accept different times.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engagement.errors import BadInput

MAX_SNOOZE = timedelta(days=90)


def parse_until(raw: str, hours: float | None, now: datetime) -> datetime:
    """A snooze time from the form: ``hours`` from now, or a ``datetime-local`` value in UTC."""
    if hours is not None:
        return now + timedelta(hours=hours)
    if not raw.strip():
        raise BadInput("pick how long to snooze, or a time to snooze until")
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise BadInput(f"snooze until {raw!r}: not a date and time (YYYY-MM-DDTHH:MM, UTC)") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_hours(raw: str) -> float | None:
    """The form's "snooze for" choice: hours, or empty for "until…"."""
    if not raw.strip():
        return None
    try:
        hours = float(raw)
    except ValueError as exc:
        raise BadInput(f"snooze for {raw!r} hours: not a number") from exc
    if not 0 < hours <= MAX_SNOOZE.days * 24:
        raise BadInput(f"snooze for more than 0 and at most {MAX_SNOOZE.days * 24} hours")
    return hours


def check_until(until: datetime, now: datetime) -> datetime:
    """``until``, unless it is further ahead than ``MAX_SNOOZE``."""
    if until - now > MAX_SNOOZE:
        raise BadInput(f"snooze at most {MAX_SNOOZE.days} days ahead")
    return until


def from_form(until: str, hours: str, now: datetime) -> datetime:
    """The snooze time a form's ``until`` and ``hours`` fields say, checked."""
    return check_until(parse_until(until, parse_hours(hours), now), now)
