"""The whole topology as local processes: two workers run the full cycle on PostgreSQL.

The demo's CRM and recorded posts are loaded, then two ``engagebot run --no-web`` workers
take over: the leader schedules link/value and triage, both share scoring and Slack delivery
(to the demo's sink file). Done when every post is scored, cases are open and every
notification reached the sink exactly once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from ops_procs import WorkerProcess, wait_for
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Case, JobRun, Outbox, Post, Score
from engagebot.config import get_settings
from engagebot.demo import BRAND_HANDLES, demo_settings, import_crm, import_posts, time_shift

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(600)]


def scalar(engine: Engine, query: object) -> int:
    with session_scope(engine) as session:
        return int(session.execute(query).scalar_one())  # type: ignore[call-overload]


def test_two_workers_run_the_full_cycle(
    pg_engine: Engine,
    pg_url: str,
    tmp_path: Path,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    sink = tmp_path / "out" / "slack.jsonl"
    handles = ", ".join(f"{k} = {json.dumps(v)}" for k, v in BRAND_HANDLES.items())
    (tmp_path / "engagebot.toml").write_text(
        f"[listener]\nbrand_handles = {{ {handles} }}\n\n"
        f'[engagement.slack]\nsink = "{sink}"\n\n'
        "[ops.scheduler]\nfirst_run_delay_seconds = 0\njitter_seconds = 0\n"
        "score_minutes = 0.05\nrefresh_values_minutes = 0.1\ntriage_minutes = 0.05\n"
        "notify_minutes = 0.05\n"
    )
    settings = demo_settings(get_settings(database_url=pg_url, output_dir=tmp_path / "out"))
    shift = time_shift(pg_engine)
    import_crm(settings, pg_engine, shift)
    import_posts(settings, pg_engine, shift)
    posts = scalar(pg_engine, select(func.count()).select_from(Post))
    assert posts > 100

    workers = [
        start_worker(
            pg_url,
            shared_work=["score", "notify"],
            lease_seconds=3,
            env_extra={"ENGAGEBOT_OPS__SCHEDULER__FIRST_RUN_DELAY_SECONDS": "0"},
        )
        for _ in range(2)
    ]
    wait_for(
        lambda: scalar(pg_engine, select(func.count(func.distinct(Score.post_id)))) == posts,
        timeout=400,
        what="every post scored",
        every=1,
    )
    wait_for(
        lambda: scalar(pg_engine, select(func.count()).select_from(Case)) > 0,
        timeout=120,
        what="triage to open cases",
        every=1,
    )
    wait_for(
        lambda: (
            scalar(pg_engine, select(func.count()).select_from(Outbox)) > 0
            and scalar(
                pg_engine,
                select(func.count()).select_from(Outbox).where(col(Outbox.status) == "pending"),
            )
            == 0
        ),
        timeout=120,
        what="notifications delivered",
        every=1,
    )
    with session_scope(pg_engine) as session:
        jobs = set(session.execute(select(col(JobRun.job)).where(col(JobRun.status) == "ok")).scalars())
        sent = session.execute(select(col(Outbox.id)).where(col(Outbox.status) == "sent")).scalars().all()
    assert {"score", "link_and_value", "triage", "notify"} <= jobs
    lines = [json.loads(line) for line in sink.read_text().splitlines() if line.strip()]
    assert lines, "the sink got the notifications"
    assert Counter(line["outbox_id"] for line in lines) == Counter(sent), "each one exactly once"
    assert sum(w.text().count("is the scheduler leader now") for w in workers) == 1
    assert all(w.alive() for w in workers)
