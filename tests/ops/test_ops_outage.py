"""Riding out a database outage with real workers: PostgreSQL cut by a TCP proxy, then restored.

The workers reach PostgreSQL only through ``TcpProxy``; the test cuts it, so the shared
server other tests use never stops. What must hold: workers started before the database
wait for it; during the outage the log stays short (one traceback per kind of error, then
counts), only the worker that led says it steps down, and the failures of the outage are in
``job_runs`` (what ``engagebot status`` shows) once the database is back.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ops_procs import WorkerProcess, wait_for
from sqlalchemy import Engine, select
from sqlmodel import col
from tcp_proxy import TcpProxy

from db.engine import session_scope
from db.models import JobRun
from engagebot.opsdata import status_report

SINK_TASK = "ops_sink:deliver"  # a shared step that reads the outbox: it fails while the database is away
pytestmark = [pytest.mark.timeout(150), pytest.mark.postgres]


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    cut = TcpProxy()
    yield cut
    cut.stop()


def records(worker: WorkerProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in worker.text().splitlines() if line.startswith("{")]


def failed_runs(engine: Engine) -> list[JobRun]:
    """Failed runs (the schema is fresh: every one of them is the outage's)."""
    with session_scope(engine) as session:
        return list(session.scalars(select(JobRun).where(col(JobRun.status) == "failed")))


def test_workers_wait_for_the_database_and_ride_out_an_outage(
    pg_engine: Engine, pg_url: str, proxy: TcpProxy, start_worker: Callable[..., WorkerProcess]
) -> None:
    # both workers start while the database is unreachable: they wait, they do not exit
    workers = [start_worker(proxy.url(pg_url), shared_work=[SINK_TASK], lease_seconds=3) for _ in range(2)]
    wait_for(
        lambda: all("next attempt in" in w.text() for w in workers), timeout=60, what="both to wait for the database"
    )
    assert all(w.alive() for w in workers)
    proxy.start()
    wait_for(lambda: all("starting" in w.text() for w in workers), timeout=60, what="both workers to start")
    wait_for(lambda: sum("is the scheduler leader now" in w.text() for w in workers) == 1, timeout=30, what="a leader")
    leader = next(w for w in workers if "is the scheduler leader now" in w.text())
    follower = next(w for w in workers if w is not leader)
    before = [len(records(w)) for w in workers]

    proxy.stop()
    time.sleep(8)  # a short outage: every poll and every shared step fails meanwhile
    proxy.start()
    wait_for(
        lambda: all("job failure(s) kept while the database was unreachable" in w.text() for w in workers),
        timeout=30,
        what="both workers to store the failures they kept",
    )
    wait_for(
        lambda: sum(w.text().count("is the scheduler leader now") for w in workers) == 2,
        timeout=30,
        what="a leader again after the outage",
    )
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=40) == 0

    failures = failed_runs(pg_engine)
    assert {run.job for run in failures} == {SINK_TASK}
    kept = sum(int(r.get("stored_failures", 0)) for w in workers for r in records(w))
    assert len(failures) >= kept > 2, "every failure kept in memory is in job_runs"
    assert all(run.error and "OperationalError" in run.error for run in failures)
    shown = status_report(pg_engine)["errors"]
    assert any(e["job"] == SINK_TASK and "OperationalError" in (e["error"] or "") for e in shown)

    assert "stepping down" in leader.text()
    assert "stepping down" not in follower.text(), "a follower never led: nothing to step down from"
    for worker, start in zip(workers, before, strict=True):
        outage = records(worker)[start:]
        tracebacks = [r for r in outage if "exception" in r]
        print(f"worker {worker.pid}: {len(outage)} log lines, {len(tracebacks)} tracebacks from the outage on")
        # one traceback per kind of error, then the outage's own lines; the leader used to write
        # ~2,100 lines in 30 s
        assert len(tracebacks) <= 2
        assert len(outage) < 60
        ends = [r for r in outage if r["message"].startswith("database reachable again after")]
        assert len(ends) == 1, "one line when the outage ends, with what it kept"
