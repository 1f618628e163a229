"""Record each step run as a ``JobRun`` row: start, heartbeat, end, counts and the error if any.

A process killed with ``kill -9`` (or a machine that stops) never writes its end, so its row
would say ``running`` forever. Each row names its process (``host:pid``), and
:func:`mark_dead_runs`, called by the next run of any job and by ``engagebot status``, marks
``died``:

- a run of a process on this host that no longer exists (at once, on any database);
- on PostgreSQL, a run whose heartbeat is older than ``DEAD_AFTER_SECONDS``: while a step
  runs, a daemon thread refreshes ``heartbeat_at`` every ``HEARTBEAT_SECONDS``, which covers
  workers on other machines. A run wrongly declared dead (its heartbeat could not reach the
  database for a while) takes ``running`` back with its next heartbeat.

SQLite gets no heartbeat thread: a database file is one machine's, where the process check
answers, and a write from a second connection every few seconds would make the step's own
deferred transactions fail with "database is locked".
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from db.engine import is_sqlite, session_scope
from db.job_transitions import finish, revive
from db.models import JobRun
from db.types import utcnow
from db.vocab import JobStatus

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
"""How often a running step refreshes ``heartbeat_at``."""
DEAD_AFTER_SECONDS = 120.0
"""A ``running`` row without a heartbeat for this long is ``died`` (eight missed heartbeats:
a busy database or a long transaction never makes a live run look dead)."""


def this_process() -> str:
    """``host:pid`` of the calling process (read at each call: workers may be forked)."""
    return f"{_host()}:{os.getpid()}"


def _host() -> str:
    return socket.gethostname()[:100]


def mark_dead_runs(session: Session, *, now: datetime | None = None, dead_after: float | None = None) -> int:
    """Mark ``died`` every ``running`` run whose process is gone from this host, or whose
    heartbeat is older than ``dead_after`` seconds (default ``DEAD_AFTER_SECONDS``; a run of
    an older version, without a process, by its start); returns how many. The caller commits."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=DEAD_AFTER_SECONDS if dead_after is None else dead_after)
    died = []
    for run in session.exec(select(JobRun).where(col(JobRun.status) == JobStatus.RUNNING)).all():
        gone = process_gone(run.process)
        if run.heartbeat_at is not None:
            stale = run.heartbeat_at < cutoff
        else:
            stale = run.process is None and run.started_at < cutoff
        if gone or stale:
            seen = run.heartbeat_at or run.started_at
            why = "its process is gone" if gone else f"no heartbeat since {seen:%Y-%m-%d %H:%M:%S} UTC"
            error = f"{why} ({run.process or 'process unknown'}): killed, or its machine stopped"
            finish(run, JobStatus.DIED, at=seen, error=error)
            session.add(run)
            died.append(run)
    if died:
        log.warning("job runs marked died: %s", ", ".join(f"{r.job} #{r.id} ({r.error})" for r in died))
    return len(died)


def process_gone(process: str | None) -> bool:
    """True when ``host:pid`` names this host and no such process exists."""
    host, _, pid = (process or "").rpartition(":")
    if host != _host() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: it exists
        return False
    return _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    """True when ``pid`` was killed but its parent has not reaped it yet.

    Such a process still answers ``kill(pid, 0)``, so a worker killed with ``kill -9`` by a
    supervisor that reaps late looked alive to the first ``status`` after the kill (and to the
    next leader's first pass); it was found dead only by a later one. Linux only: elsewhere
    (no ``/proc``) the heartbeat's age decides.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


class _Heartbeat:
    """A daemon thread that refreshes one run's ``heartbeat_at`` until stopped."""

    def __init__(self, engine: Engine, run_id: int, interval: float) -> None:
        self.engine = engine
        self.run_id = run_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with session_scope(self.engine, write=True) as session:
                    session.execute(revive(self.run_id, at=utcnow()))
            except SQLAlchemyError as exc:  # the step goes on; a stale heartbeat is only a symptom
                log.debug("heartbeat of job run %s failed: %s", self.run_id, exc)


@contextmanager
def job_run(
    engine: Engine, job: str, *, source: str | None = None, heartbeat_seconds: float | None = None
) -> Iterator[dict[str, Any]]:
    """Yield a counts dict for the step to fill; store it with ok/failed when the step ends.

    The row is written in its own transactions so a failing step still leaves its trace,
    and the exception is re-raised for the caller to handle (never swallowed here). While the
    step runs, its heartbeat is refreshed (see the module docstring); runs of dead processes
    found on the way in are marked ``died``.
    """
    beats = not is_sqlite(engine)
    with session_scope(engine, write=True) as session:
        mark_dead_runs(session)
        now = utcnow()
        run = JobRun(
            job=job, source=source, started_at=now, heartbeat_at=now if beats else None, process=this_process()
        )
        session.add(run)
        session.flush()
        run_id = run.id
    assert run_id is not None
    heartbeat = _Heartbeat(engine, run_id, heartbeat_seconds or HEARTBEAT_SECONDS)
    if beats:
        heartbeat.start()
    counts: dict[str, Any] = {}
    try:
        yield counts
    except BaseException as exc:
        heartbeat.stop()
        with session_scope(engine) as session:
            row = session.get(JobRun, run_id)
            if row is not None:
                finish(row, JobStatus.FAILED, at=utcnow(), error=f"{type(exc).__name__}: {exc}", counts=counts)
        raise
    heartbeat.stop()
    with session_scope(engine) as session:
        row = session.get(JobRun, run_id)
        if row is not None:
            finish(row, JobStatus.OK, at=utcnow(), counts=counts)
