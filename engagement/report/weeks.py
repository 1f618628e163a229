"""ISO weeks in the report's time zone: parsing ``2026-W47``, the default week, trends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from babel.dates import format_interval

from engagement import i18n
from engagement.errors import BadInput

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
#: The years a report may cover: posts are imported only from 1990 to 2100 (listener's date
#: check), and a week near year 1 or 9999 overflows ``date`` when its end or trend is computed.
YEARS = range(1990, 2101)


@dataclass(frozen=True)
class Week:
    """One ISO week, Monday 00:00 to the next Monday 00:00 in ``tz``; bounds kept in UTC."""

    year: int
    number: int
    tz: str = "UTC"

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @cached_property
    def start(self) -> datetime:
        local = datetime.combine(self.monday, datetime.min.time(), tzinfo=ZoneInfo(self.tz))
        return local.astimezone(UTC)

    @cached_property
    def end(self) -> datetime:
        return self.shift(1).start

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def shift(self, weeks: int) -> Week:
        """The week ``weeks`` later (negative: earlier)."""
        return week_of(self.monday + timedelta(weeks=weeks), self.tz)

    def previous(self) -> Week:
        return self.shift(-1)

    def trend(self, weeks: int) -> list[Week]:
        """The ``weeks`` weeks ending with this one, oldest first."""
        return [self.shift(offset) for offset in range(1 - weeks, 1)]

    def span(self, lang: str | None = None) -> str:
        """Human dates, e.g. '16-22 Nov 2026'; in another language as its readers write them
        (``lang="de"``: '16.–22. Nov. 2026', Babel's interval format)."""
        first, last = self.monday, self.sunday
        if lang is not None and i18n.language_of(lang) not in (i18n.DEFAULT, i18n.PSEUDO):
            return format_interval(first, last, "yMMMd", locale=i18n.babel_locale(lang))
        if first.month == last.month:
            return f"{first.day}-{last.day} {last:%b %Y}"
        if first.year == last.year:
            return f"{first.day} {first:%b} - {last.day} {last:%b %Y}"
        return f"{first.day} {first:%b %Y} - {last.day} {last:%b %Y}"


def week_of(day: date | datetime, tz: str = "UTC") -> Week:
    """The ISO week holding a date, or an aware moment as seen in ``tz``."""
    if isinstance(day, datetime):
        if day.tzinfo is None:
            raise BadInput(f"naive datetime {day!r}: pass a timezone-aware time")
        day = day.astimezone(ZoneInfo(tz)).date()
    year, number, _ = day.isocalendar()
    return Week(year, number, tz)


def parse_week(text: str, tz: str = "UTC") -> Week:
    """Parse '2026-W47' (or '2026W47'); a clear ValueError for anything else."""
    match = _WEEK.match(text.strip())
    if match is None:
        raise BadInput(f"bad week {text!r}: use an ISO week such as 2026-W47")
    year, number = int(match.group(1)), int(match.group(2))
    if year not in YEARS:
        raise BadInput(f"bad week {text!r}: a report covers {YEARS.start} to {YEARS.stop - 1}")
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise BadInput(f"bad week {text!r}: {year} has no ISO week {number}") from None
    return Week(year, number, tz)


def default_week(*, now: datetime, tz: str = "UTC", newest_before: datetime | None = None) -> tuple[Week, str]:
    """The week a report without ``--week`` covers, and a sentence saying which and why.

    The last complete week before ``now``; if no post was written in it (a quiet week, a
    source down, history imported up to an older date), the last complete week that has posts
    (``newest_before``: the newest post before the last complete week ended).
    """
    last = week_of(now, tz).previous()
    if newest_before is None:
        return last, f"{last.label}: the last complete week (no posts yet)"
    found = week_of(newest_before, tz)
    if found == last:
        return last, f"{last.label}: the last complete week"
    return found, f"{found.label}: the last complete week with posts ({last.label} has none)"


def resolve_week(week: str | None, *, now: datetime, tz: str = "UTC", newest: datetime | None = None) -> Week:
    """Which week to report on.

    ``None``: the last complete week before ``now`` (what the Monday job wants);
    ``"current"``: the week holding ``now``; ``"latest"``: the week of the newest post
    (``newest``; falls back to the current week without posts); else an ISO week label.
    """
    if week is None or week.strip().lower() in ("", "last"):
        return week_of(now, tz).previous()
    key = week.strip().lower()
    if key == "current":
        return week_of(now, tz)
    if key == "latest":
        return week_of(newest if newest is not None else now, tz)
    return parse_week(week, tz)
