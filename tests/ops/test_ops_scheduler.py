"""The job queue: what it schedules, how (UTC, one instance, coalesced), and failures stored."""

from __future__ import annotations

import logging
import time

import ops_steps
import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from ops_procs import wait_for
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import JobRun
from engagebot.config import Settings, get_settings
from engagebot.ops.scheduler import JobQueue, counts_of, did_work, resolve_step

pytestmark = pytest.mark.timeout(60)


def settings_with_sources() -> Settings:
    return get_settings(
        listener={
            "sources": [
                {"name": "x-brand", "platform": "x", "query": "acme", "interval_minutes": 5},
                {
                    "name": "reddit-sub",
                    "platform": "reddit",
                    "query": "acme",
                    "interval_minutes": 30,
                },
                {"name": "old-feed", "platform": "appstore", "app_id": "1", "enabled": False},
            ]
        },
        ops={"scheduler": {"misfire_grace_seconds": 120, "jitter_seconds": 7}},
    )


def runs(engine: Engine) -> list[JobRun]:
    with session_scope(engine) as session:
        return list(session.scalars(select(JobRun).order_by(col(JobRun.id))).all())


def test_schedule_has_a_job_per_source_and_step(sqlite_engine: Engine) -> None:
    queue = JobQueue(settings_with_sources(), sqlite_engine)
    ids = queue.schedule_cycle()
    assert sorted(ids) == sorted(
        [
            "collect:x-brand",
            "collect:reddit-sub",
            "score",
            "refresh_values",
            "triage",
            "notify",
            "weekly_report",
        ]
    )
    assert str(queue.scheduler.timezone) == "UTC"
    queue.start(paused=True)  # job defaults are applied when the scheduler starts
    jobs = queue.scheduler.get_jobs()
    queue.shutdown()
    for job in jobs:
        # 2: the second instance only notes a missed turn (run_scheduled), never runs the step
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (2, True, 120)
        assert job.executor == {"notify": "notify", "weekly_report": "report"}.get(job.id, "intake"), "its lane"
        assert str(job.trigger.timezone) == "UTC"
        assert job.trigger.jitter == 7
        assert all(isinstance(arg, str | None) for arg in job.args), "jobs take names, not objects"
    by_id = {job.id: job for job in jobs}
    collect = by_id["collect:x-brand"]
    assert isinstance(collect.trigger, IntervalTrigger)
    assert collect.trigger.interval.total_seconds() == 300
    assert collect.args == ("collect", "x-brand")
    assert isinstance(by_id["weekly_report"].trigger, CronTrigger)


def test_shared_steps_are_left_to_the_work_loop(sqlite_engine: Engine) -> None:
    queue = JobQueue(settings_with_sources(), sqlite_engine)
    ids = queue.schedule_cycle(skip=["score", "notify"])
    assert "score" not in ids and "notify" not in ids and "triage" in ids


def test_scoring_and_delivery_are_shared_by_default(sqlite_engine: Engine) -> None:
    """Every worker scores (claimed chunks); the leader's schedule leaves score and notify out."""
    from engagebot.ops.worker import Worker

    settings = settings_with_sources()
    assert sorted(settings.ops.shared_work) == ["notify", "score"]
    worker = Worker(settings, sqlite_engine)
    scheduled = {job.id for job in worker.queue.scheduler.get_jobs()}
    assert scheduled == {"collect:x-brand", "collect:reddit-sub", "refresh_values", "triage", "weekly_report"}
    assert sorted(step.step for step in worker.shared.steps) == ["notify", "score"]
    # an idle worker asks for scoring work at most once per score interval
    assert {s.step: s.max_wait for s in worker.shared.steps}["score"] == settings.ops.scheduler.score_minutes * 60


def test_a_failing_job_is_logged_and_stored_not_raised(sqlite_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    queue = JobQueue(get_settings(), sqlite_engine)
    with caplog.at_level(logging.ERROR, logger="engagebot.ops.scheduler"):
        outcome = queue.run_job("ops_steps:boom")
    assert not outcome.ok and outcome.error == "RuntimeError: source unreachable"
    [run] = runs(sqlite_engine)
    assert (run.job, run.status, run.error) == (
        "ops_steps:boom",
        "failed",
        "RuntimeError: source unreachable",
    )
    [record] = caplog.records
    assert record.exc_info is not None and record.step == "ops_steps:boom"


def test_a_step_that_recorded_its_failure_is_not_stored_twice(sqlite_engine: Engine) -> None:
    outcome = JobQueue(get_settings(), sqlite_engine).run_job("ops_steps:boom_recorded")
    assert not outcome.ok
    assert [(r.job, r.status) for r in runs(sqlite_engine)] == [("ops_steps:boom_recorded", "failed")]


def test_unknown_step_is_a_stored_failure(sqlite_engine: Engine) -> None:
    outcome = JobQueue(get_settings(), sqlite_engine).run_job("no_such_step")
    assert not outcome.ok and "unknown step 'no_such_step'" in (outcome.error or "")
    with pytest.raises(LookupError):
        resolve_step("no_such_step")


def test_scheduler_runs_jobs_only_while_leading(sqlite_engine: Engine) -> None:
    queue = JobQueue(get_settings(ops={"scheduler": {"first_run_delay_seconds": 0}}), sqlite_engine)
    queue.run_repeating("ops_steps:tick", minutes=0.1 / 60)
    ops_steps.ticks.clear()
    queue.start(paused=True)
    try:
        time.sleep(0.5)
        assert ops_steps.ticks == [], "a follower's scheduler stays paused"
        queue.resume()
        wait_for(lambda: len(ops_steps.ticks) >= 3, timeout=20, what="three ticks")
    finally:
        queue.shutdown()
        assert queue.wait_idle(10)


def test_a_slow_job_never_overlaps_itself(sqlite_engine: Engine) -> None:
    queue = JobQueue(get_settings(ops={"scheduler": {"first_run_delay_seconds": 0}}), sqlite_engine)
    queue.run_repeating("ops_steps:slow", minutes=0.05 / 60)
    ops_steps.ticks.clear()
    queue.start(paused=False)
    try:
        wait_for(lambda: len(ops_steps.ticks) >= 3, timeout=20, what="three slow runs")
    finally:
        queue.shutdown()
        assert queue.wait_idle(10)
    assert ops_steps.most_at_once == 1


def test_counts_and_work_detection() -> None:
    assert counts_of(None) == {}
    assert counts_of({"scored": 3}) == {"scored": 3}
    assert did_work({"x": {"added": 2, "error": None}})
    assert not did_work({"x": {"added": 0}, "model_id": "m", "flag": True})


def test_notify_without_slack_is_not_called_back_to_back(sqlite_engine: Engine) -> None:
    """Pending messages and no Slack transport: notify leaves them pending (``unconfigured``),
    which is no work done, so a worker waits before calling it again instead of looping (it ran
    ~60 times a second, a job run row each time, on a fresh `engagebot run` without Slack)."""
    import threading

    from db.models import Outbox
    from engagebot.ops.workqueue import SharedWork

    with session_scope(sqlite_engine, write=True) as session:
        session.add(
            Outbox(
                channel="slack", kind="new_case", dedupe_key="new_case:1", payload={"channel": "#care", "text": "hi"}
            )
        )
    settings = get_settings()
    assert not settings.engagement.slack.sink and not settings.engagement.slack.bot_token
    shared = SharedWork(JobQueue(settings, sqlite_engine), ["notify"], stop=threading.Event(), idle_seconds=30.0)

    [lane] = shared.steps
    assert shared.run_once(lane) is False
    assert lane.due - time.monotonic() > 20, "no work done: the lane backs off before the next call"
    notify_runs = [r for r in runs(sqlite_engine) if r.job == "notify"]
    assert len(notify_runs) == 1
    assert notify_runs[0].counts["delivered"]["unconfigured"] == 1
    assert did_work({"delivered": {"unconfigured": 1, "sent": 1}})
