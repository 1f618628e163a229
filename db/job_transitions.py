"""The job-run state machine: every status change of a ``JobRun`` goes through ``finish`` or ``revive``.

Why one place: a run's status, ``finished_at`` and ``error`` must change together, and a few
moves must never happen. A run a worker already finished (``ok`` or ``failed``) is history:
the failure kept in memory through an outage, or a late ``died`` sweep, must not overwrite
it. A run declared ``died`` while its heartbeat could not reach the database is still alive,
and its own end (or its next heartbeat) takes it back. ``ALLOWED`` says which moves exist;
anything else raises ``InvalidJobTransition`` (a bug, never an outage).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Update, update
from sqlmodel import col

from db.models import JobRun
from db.vocab import JobStatus

_S = JobStatus

#: from -> the statuses it may move to
ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    _S.RUNNING: frozenset({_S.OK, _S.FAILED, _S.DIED}),
    # wrongly declared dead (its heartbeat was cut off): its own end or heartbeat wins
    _S.DIED: frozenset({_S.RUNNING, _S.OK, _S.FAILED}),
    _S.OK: frozenset(),
    _S.FAILED: frozenset(),
}


class InvalidJobTransition(RuntimeError):
    """A move the table does not have: a bug in the caller."""


def is_allowed(current: JobStatus | str, to: JobStatus | str) -> bool:
    """True when the table has the move ``current -> to``."""
    return JobStatus(to) in ALLOWED[JobStatus(current)]


def finish(
    run: JobRun,
    to: JobStatus,
    /,
    *,
    at: datetime,
    error: str | None = None,
    counts: dict[str, Any] | None = None,
) -> JobRun:
    """End ``run`` as ``ok``, ``failed`` or ``died`` at ``at`` (the caller adds and commits).

    ``error`` is cut to the column's 2,000 characters; ``ok`` clears any earlier error (a run
    wrongly declared dead that then finished well).
    """
    current = JobStatus(run.status)
    if to is JobStatus.RUNNING or not is_allowed(current, to):
        raise InvalidJobTransition(f"job run {run.id} ({run.job}) is {current.value}; it cannot become {to.value}")
    run.status = to
    run.finished_at = at
    run.error = None if to is JobStatus.OK else (error or "")[:2000] or None
    if counts is not None:
        run.counts = dict(counts)
    return run


def revive(run_id: int, *, at: datetime) -> Update:
    """The heartbeat's statement: still ``running`` (or back from a wrong ``died``), seen at ``at``.

    A single conditional UPDATE, not read-then-write: the heartbeat thread runs beside the
    step's own end, and a finished run must stay finished whichever commits first.
    """
    back = [s.value for s in ALLOWED if JobStatus.RUNNING in ALLOWED[s]] + [JobStatus.RUNNING.value]
    return (
        update(JobRun)
        .where(col(JobRun.id) == run_id, col(JobRun.status).in_(back))
        .values(heartbeat_at=at, status=JobStatus.RUNNING.value, finished_at=None, error=None)
    )
