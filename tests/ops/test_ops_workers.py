"""Several real worker processes on one database: one leader, failover, shared batches.

The shared step is ``ops_sink:deliver`` (outbox rows to a sink file), cheap enough
to watch every effect: each outbox row must reach the sink exactly once whatever is killed.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from ops_procs import WorkerProcess, json_counts, outbox_status, wait_for
from ops_sink import delivered_keys
from sqlalchemy import Engine, func, select, text
from sqlmodel import col

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Outbox, Post, SchedulerLease, Score
from db.types import utcnow
from engagebot.ops.leader import SCHEDULER_LEASE, advisory_key

SINK_TASK = "ops_sink:deliver"
SCORE_TASK = "ops_score:score"
pytestmark = pytest.mark.timeout(180)


def lease_holder_pid(engine: Engine) -> int | None:
    with session_scope(engine) as session:
        row = session.get(SchedulerLease, SCHEDULER_LEASE)
        return int(row.holder.split(":")[1]) if row else None


def advisory_holders(engine: Engine) -> list[int]:
    """Backend pids holding this schema's scheduler lock (what really decides who leads)."""
    with engine.connect() as connection:
        scope = connection.execute(text("select current_database() || '.' || current_schema()"))
        key = advisory_key(str(scope.scalar_one()), SCHEDULER_LEASE)
        rows = connection.execute(
            text(
                "select pid from pg_locks where locktype = 'advisory' and granted "
                "and classid::bigint = :hi and objid::bigint = :lo"
            ),
            {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF},
        )
        return [int(pid) for (pid,) in rows]


def leader_logs(worker: WorkerProcess) -> int:
    return worker.text().count("is the scheduler leader now")


def add_outbox(engine: Engine, n: int) -> list[str]:
    keys = [f"case:{i}:new_case" for i in range(n)]
    with session_scope(engine) as session:
        session.add_all(
            Outbox(channel="slack", kind="new_case", dedupe_key=key, payload={"i": i}) for i, key in enumerate(keys)
        )
    return keys


@pytest.mark.postgres
def test_exactly_one_leader_and_failover_on_kill_9(
    pg_engine: Engine, pg_url: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    lease = 3.0
    workers = [start_worker(pg_url, shared_work=[], lease_seconds=lease) for _ in range(3)]
    pids = {w.pid for w in workers}
    wait_for(lambda: lease_holder_pid(pg_engine) in pids, timeout=60, what="a leader")
    # let every follower poll a few times: none of them may lead as well
    wait_for(lambda: all("starting" in w.text() for w in workers), timeout=60, what="all workers up")
    time.sleep(lease)
    assert len(advisory_holders(pg_engine)) == 1
    assert sorted(leader_logs(w) for w in workers) == [0, 0, 1]

    old = lease_holder_pid(pg_engine)
    leader = next(w for w in workers if w.pid == old)
    leader.process.send_signal(signal.SIGKILL)
    leader.process.wait(timeout=10)
    killed_at = time.monotonic()
    survivors = [w for w in workers if w is not leader]
    wait_for(
        lambda: lease_holder_pid(pg_engine) in {w.pid for w in survivors},
        timeout=lease + 2,
        what="a follower to take over within the lease time",
    )
    took = time.monotonic() - killed_at
    print(f"takeover after kill -9: {took:.2f}s (lease {lease}s)")
    assert len(advisory_holders(pg_engine)) == 1
    assert sum(leader_logs(w) for w in survivors) == 1


def test_lease_failover_on_sqlite(tmp_path: Path, start_worker: Callable[..., WorkerProcess]) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    engine = make_engine(url)
    upgrade(engine)
    lease = 2.0
    workers = [start_worker(url, shared_work=[], lease_seconds=lease) for _ in range(2)]
    pids = {w.pid for w in workers}
    wait_for(lambda: lease_holder_pid(engine) in pids, timeout=60, what="a leader")
    wait_for(lambda: all("starting" in w.text() for w in workers), timeout=60, what="workers up")
    time.sleep(lease)
    assert sorted(leader_logs(w) for w in workers) == [0, 1]

    leader = next(w for w in workers if w.pid == lease_holder_pid(engine))
    follower = next(w for w in workers if w is not leader)
    leader.process.send_signal(signal.SIGKILL)
    leader.process.wait(timeout=10)
    # the dead leader's lease has to run out first: at most one lease plus one poll
    wait_for(
        lambda: lease_holder_pid(engine) == follower.pid,
        timeout=lease + lease / 3 + 2,
        what="the follower to take the expired lease",
    )
    assert leader_logs(follower) == 1
    engine.dispose()


@pytest.mark.postgres
def test_kill_9_mid_batch_hands_the_batch_to_another_worker_exactly_once(
    pg_engine: Engine, pg_url: str, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    batch = 10
    keys = add_outbox(pg_engine, 300)
    sink = tmp_path / "out" / "sink.jsonl"
    # the victim writes 4 lines of its first batch, then hangs holding the other 6 rows locked
    victim = start_worker(pg_url, shared_work=[SINK_TASK], batch_size=batch, env_extra={"SINK_STALL_AFTER": "4"})
    wait_for(lambda: len(delivered_keys(sink)) == 4, timeout=60, what="the victim's first lines")
    others = [
        start_worker(
            pg_url,
            shared_work=[SINK_TASK],
            batch_size=batch,
            env_extra={"SINK_DELAY_SECONDS": "0.002"},
        )
        for _ in range(2)
    ]
    # the others skip the locked batch and deliver everything else
    wait_for(
        lambda: outbox_status(pg_engine).get("sent") == len(keys) - batch,
        timeout=90,
        what="all rows but the locked batch",
    )
    assert outbox_status(pg_engine)["pending"] == batch
    assert victim.alive()

    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    wait_for(
        lambda: outbox_status(pg_engine) == {"sent": len(keys)},
        timeout=60,
        what="the released batch to be delivered",
    )
    lines = delivered_keys(sink)
    assert Counter(lines) == Counter(keys), "every row reaches the sink exactly once"
    # the victim's 4 writes were found in the sink by whoever took its batch, not repeated
    # (the count is logged when the step returns, a moment after its commit)
    wait_for(
        lambda: sum(json_counts(w, "already_there") for w in others) == 4,
        timeout=30,
        what="the taker to report the 4 rows it found already delivered",
    )
    writers = Counter(json.loads(line)["pid"] for line in sink.read_text().splitlines())
    assert writers[victim.pid] == 4 and all(writers[w.pid] > 0 for w in others)


@pytest.mark.postgres
def test_sigterm_finishes_the_batch_in_progress(
    pg_engine: Engine, pg_url: str, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    batch = 10
    add_outbox(pg_engine, 200)
    sink = tmp_path / "out" / "sink.jsonl"
    worker = start_worker(
        pg_url,
        shared_work=[SINK_TASK],
        batch_size=batch,
        shutdown_grace_seconds=30,
        env_extra={"SINK_DELAY_SECONDS": "0.05"},
    )
    wait_for(lambda: len(delivered_keys(sink)) >= 3, timeout=60, what="delivery to start")
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=40) == 0
    status = outbox_status(pg_engine)
    written = len(delivered_keys(sink))
    # whole batches only: what was written is exactly what was committed as sent
    assert status.get("sent") == written and written % batch == 0
    assert status.get("pending", 0) == 200 - written > 0
    assert "finishing the current batch" in worker.text()


@pytest.mark.postgres
def test_sigterm_releases_a_batch_that_cannot_finish(
    pg_engine: Engine, pg_url: str, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    keys = add_outbox(pg_engine, 30)
    sink = tmp_path / "out" / "sink.jsonl"
    stuck = start_worker(
        pg_url,
        shared_work=[SINK_TASK],
        batch_size=10,
        shutdown_grace_seconds=0.5,
        env_extra={"SINK_STALL_AFTER": "3"},
    )
    wait_for(lambda: len(delivered_keys(sink)) == 3, timeout=60, what="the stuck batch")
    stuck.process.send_signal(signal.SIGTERM)
    assert stuck.process.wait(timeout=30) == 0
    assert outbox_status(pg_engine) == {"pending": 30}, "the unfinished batch was rolled back"
    assert "its batch is released" in stuck.text()

    start_worker(pg_url, shared_work=[SINK_TASK], batch_size=10)
    wait_for(lambda: outbox_status(pg_engine) == {"sent": 30}, timeout=60, what="the rest delivered")
    assert Counter(delivered_keys(sink)) == Counter(keys)


def add_posts(engine: Engine, n: int) -> None:
    with session_scope(engine) as session:
        session.add_all(
            Post(platform="x", external_id=f"p{i}", source="test", text=f"post {i}", created_at=utcnow())
            for i in range(n)
        )


def scores_per_post(engine: Engine) -> Counter[int]:
    with session_scope(engine) as session:
        rows = session.execute(select(col(Score.post_id), func.count()).group_by(col(Score.post_id)))
        return Counter({int(post_id): int(n) for post_id, n in rows})


@pytest.mark.postgres
def test_kill_9_mid_chunk_hands_the_scoring_chunk_to_another_worker(
    pg_engine: Engine, pg_url: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    """Scoring as shared work: a worker killed while scoring a chunk loses nothing, doubles nothing."""
    posts, chunk = 60, 10
    add_posts(pg_engine, posts)
    victim = start_worker(pg_url, shared_work=[SCORE_TASK], env_extra={"SCORE_STALL": "1", "SCORE_CHUNK": str(chunk)})
    wait_for(lambda: "stalling mid-chunk" in victim.text(), timeout=60, what="the victim to hold a chunk")
    other = start_worker(pg_url, shared_work=[SCORE_TASK], env_extra={"SCORE_CHUNK": str(chunk)})
    # the other worker skips the locked chunk and scores everything else
    wait_for(lambda: len(scores_per_post(pg_engine)) == posts - chunk, timeout=90, what="all but the held chunk")
    time.sleep(1)  # it keeps polling, and still cannot take the held chunk
    assert len(scores_per_post(pg_engine)) == posts - chunk

    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    wait_for(lambda: len(scores_per_post(pg_engine)) == posts, timeout=60, what="the released chunk scored")
    assert set(scores_per_post(pg_engine).values()) == {1}, "each post scored exactly once"
    assert json_counts(other, "scored") == posts
    assert other.alive()
