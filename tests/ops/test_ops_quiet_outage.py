"""A 20 s database cut with one real worker on PostgreSQL: few lines, each failure stored once.

The worker reaches PostgreSQL through ``TcpProxy`` (loopback only); the test cuts it for 20 s
and restores it. What ``docs/scaling.md`` promises and this test holds: from the cut to 20 s
after it ends the worker writes at most 60 log lines (one when the outage starts, a count per
step per minute, one when it ends, the first traceback of each distinct error; a 20 s cut
wrote 431 lines before), every failed run it counted is one ``job_runs`` row, and afterwards
nothing is lost or done twice.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ops_procs import WorkerProcess, wait_for
from ops_sink import delivered_keys
from sqlalchemy import Engine, func, select
from sqlmodel import col
from tcp_proxy import TcpProxy

from db.engine import session_scope
from db.models import JobRun, Outbox, Post, Score
from db.types import utcnow

pytestmark = [pytest.mark.timeout(150), pytest.mark.postgres]
CUT_SECONDS = 20
#: the figure docs/scaling.md states for a 20 s cut, from its start to 20 s after it ends
MOST_LINES = 60


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    cut = TcpProxy().start()
    yield cut
    cut.stop()


def records(worker: WorkerProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in worker.text().splitlines() if line.startswith("{")]


def add_work(engine: Engine, tag: str, n: int) -> None:
    with session_scope(engine) as session:
        session.add_all(
            Outbox(channel="slack", kind="new_case", dedupe_key=f"{tag}:{i}", payload={"text": "x"}) for i in range(n)
        )
        session.add_all(
            Post(platform="x", external_id=f"{tag}:{i}", source="test", text="t", created_at=utcnow()) for i in range(n)
        )


def test_a_20s_cut_is_quiet_and_each_failure_is_stored_once(
    pg_engine: Engine, pg_url: str, proxy: TcpProxy, start_worker: Callable[..., WorkerProcess], tmp_path: Any
) -> None:
    worker = start_worker(proxy.url(pg_url), shared_work=["ops_sink:deliver", "ops_score:score"], lease_seconds=3)
    wait_for(lambda: "is the scheduler leader now" in worker.text(), timeout=60, what="the worker to lead")
    add_work(pg_engine, "before", 10)
    wait_for(lambda: len(delivered_keys(tmp_path / "out" / "sink.jsonl")) == 10, timeout=30, what="the first work")
    start = len(records(worker))

    proxy.stop()
    time.sleep(CUT_SECONDS)
    proxy.start()
    add_work(pg_engine, "after", 10)
    wait_for(lambda: "database reachable again" in worker.text(), timeout=30, what="the outage's end line")
    time.sleep(20)
    outage = records(worker)[start:]
    for record in outage:
        print(record["level"], record["logger"], record["message"][:150])
    print(f"{len(outage)} log lines from the cut to 20 s after it ended")
    assert len(outage) <= MOST_LINES
    assert sum("exception" in r for r in outage) <= 3, "the first traceback of each distinct error only"
    assert sum(r["message"].startswith("database unreachable (") for r in outage) >= 1
    ends = [r for r in outage if r["message"].startswith("database reachable again after")]
    assert len(ends) >= 1

    # each failed run it counted is one job_runs row: none lost, none written twice
    counted: Counter[str] = Counter()
    for end in ends:
        counted.update({step: n for step, n in end["failed_by_step"].items() if ":" in step})
    with session_scope(pg_engine) as session:
        failed = list(session.scalars(select(JobRun).where(col(JobRun.status) == "failed")))
    assert counted and Counter(run.job for run in failed) == counted
    assert len({(run.job, run.started_at) for run in failed}) == len(failed)
    assert sum(int(r.get("stored_failures", 0)) for r in outage) == len(failed), "'stored' said once per row"

    # afterwards nothing is lost or done twice
    sink = tmp_path / "out" / "sink.jsonl"
    wait_for(lambda: len(delivered_keys(sink)) == 20, timeout=30, what="the work queued after the cut")
    expected = [f"before:{i}" for i in range(10)] + [f"after:{i}" for i in range(10)]
    assert sorted(delivered_keys(sink)) == sorted(expected), "each message delivered once"

    def scores() -> Counter[int]:
        with session_scope(pg_engine) as session:
            rows = session.execute(select(col(Score.post_id), func.count()).group_by(col(Score.post_id)))
            return Counter({int(post_id): int(n) for post_id, n in rows})

    wait_for(lambda: len(scores()) == 20, timeout=30, what="every post scored")
    assert set(scores().values()) == {1}
