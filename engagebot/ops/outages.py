"""Tell an outage as it happened: one line when it starts, counts while it lasts, one when it ends.

During a database cut every job, every shared-step poll and the leader election fail, each
with a chained traceback of ~130 lines: a 30 s cut wrote 276-431 lines per worker, and the
counts of held-back repeats came long after it was over. ``Outage`` is what a worker says
instead: when it starts (the first failure that says the database, or Slack, cannot be
reached), at most one line per step per minute with that step's count while it lasts, and
when it ends (the first success after it) how long it lasted, how many runs failed and what
was kept for later. The first traceback of each distinct error is still logged in full by
the caller; the later ones go to DEBUG.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

from engagebot.ops.logrepeats import first_line

log = logging.getLogger("engagebot.ops.outages")

#: words of a driver error that mean "cannot reach the database" rather than "this query is wrong"
UNREACHABLE_WORDS = (
    "connect",
    "server closed",
    "terminating connection",
    "unable to open database",
    "no route to host",
    "timeout expired",
    "ssl syscall",
)


def database_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database cannot be reached.

    A lost or refused connection, not a bad query: SQLite's "database is locked" or a
    constraint violation are errors of that run alone and are logged as such.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            if current.connection_invalidated:
                return True
            text = first_line(current.orig if current.orig is not None else current).lower()
            if any(word in text for word in UNREACHABLE_WORDS):
                return True
        current = current.__cause__ or current.__context__
    return False


@dataclass
class StepCount:
    """Failures of one step during the outage, and when its count was last logged."""

    total: int = 0
    unreported: int = 0
    reported: float = 0.0


class Outage:
    """One dependency's outage as one process saw it (``database``, ``Slack``)."""

    def __init__(
        self,
        what: str,
        *,
        meanwhile: str = "steps retry with back-off, failed runs are kept in memory",
        every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self.what = what
        self.meanwhile = meanwhile
        self.every = every
        self.clock = clock
        self.on_end = on_end
        self.since: float | None = None
        self._steps: dict[str, StepCount] = {}
        self._lock = threading.Lock()

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, step: str, error: str) -> None:
        """A run of ``step`` failed because ``what`` is unreachable: start or count the outage."""
        now = self.clock()
        line: tuple[str, tuple[object, ...]] | None = None
        with self._lock:
            if self.since is None:
                self.since, self._steps = now, {}
                line = (
                    "%s unreachable (%s): %s; one line per step per minute until it is back",
                    (self.what, first_line(error), self.meanwhile),
                )
            count = self._steps.setdefault(step, StepCount(reported=now))
            count.total += 1
            count.unreported += 1
            if line is None and now - count.reported >= self.every:
                line = (
                    "%s still unreachable after %.0fs: %s failed %d more times (%s)",
                    (self.what, now - self.since, step, count.unreported, first_line(error)),
                )
                count.unreported, count.reported = 0, now
            elif line is not None:
                count.unreported = 0
        if line is not None:
            log.warning(line[0], *line[1], extra={"outage": self.what, "step": step, "every_time": True})

    def ended(self, *, kept: str = "") -> bool:
        """``what`` answered again: log the outage's end once; False when there was none."""
        now = self.clock()
        with self._lock:
            if self.since is None:
                return False
            lasted, steps = now - self.since, self._steps
            self.since, self._steps = None, {}
        failed = sum(c.total for c in steps.values())
        per_step = ", ".join(f"{step} {c.total}" for step, c in sorted(steps.items()))
        log.warning(
            "%s reachable again after %.0fs: %d failed run(s) (%s)%s",
            self.what,
            lasted,
            failed,
            per_step,
            f"; kept for later: {kept}" if kept else "",
            extra={
                "outage": self.what,
                "outage_seconds": round(lasted, 1),
                "failed_runs": failed,
                "failed_by_step": {step: c.total for step, c in steps.items()},
                "every_time": True,
            },
        )
        if self.on_end is not None:
            self.on_end()
        return True
