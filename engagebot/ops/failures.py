"""Job failures are stored even when the database is what failed: kept in memory, written later.

A job that fails because the database is unreachable cannot write its ``JobRun`` then. The
failure is kept in a bounded queue (the oldest dropped past ``capacity``, and counted) and
written by the next ``flush`` that reaches the database, so ``engagebot status`` shows what
failed during an outage once it is over. ``flush`` runs before every job and on every leader
poll, so the failures appear within seconds of the database's return.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from db.engine import session_scope
from db.job_transitions import finish, is_allowed
from db.jobs import this_process
from db.models import JobRun
from db.vocab import JobStatus
from engagebot.ops.outages import database_unreachable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """One failed run of one job, as ``JobQueue.run_job`` saw it."""

    job: str
    source: str | None
    started_at: datetime
    finished_at: datetime
    error: str


def store_failure(session: Session, failure: Failure) -> None:
    """Write ``failure`` as a failed ``JobRun`` unless that run already recorded its outcome.

    The step may have opened its own row (``db.jobs.job_run``) before the database went away:
    a row of this job started within this run by this process and still ``running`` becomes the
    failure; one already finished is left as it is. (Two workers run the same shared step at
    once: the other worker's row of that step is never mistaken for this one's.)
    """
    query = select(JobRun).where(
        col(JobRun.job) == failure.job,
        col(JobRun.process) == this_process(),  # another worker's run of the same step is not this one
        col(JobRun.started_at) >= failure.started_at,
        col(JobRun.started_at) <= failure.finished_at,
    )
    if failure.source:
        query = query.where(col(JobRun.source) == failure.source)
    existing = session.scalars(query.order_by(col(JobRun.started_at)).limit(1)).first()
    if existing is not None and not is_allowed(existing.status, JobStatus.FAILED):
        return  # the run recorded its own end already
    row = existing or JobRun(
        job=failure.job, source=failure.source, started_at=failure.started_at, process=this_process()
    )
    session.add(finish(row, JobStatus.FAILED, at=failure.finished_at, error=failure.error))


class PendingFailures:
    """Failures not yet written, oldest first, at most ``capacity`` of them.

    Every job thread, the shared-work lanes and the leader poll call ``flush``. One flush at a
    time writes: a flush that finds another under way returns at once, since that one writes
    what is queued (two flushes that both copied the queue wrote every failure twice, and
    logged "stored" twice). A failure leaves the queue only once its transaction committed.
    """

    def __init__(self, capacity: int = 500) -> None:
        self._queue: deque[Failure] = deque(maxlen=capacity)
        self._dropped = 0
        self._lock = threading.Lock()  # guards the queue and the dropped count
        self._writing = threading.Lock()  # held by the one flush that writes

    def __len__(self) -> int:
        return len(self._queue)

    def keep(self, failure: Failure) -> None:
        """Keep ``failure`` for the next flush (the oldest goes, counted, when the buffer is full)."""
        with self._lock:
            if len(self._queue) == self._queue.maxlen:
                self._dropped += 1
            self._queue.append(failure)

    def record(self, engine: Engine, failure: Failure) -> bool:
        """Write ``failure`` now (after any older ones); keep it for later if the database is away."""
        self.keep(failure)
        return self.flush(engine) > 0

    def flush(self, engine: Engine) -> int:
        """Write every kept failure in one transaction; return how many (0 while unreachable,
        and 0 when another thread's flush is writing them)."""
        if not self._writing.acquire(blocking=False):
            return 0
        try:
            return self._write(engine)
        finally:
            self._writing.release()

    def _write(self, engine: Engine) -> int:
        with self._lock:
            pending = list(self._queue)
            dropped = self._dropped
        if not pending:
            return 0
        try:
            with session_scope(engine) as session:
                for failure in pending:
                    store_failure(session, failure)
        except Exception as exc:
            # an outage is told by its own lines (engagebot.ops.outages); anything else is news
            log.log(
                logging.DEBUG if database_unreachable(exc) else logging.WARNING,
                "could not store %d job failure(s) yet (kept in memory): %s",
                len(pending),
                str(exc).strip().split("\n", 1)[0],
            )
            return 0
        written = {id(failure) for failure in pending}  # alive in ``pending``: ids are unique
        with self._lock:  # failures recorded meanwhile stay (ids: two equal failures are two runs)
            kept = [failure for failure in self._queue if id(failure) not in written]
            self._queue = deque(kept, maxlen=self._queue.maxlen)
            self._dropped -= dropped
        if len(pending) > 1 or dropped:
            log.info(
                "stored %d job failure(s) kept while the database was unreachable%s",
                len(pending),
                f" ({dropped} older ones dropped: more than the buffer holds)" if dropped else "",
                extra={"stored_failures": len(pending), "dropped_failures": dropped},
            )
        return len(pending)
