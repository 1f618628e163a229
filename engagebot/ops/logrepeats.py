"""Log a repeated warning or error once, then a count: an outage must not bury the log.

During a database outage every scheduled job, every shared-work poll, the leader election and
every metrics scrape fail with the same error, each with its traceback: thousands of lines a
minute that hide when it started and when it ended. ``RepeatedErrors`` is a filter on the log
handler: the first record of a kind passes in full; identical ones after it are counted, and
one line with the count (and no traceback) passes at most every ``every`` seconds while they
go on, and once more when they have stopped: ``quiet`` seconds after the last one (a sweeper
thread checks every few seconds, so the summary never waits for the next log line or for the
exit), or at once when an outage ends (``settle_repeats``, called by ``engagebot.ops.outages``).
A summary that came only at exit, or minutes after recovery, read like an error still on.

Two records are identical when they come from the same logger at the same level with the same
message template, the same arguments other than numbers and the same exception (first line
of each: a database error's later lines carry the SQL and its changing parameters). Numbers
in the arguments (seconds, counts, attempts) do not tell records apart.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

Key = tuple[str, int, str, tuple[str, ...], str]


def first_line(text: object) -> str:
    return str(text).strip().split("\n", 1)[0]


def repeat_key(record: logging.LogRecord) -> Key:
    """What makes two records "the same error" (see the module docstring)."""
    args = record.args if isinstance(record.args, tuple) else ()
    texts = tuple(first_line(arg) for arg in args if not isinstance(arg, int | float))
    exc = record.exc_info[1] if record.exc_info else None
    error = f"{type(exc).__name__}: {first_line(exc)}" if exc is not None else ""
    return (record.name, record.levelno, str(record.msg), texts, error)


@dataclass
class Seen:
    """One kind of record: when it was first and last seen, how many were held back."""

    first: float
    last: float
    reported: float
    held: int = 0
    total: int = 1


#: every filter in use, for ``settle_repeats`` (weak: a replaced handler's filter just goes)
_FILTERS: weakref.WeakSet[RepeatedErrors] = weakref.WeakSet()


_sweeper: threading.Thread | None = None


def settle_repeats() -> None:
    """Write every held count now, as stopped: an outage ended, its repeats are over."""
    for repeats in list(_FILTERS):
        repeats.settle()


def start_sweeper(every: float = 5.0) -> None:
    """Once per process: a daemon thread that writes the counts of stopped repeats every few seconds."""
    global _sweeper
    if _sweeper is not None:
        return

    def loop() -> None:
        while True:
            time.sleep(every)
            for repeats in list(_FILTERS):
                repeats.sweep()

    _sweeper = threading.Thread(target=loop, name="log-repeats", daemon=True)
    _sweeper.start()


class RepeatedErrors(logging.Filter):
    """A handler filter that passes the first of identical WARNING+ records and counts the rest."""

    def __init__(
        self,
        handler: logging.Handler,
        *,
        every: float = 60.0,
        quiet: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.handler = handler
        self.every = every
        self.quiet = quiet
        self.clock = clock
        self._seen: dict[Key, tuple[Seen, logging.LogRecord]] = {}
        self._lock = threading.Lock()
        _FILTERS.add(self)

    def sweep(self) -> None:
        """Write the summaries of repeats that have stopped (``quiet`` seconds without one)."""
        if self._stream_closed():
            return
        for summary in self._ended(self.clock()):
            self.handler.handle(summary)

    def _stream_closed(self) -> bool:
        """The handler's stream is gone (a test runner's capture): nowhere to report."""
        stream = getattr(self.handler, "stream", None)
        return stream is not None and bool(getattr(stream, "closed", False))

    def settle(self) -> None:
        """Write every held count now as stopped, and forget every kind (the next is news)."""
        with self._lock:
            summaries = [self._summary(record, seen) for seen, record in self._seen.values() if seen.held]
            self._seen.clear()
        for summary in summaries:
            self.handler.handle(summary)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "repeat_summary", False) or getattr(record, "every_time", False):
            return True  # a summary of ours, or a line its caller wants every time (extra={"every_time": True})
        now = self.clock()
        for summary in self._ended(now):
            self.handler.handle(summary)
        if record.levelno < logging.WARNING:
            return True
        key = repeat_key(record)
        with self._lock:
            known = self._seen.get(key)
            if known is None:
                self._seen[key] = (Seen(first=now, last=now, reported=now), record)
                return True
            seen, _ = known
            seen.last, seen.held, seen.total = now, seen.held + 1, seen.total + 1
            if now - seen.reported < self.every:
                return False
            held, since = seen.held, seen.reported
            seen.held, seen.reported = 0, now
        record.msg = f"{first_line(record.getMessage())} [repeated {held} times in the last {now - since:.0f}s]"
        record.args = None
        record.exc_info = record.exc_text = None
        record.repeats = held
        return True

    def _ended(self, now: float) -> list[logging.LogRecord]:
        """Summaries of the kinds not seen for ``quiet`` seconds that still hold a count."""
        summaries: list[logging.LogRecord] = []
        with self._lock:
            for key, (seen, record) in list(self._seen.items()):
                if now - seen.last < self.quiet:
                    continue
                del self._seen[key]
                if seen.held:
                    summaries.append(self._summary(record, seen))
        return summaries

    @staticmethod
    def _summary(record: logging.LogRecord, seen: Seen, *, stopped: bool = True) -> logging.LogRecord:
        message = (
            f"{first_line(record.getMessage())} [repeated {seen.held} more times; "
            f"{seen.total} in {seen.last - seen.first:.0f}s{', then it stopped' if stopped else ''}]"
        )
        summary = logging.makeLogRecord(
            {
                "name": record.name,
                "levelno": record.levelno,
                "levelname": record.levelname,
                "msg": message,
                "repeat_summary": True,
                "repeats": seen.held,
            }
        )
        return summary

    def flush(self) -> None:
        """Report every held count now (at exit, so the last count is not lost)."""
        if self._stream_closed():
            return
        with self._lock:
            pending = [self._summary(record, seen, stopped=False) for seen, record in self._seen.values() if seen.held]
            self._seen.clear()
        for summary in pending:
            self.handler.handle(summary)
