"""A leader killed with ``kill -9`` mid-run: the first ``status`` after it tells the truth.

Its run is ``died`` at once (the killed process is not reaped yet when ``status`` runs: a
zombie, which answered ``kill(pid, 0)`` and kept the run ``running`` until a second
``status``), and ``status`` no longer names it as the leader, although its lease row has
not run out yet. The worker still alive keeps its own run ``running``.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
from ops_procs import WorkerProcess, wait_for
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import JobRun
from engagebot.opsdata import status_report

pytestmark = [pytest.mark.timeout(120), pytest.mark.postgres]


def test_the_first_status_after_a_kill_9_of_the_leader_is_truthful(
    pg_engine: Engine, pg_url: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    workers = [start_worker(pg_url, shared_work=["ops_steps:hang"], lease_seconds=30) for _ in range(2)]
    wait_for(lambda: all("hanging inside a job run" in w.text() for w in workers), timeout=60, what="both runs")
    wait_for(lambda: any("is the scheduler leader now" in w.text() for w in workers), timeout=30, what="a leader")
    leader = next(w for w in workers if "is the scheduler leader now" in w.text())
    other = next(w for w in workers if w is not leader)
    wait_for(lambda: len(status_report(pg_engine)["leader"]) == 1, timeout=30, what="status to name the leader")
    [named] = status_report(pg_engine)["leader"]
    assert f":{leader.pid}:" in named["holder"]

    leader.process.send_signal(signal.SIGKILL)  # and no poll(): that would reap it
    wait_for(lambda: not leader_alive(leader.pid), timeout=10, what="the kill")
    report = status_report(pg_engine)  # the first one, before the killed process is reaped
    assert report["leader"] == [], "a killed leader is not named, though its lease has not run out"
    with session_scope(pg_engine) as session:
        runs = {str(run.process).rsplit(":", 1)[1]: run for run in session.scalars(select(JobRun))}
    assert runs[str(leader.pid)].status == "died", "the killed run, on the first status"
    assert "its process is gone" in (runs[str(leader.pid)].error or "")
    assert runs[str(other.pid)].status == "running", "the live worker's run stays running"
    leader.process.wait(timeout=10)


def leader_alive(pid: int) -> bool:
    """False once ``pid`` is a zombie (killed, not reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
