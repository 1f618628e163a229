"""Faults in one process (issue 28): one record per failure, no silent skips, quiet outages,
killed runs and a killed leader found at once, lanes' backlogs in ``status``."""

from __future__ import annotations

import logging
import socket
import subprocess
import threading
import time
from datetime import timedelta

import ops_steps
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import col

from db.engine import session_scope
from db.job_transitions import InvalidJobTransition, finish
from db.jobs import process_gone
from db.models import JobRun, Outbox, Post, SchedulerLease
from db.types import utcnow
from db.vocab import JobStatus, OutboxStatus
from engagebot.config import get_settings
from engagebot.ops.failures import Failure, PendingFailures
from engagebot.ops.logrepeats import RepeatedErrors, settle_repeats
from engagebot.ops.outages import Outage, database_unreachable
from engagebot.ops.scheduler import JobQueue
from engagebot.opsdata import status_report
from engagement.notify.outbox_transitions import InvalidOutboxTransition, move

pytestmark = pytest.mark.timeout(60)


def job_runs(engine: Engine) -> list[JobRun]:
    with session_scope(engine) as session:
        return list(session.scalars(select(JobRun).order_by(col(JobRun.id))))


def refused() -> OperationalError:
    """What psycopg raises while the database is cut."""
    return OperationalError("select 1", {}, Exception('connection failed: connection to server at "127.0.0.1" refused'))


# --- one record per failure ---------------------------------------------------------------


@pytest.mark.postgres
def test_failures_flushed_by_many_threads_at_once_are_written_once(
    pg_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Eight threads flush the same five kept failures together: five rows, one "stored" line.
    (Each flush copied the queue under its lock and wrote outside it: one worker stored 2
    outage failures as 7 rows and logged "stored" four times.)"""
    pending = PendingFailures()
    start = utcnow()
    for i in range(5):
        pending.keep(
            Failure("score", None, start + timedelta(seconds=i), start + timedelta(seconds=i), "OperationalError")
        )
    gate = threading.Barrier(8)
    written: list[int] = []

    def flush() -> None:
        gate.wait()
        written.append(pending.flush(pg_engine))

    with caplog.at_level(logging.INFO, logger="engagebot.ops.failures"):
        threads = [threading.Thread(target=flush) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert sorted(written) == [0] * 7 + [5]
    assert [(r.job, r.status) for r in job_runs(pg_engine)] == [("score", "failed")] * 5
    assert len(pending) == 0 and pending.flush(pg_engine) == 0
    assert sum("stored 5 job failure(s)" in r.getMessage() for r in caplog.records) == 1


# --- no silent skips ----------------------------------------------------------------------


def test_a_turn_missed_while_the_step_runs_is_said_once_and_run_after(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    queue = JobQueue(get_settings(), sqlite_engine)
    queue.start(paused=False)  # leading: missed turns are run
    ops_steps.ticks.clear()
    try:
        first = threading.Thread(target=queue.run_scheduled, args=("ops_steps:slow",))
        with caplog.at_level(logging.INFO, logger="engagebot.ops.scheduler"):
            first.start()
            time.sleep(0.1)  # the slow step (0.4 s) is under way
            queue.run_scheduled("ops_steps:slow")  # its next turn: returns at once
            queue.run_scheduled("ops_steps:slow")  # and the one after: coalesced, not said again
            assert len(ops_steps.ticks) == 0
            first.join(10)
    finally:
        queue.shutdown()
    assert len(ops_steps.ticks) == 2, "the missed turn ran once the first run ended"
    said = [r.getMessage() for r in caplog.records if "still running at its next turn" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("ops_steps:slow is still running")
    assert ops_steps.most_at_once == 1


def test_a_missed_turn_is_not_run_after_the_lead_is_lost(sqlite_engine: Engine) -> None:
    queue = JobQueue(get_settings(), sqlite_engine)
    queue.start(paused=False)
    ops_steps.ticks.clear()
    try:
        first = threading.Thread(target=queue.run_scheduled, args=("ops_steps:slow",))
        first.start()
        time.sleep(0.1)
        queue.run_scheduled("ops_steps:slow")
        queue.pause()  # another worker leads now: it runs the schedule
        first.join(10)
    finally:
        queue.shutdown()
    assert len(ops_steps.ticks) == 1


# --- quiet, truthful outages --------------------------------------------------------------


def test_unreachable_is_told_from_an_error_of_the_run() -> None:
    assert database_unreachable(refused())
    wrapped = RuntimeError("step failed")
    wrapped.__cause__ = refused()
    assert database_unreachable(wrapped)
    assert not database_unreachable(OperationalError("insert", {}, Exception("database is locked")))
    assert not database_unreachable(IntegrityError("insert", {}, Exception("duplicate key value")))
    assert not database_unreachable(RuntimeError("connection to Slack refused"))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_is_one_line_at_start_a_count_per_step_per_minute_and_one_at_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, ended = Clock(), []
    outage = Outage("database", clock=clock, on_end=lambda: ended.append(True))
    with caplog.at_level(logging.INFO, logger="engagebot.ops.outages"):
        for second in range(150):  # 2.5 minutes: two steps fail every second, the election too
            clock.now = float(second)
            for step in ("score", "notify", "leader election"):
                outage.failed(step, "OperationalError: connection refused\nSQL: select 1")
        clock.now = 151.0
        assert outage.ended(kept="450 failed run(s) in memory, stored now")
        assert not outage.ended(), "one end line"
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("database unreachable (OperationalError: connection refused)")
    # a count per step per minute: minutes 1 and 2, for each of the three steps
    counts = [line.split(": ", 1)[1].split(" (")[0] for line in lines if "still unreachable" in line]
    assert counts == [
        "score failed 60 more times",  # its first failure was told by the start line
        "notify failed 61 more times",
        "leader election failed 61 more times",
        "score failed 60 more times",
        "notify failed 60 more times",
        "leader election failed 60 more times",
    ]
    assert lines[-1] == (
        "database reachable again after 151s: 450 failed run(s) (leader election 150, notify 150, score 150); "
        "kept for later: 450 failed run(s) in memory, stored now"
    )
    assert len(lines) == 8 and ended == [True]


def test_repeat_counts_are_written_when_the_outage_ends_not_at_exit() -> None:
    lines: list[str] = []

    class Captured(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    clock = Clock()
    handler = Captured()
    handler.addFilter(RepeatedErrors(handler, clock=clock))
    logger = logging.getLogger("test.faults.repeats")
    logger.handlers[:] = [handler]
    logger.propagate = False
    for i in range(5):
        clock.now = float(i)
        logger.warning("metrics: database unreachable")
    assert lines == ["metrics: database unreachable"]
    settle_repeats()  # what engagebot.ops.outages calls when the database answers again
    assert lines[1] == "metrics: database unreachable [repeated 4 more times; 5 in 4s, then it stopped]"


def test_repeat_counts_are_swept_when_the_repeats_stop() -> None:
    """No later line is needed: the sweeper writes the count ``quiet`` seconds after the last."""
    lines: list[str] = []

    class Captured(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    clock = Clock()
    handler = Captured()
    repeats = RepeatedErrors(handler, quiet=30, clock=clock)
    handler.addFilter(repeats)
    logger = logging.getLogger("test.faults.sweep")
    logger.handlers[:] = [handler]
    logger.propagate = False
    for i in range(3):
        clock.now = float(i)
        logger.warning("slack: rate limited")
    clock.now = 20.0
    repeats.sweep()
    assert len(lines) == 1, "still within the quiet time: it may go on"
    clock.now = 33.0
    repeats.sweep()
    assert lines[1].endswith("[repeated 2 more times; 3 in 2s, then it stopped]")


def test_job_failures_in_an_outage_log_one_traceback_and_are_stored_once_when_it_ends(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}

    def cut(settings: object, engine: Engine) -> None:
        calls["n"] += 1
        raise refused()

    monkeypatch.setattr(ops_steps, "cut", cut, raising=False)
    queue = JobQueue(get_settings(), sqlite_engine)
    with caplog.at_level(logging.DEBUG):
        for _ in range(4):
            assert not queue.run_job("ops_steps:cut").ok
        assert job_runs(sqlite_engine) == [], "kept in memory while the outage lasts"
        assert queue.run_job("ops_steps:tick").ok  # the database answers again
    shown = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelname for r in shown] == ["ERROR", "WARNING", "WARNING"]
    assert shown[0].exc_info is not None, "the first traceback in full"
    assert shown[1].getMessage().startswith("database unreachable (OperationalError")
    assert shown[2].getMessage().startswith("database reachable again after")
    assert "4 failed run(s) (ops_steps:cut 4)" in shown[2].getMessage()
    later = [r for r in caplog.records if r.levelno == logging.DEBUG and r.name == "engagebot.ops.scheduler"]
    assert len(later) == 3 and all(r.exc_info for r in later), "later tracebacks at DEBUG"
    assert [(r.job, r.status) for r in job_runs(sqlite_engine)] == [("ops_steps:cut", "failed")] * 4


def test_a_slack_outage_is_told_from_the_delivery_counts(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([{"sent": 0, "retry": 3, "failed": 0}] * 3 + [{"sent": 0, "retry": 0, "failed": 0}, {"sent": 2}])
    monkeypatch.setattr(ops_steps, "deliver", lambda settings, engine: next(answers), raising=False)
    queue = JobQueue(get_settings(), sqlite_engine)
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            assert queue.run_job("ops_steps:deliver").ok
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert lines[0] == (
        "Slack unreachable (3 message(s) not accepted, retried with back-off): messages stay pending and are "
        "retried; one line per step per minute until it is back"
    )
    assert lines[1].startswith("Slack reachable again after") and "3 failed run(s) (ops_steps:deliver 3)" in lines[1]
    assert lines[2].startswith("ops_steps:deliver done in")  # the run that sent: news again
    assert len(lines) == 3, "runs during the outage are counted by it, not logged one by one"


# --- state machines -------------------------------------------------------------------------


def test_job_runs_move_only_as_the_table_says() -> None:
    now = utcnow()
    run = JobRun(job="triage", status=JobStatus.RUNNING, started_at=now)
    finish(run, JobStatus.DIED, at=now, error="its process is gone")
    finish(run, JobStatus.OK, at=now, counts={"opened": 1})  # wrongly declared dead: its end wins
    assert (run.status, run.error, run.counts) == ("ok", None, {"opened": 1})
    with pytest.raises(InvalidJobTransition):
        finish(run, JobStatus.FAILED, at=now, error="a kept failure")


def test_a_sent_message_never_goes_back() -> None:
    now = utcnow()
    row = Outbox(channel="slack", kind="new_case", dedupe_key="k", status=OutboxStatus.PENDING, attempt_started_at=now)
    move(row, OutboxStatus.SENT, at=now)
    assert (row.status, row.sent_at, row.attempt_started_at) == ("sent", now, None)
    for to in (OutboxStatus.PENDING, OutboxStatus.FAILED):
        with pytest.raises(InvalidOutboxTransition):
            move(row, to, at=now)


# --- killed runs and a killed leader, found at once ----------------------------------------


def zombie() -> subprocess.Popen[bytes]:
    """A child that has exited but is not reaped yet: what ``kill -9`` leaves until its parent waits."""
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child.pid}/stat") as stat:
                if stat.read().rpartition(")")[2].split()[0] == "Z":
                    return child
        except FileNotFoundError:
            break
        time.sleep(0.02)
    pytest.fail("the child did not become a zombie")


def test_a_killed_run_is_died_on_the_first_status(sqlite_engine: Engine) -> None:
    child = zombie()
    process = f"{socket.gethostname()[:100]}:{child.pid}"
    try:
        assert process_gone(process), "an unreaped killed process is gone"
        with session_scope(sqlite_engine) as session:
            session.add(JobRun(job="triage", status="running", process=process))
        [job] = status_report(sqlite_engine)["jobs"]
        assert job["status"] == "died" and "its process is gone" in job["error"]
    finally:
        child.wait()


def test_status_names_no_leader_whose_lease_ran_out(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        session.add(SchedulerLease(name="scheduler", holder="gone:1:abc", expires_at=utcnow() - timedelta(seconds=5)))
    assert status_report(sqlite_engine)["leader"] == []
    with session_scope(sqlite_engine) as session:
        row = session.get(SchedulerLease, "scheduler")
        assert row is not None
        row.holder, row.expires_at = "alive:2:def", utcnow() + timedelta(seconds=15)
    assert [x["holder"] for x in status_report(sqlite_engine)["leader"]] == ["alive:2:def"]


def test_status_shows_each_lane_s_backlog_and_age(sqlite_engine: Engine) -> None:
    now = utcnow()
    with session_scope(sqlite_engine) as session:
        session.add_all(
            Post(
                platform="x",
                external_id=str(i),
                source="x",
                text="t",
                created_at=now,
                collected_at=now - timedelta(minutes=i),
            )
            for i in range(3)
        )
        session.add(Outbox(channel="slack", kind="new_case", dedupe_key="k", created_at=now - timedelta(seconds=90)))
    lanes = {lane["lane"]: lane for lane in status_report(sqlite_engine, now=now)["lanes"]}
    assert (lanes["intake"]["waiting"], lanes["intake"]["oldest_seconds"]) == (3, 120.0)
    assert (lanes["notify"]["waiting"], lanes["notify"]["oldest_seconds"]) == (1, 90.0)


class Elected:
    """An election this process always wins."""

    holder = "test:1:abc"

    def poll(self) -> bool:
        return True

    def release(self) -> None:
        pass


def test_a_new_leader_marks_the_old_leader_s_killed_run_died_before_its_first_job(sqlite_engine: Engine) -> None:
    from engagebot.ops.worker import Worker

    child = zombie()
    try:
        with session_scope(sqlite_engine) as session:
            session.add(JobRun(job="triage", status="running", process=f"{socket.gethostname()[:100]}:{child.pid}"))
        worker = Worker(get_settings(), sqlite_engine, election=Elected())
        worker.queue.start(paused=True)
        try:
            worker.poll_leadership()
        finally:
            worker.queue.shutdown()
        assert worker.leading
        assert [(r.job, r.status) for r in job_runs(sqlite_engine)] == [("triage", "died")]
    finally:
        child.wait()
