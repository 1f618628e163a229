"""Waiting for the database at start, and failures kept while it is away (through a TCP proxy)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col
from tcp_proxy import TcpProxy
from typer.testing import CliRunner

from db.engine import DatabaseUnavailable, make_engine, session_scope, wait_for_database
from db.jobs import job_run
from db.models import JobRun
from db.types import utcnow
from engagebot.cli import app
from engagebot.ops.failures import Failure, PendingFailures


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    cut = TcpProxy()
    yield cut
    cut.stop()


@pytest.mark.postgres
def test_wait_logs_each_attempt_and_returns_when_the_database_answers(
    pg_url: str, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(proxy.url(pg_url))
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the database comes back during the third wait
        waits.append(seconds)
        if len(waits) == 3:
            proxy.start()

    with caplog.at_level(logging.WARNING, logger="db.engine"):
        assert wait_for_database(engine, sleep=sleep) == 4
    lines = [r.getMessage() for r in caplog.records if r.name == "db.engine"]
    assert len(lines) == 3 and all("Connection refused" in line for line in lines)
    assert [line.rsplit("next attempt in ", 1)[1] for line in lines] == [f"{w:.1f}s" for w in waits]
    assert 0.8 <= waits[0] <= 1.2 and 1.6 <= waits[1] <= 2.4 and 3.2 <= waits[2] <= 4.8, "doubling, +-20 % jitter"
    engine.dispose()


def test_wait_gives_up_only_when_told(proxy: TcpProxy) -> None:
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{proxy.port}/test")
    with pytest.raises(DatabaseUnavailable, match="did not answer in"):
        wait_for_database(engine, give_up_after=3, sleep=lambda _s: None)


def test_web_waits_then_says_in_one_line_that_it_gave_up(proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{proxy.port}/test")
    monkeypatch.setenv("ENGAGEBOT_OPS__DATABASE_WAIT_SECONDS", "1.5")
    result = CliRunner().invoke(app, ["web", "--port", "8999"])
    assert result.exit_code == 2
    output = " ".join(result.output.split())  # rich wraps at the terminal's width
    assert "(attempt 1, 0s so far)" in output and "next attempt in" in output, "a line per attempt, with the delay"
    assert "error: the database at postgresql+psycopg://postgres@127.0.0.1" in output
    assert re.search(r"did not answer in \ds \(2 attempts\): connection failed", output)
    assert "Traceback" not in output


@pytest.mark.postgres
def test_failures_kept_during_an_outage_are_written_when_it_ends(
    pg_engine: Engine, pg_url: str, proxy: TcpProxy
) -> None:
    proxy.start()
    engine = make_engine(proxy.url(pg_url))
    pending = PendingFailures(capacity=3)
    started = utcnow()
    # a step opened its JobRun, then the database went away before it could record the end
    with pytest.raises(Exception), job_run(engine, "score") as counts:  # noqa: B017 - the driver's error
        counts["scored"] = 5
        proxy.stop()
        raise RuntimeError("model failed")
    outage = [
        Failure("score", None, started, started + timedelta(seconds=1), "OperationalError: connection refused"),
        *(
            Failure("notify", None, started + timedelta(seconds=i), started + timedelta(seconds=i), f"error {i}")
            for i in range(2, 5)
        ),
    ]
    for failure in outage:
        assert not pending.record(engine, failure), "unreachable: kept in memory"
    assert len(pending) == 3, "bounded: the oldest is dropped"
    proxy.start()
    assert pending.flush(engine) == 3 and len(pending) == 0
    with session_scope(pg_engine) as session:
        runs = list(session.scalars(select(JobRun).order_by(col(JobRun.started_at))))
    assert [(r.job, r.status, r.error) for r in runs] == [
        ("score", "running", None),  # its failure was the one dropped: the row stays as it was
        ("notify", "failed", "error 2"),
        ("notify", "failed", "error 3"),
        ("notify", "failed", "error 4"),
    ]
    engine.dispose()


@pytest.mark.postgres
def test_a_running_row_left_by_the_outage_becomes_the_failure(pg_engine: Engine, pg_url: str, proxy: TcpProxy) -> None:
    proxy.start()
    engine = make_engine(proxy.url(pg_url))
    pending = PendingFailures()
    started = utcnow()
    with pytest.raises(Exception), job_run(engine, "triage"):  # noqa: B017 - whatever the driver raises
        proxy.stop()
        raise RuntimeError("lost the database mid-step")
    assert not pending.record(engine, Failure("triage", None, started, utcnow(), "OperationalError: gone"))
    proxy.start()
    assert pending.flush(engine) == 1
    with session_scope(pg_engine) as session:
        [run] = list(session.scalars(select(JobRun)))
    assert (run.status, run.error) == ("failed", "OperationalError: gone") and run.finished_at is not None
    engine.dispose()


def test_another_worker_s_run_of_the_same_step_is_not_taken_for_this_one(sqlite_engine: Engine) -> None:
    """Two workers run the same shared step at once: a failure kept by this worker must be stored
    even when the other worker's failed run of that step started inside its window (the outage
    test stored 7 of 10 kept failures before)."""
    started = utcnow()
    with session_scope(sqlite_engine) as session:
        other = started + timedelta(seconds=1)
        session.add(
            JobRun(job="notify", status="failed", started_at=other, finished_at=other, error="other worker",
                   process="elsewhere:1")
        )  # fmt: skip
    pending = PendingFailures()
    assert pending.record(sqlite_engine, Failure("notify", None, started, started + timedelta(seconds=2), "mine"))
    with session_scope(sqlite_engine) as session:
        errors = sorted(r.error or "" for r in session.scalars(select(JobRun).where(col(JobRun.job) == "notify")))
    assert errors == ["mine", "other worker"]
