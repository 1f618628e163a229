"""Classified fetch errors and one bounded retry loop for every source.

Sources translate their client's exceptions into ``RateLimited`` (429, with the wait the API
asked for), ``Retriable`` (5xx, timeouts, connection errors) or let anything else through as
fatal. Back-off is exponential with full jitter and a cap; a rate-limit wait longer than the
configured cap stops the run (``RateLimitTooLong``) so the cursor resumes next time instead of
a worker sleeping for an hour. Unlike tweepy's own ``wait_on_rate_limit``, nothing is unbounded.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

from listener.settings import RetrySettings

log = logging.getLogger(__name__)
T = TypeVar("T")


class FetchError(Exception):
    """Base of the errors a source raises while fetching a page."""


class Retriable(FetchError):
    """A transient failure (5xx, timeout, connection reset): try again after a back-off."""


class RateLimited(FetchError):
    """HTTP 429 (or a platform's equivalent): wait ``retry_after`` seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitTooLong(FetchError):
    """The API asked for a longer wait than allowed: stop this run, resume on the next."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"rate limited for {wait:.0f}s, longer than the configured cap")
        self.wait = wait


def retry_after_seconds(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """The wait a response asks for: ``Retry-After`` (seconds or HTTP date) or X's reset epoch."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    current = time.time() if now is None else now
    value = lowered.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - current)
            except (TypeError, ValueError):
                pass
    for key in ("x-rate-limit-reset", "x-ratelimit-reset"):
        value = lowered.get(key)
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        # X sends an epoch second; Reddit sends seconds until the reset.
        return max(0.0, number - current) if number > 1e9 else max(0.0, number)
    return None


@dataclass
class RetryPolicy:
    """Runs a fetch with bounded retries; ``sleep`` and ``rng`` are injectable for tests."""

    settings: RetrySettings = field(default_factory=RetrySettings)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    waits: list[float] = field(default_factory=list)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)] (AWS architecture blog)."""
        ceiling = min(self.settings.max_backoff_seconds, self.settings.backoff_seconds * (2**attempt))
        return self.rng.uniform(0, ceiling)

    def call(self, fetch: Callable[[], T], *, what: str = "fetch") -> T:
        attempts = self.settings.max_attempts
        for attempt in range(attempts):
            try:
                return fetch()
            except RateLimited as exc:
                wait = exc.retry_after if exc.retry_after is not None else self.backoff(attempt + 2)
                wait += self.rng.uniform(0, 1.0)  # spread workers that hit the same reset
                if wait > self.settings.max_rate_limit_wait_seconds:
                    raise RateLimitTooLong(wait) from exc
                if attempt == attempts - 1:
                    raise
                log.warning(
                    "%s rate limited; waiting %.1fs (attempt %d/%d)",
                    what,
                    wait,
                    attempt + 1,
                    attempts,
                )
                self._wait(wait)
            except Retriable as exc:
                if attempt == attempts - 1:
                    raise
                wait = self.backoff(attempt)
                log.warning(
                    "%s failed (%s); retrying in %.1fs (attempt %d/%d)",
                    what,
                    exc,
                    wait,
                    attempt + 1,
                    attempts,
                )
                self._wait(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sleep(seconds)


#: App Store Connect's limit is per hour and its header gives no reset time: wait the hour.
APPSTORE_CONNECT_HOUR = 3600.0


def appstore_connect_remaining(headers: Mapping[str, str] | None) -> int | None:
    """Requests left this hour by App Store Connect's ``X-Rate-Limit`` header
    (``user-hour-lim:3600;user-hour-rem:0;``); ``None`` when absent or unreadable.

    Why read it: Apple answers every call past the hourly limit with 429 until the hour turns,
    so a run that goes on after ``rem`` reaches 0 only spends attempts; the collector and the
    reply adapter stop first instead."""
    if not headers:
        return None
    value = next((str(v) for k, v in headers.items() if str(k).lower() == "x-rate-limit"), "")
    fields = dict(part.strip().split(":", 1) for part in value.split(";") if ":" in part)
    try:
        return int(fields["user-hour-rem"].strip())
    except (KeyError, ValueError):
        return None
