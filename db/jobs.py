"""Record each step run as a ``JobRun`` row: start, end, counts and the error if any."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from db.engine import session_scope
from db.models import JobRun
from db.types import utcnow


@contextmanager
def job_run(engine: Engine, job: str, *, source: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield a counts dict for the step to fill; store it with ok/failed when the step ends.

    The row is written in its own transactions so a failing step still leaves its trace,
    and the exception is re-raised for the caller to handle (never swallowed here).
    """
    with session_scope(engine) as session:
        run = JobRun(job=job, source=source)
        session.add(run)
        session.flush()
        run_id = run.id
    counts: dict[str, Any] = {}
    try:
        yield counts
    except BaseException as exc:
        with session_scope(engine) as session:
            row = session.get(JobRun, run_id)
            if row is not None:
                row.status = "failed"
                row.error = f"{type(exc).__name__}: {exc}"[:2000]
                row.counts = dict(counts)
                row.finished_at = utcnow()
        raise
    with session_scope(engine) as session:
        row = session.get(JobRun, run_id)
        if row is not None:
            row.status = "ok"
            row.counts = dict(counts)
            row.finished_at = utcnow()
