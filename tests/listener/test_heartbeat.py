"""A run killed with SIGKILL keeps no ``running`` row: its heartbeat stops, and the next run or
``engagebot status`` marks it ``died`` (with when and which process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from crash_worker import PAGES, page
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

import db.jobs
from db.engine import is_sqlite
from db.models import JobRun, Post
from db.types import utcnow
from engagebot.opsdata import status_report
from listener.importer import import_files

WORKER = Path(__file__).with_name("crash_worker.py")
REPO = Path(__file__).resolve().parents[2]


def _runs(engine: Engine) -> list[JobRun]:
    with Session(engine) as session:
        return list(session.exec(select(JobRun).order_by(col(JobRun.id))).all())


def _killed_import(engine: Engine, tmp_path: Path) -> tuple[JobRun, int]:
    """An import killed with SIGKILL once it stored some posts (and, on PostgreSQL, once its
    heartbeat has beaten at least twice); its row and pid."""
    big = tmp_path / "pages.jsonl"
    big.write_text("\n".join(json.dumps(page(n)) for n in range(PAGES)) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRASH_HEARTBEAT_SECONDS": "0.2", "CRASH_IMPORT_PAUSE_SECONDS": "0.3"}
    url = engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, str(WORKER), "import", url, str(big)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    beats = not is_sqlite(engine)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"worker ended before it was killed: {process.communicate()}"
            runs = _runs(engine)
            if runs and _posts(engine) >= 200:
                run = runs[-1]
                if not beats or (run.heartbeat_at and (run.heartbeat_at - run.started_at).total_seconds() > 0.35):
                    break
            time.sleep(0.05)
        else:
            raise AssertionError("the import made no progress (or no heartbeat)")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    [run] = _runs(engine)
    assert run.status == "running" and run.finished_at is None, (run.status, run.error)
    assert run.process is not None and run.process.endswith(f":{process.pid}")
    return run, process.pid


def _posts(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Post.id)).all())


def test_status_marks_a_killed_run_died_at_once(engine: Engine, tmp_path: Path) -> None:
    """Same host: the process is gone, so the run died, whatever its heartbeat says."""
    _run, pid = _killed_import(engine, tmp_path)
    report = status_report(engine)
    [job] = report["jobs"]
    assert job["status"] == "died" and "its process is gone" in job["error"] and f":{pid})" in job["error"]
    [row] = _runs(engine)
    assert row.status == "died" and row.finished_at is not None  # stored, not only shown


@pytest.mark.postgres
def test_a_stopped_heartbeat_marks_a_run_of_another_machine_died(pg_engine: Engine, tmp_path: Path) -> None:
    """Another host: the process cannot be checked, the heartbeat decides."""
    run, _pid = _killed_import(pg_engine, tmp_path)
    with Session(pg_engine) as session:
        row = session.get(JobRun, run.id)
        assert row is not None
        row.process = "worker-on-another-machine:4242"
        session.add(row)
        session.commit()
    assert [j["status"] for j in status_report(pg_engine)["jobs"]] == ["running"]  # beat seconds ago
    later = status_report(pg_engine, now=utcnow() + timedelta(seconds=db.jobs.DEAD_AFTER_SECONDS + 1))
    [job] = later["jobs"]
    assert job["status"] == "died" and job["finished_at"] == run.heartbeat_at
    assert job["error"].startswith("no heartbeat since") and "worker-on-another-machine:4242" in job["error"]


def test_the_next_run_marks_it_died_and_runs(sqlite_engine: Engine, tmp_path: Path) -> None:
    run, _pid = _killed_import(sqlite_engine, tmp_path)
    rerun = import_files(sqlite_engine, platform="x", paths=[tmp_path / "pages.jsonl"])
    assert rerun.files == 1
    first, second = _runs(sqlite_engine)
    assert (first.id, first.status) == (run.id, "died") and second.status == "ok"
    assert second.process == db.jobs.this_process()


def test_cli_status_shows_died(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engagebot.cli import app

    _killed_import(sqlite_engine, tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    [job] = json.loads(result.stdout)["jobs"]
    assert job["job"] == "import" and job["status"] == "died"


@pytest.mark.postgres
def test_a_live_run_takes_running_back(pg_engine: Engine) -> None:
    """A run declared dead while it still beats (its database stalled) takes running back."""
    with db.jobs.job_run(pg_engine, "slow", heartbeat_seconds=0.1):
        with Session(pg_engine) as session:
            row = session.exec(select(JobRun)).one()
            row.process = "another-machine:1"
            session.add(row)
            session.commit()
            assert db.jobs.mark_dead_runs(session, now=utcnow() + timedelta(hours=1)) == 1
            session.commit()
        time.sleep(0.5)
        [row] = _runs(pg_engine)
        assert row.status == "running" and row.error is None
    [row] = _runs(pg_engine)
    assert row.status == "ok"


def test_a_live_run_on_this_host_is_never_declared_dead(sqlite_engine: Engine) -> None:
    with db.jobs.job_run(sqlite_engine, "slow"), Session(sqlite_engine) as session:
        assert db.jobs.mark_dead_runs(session, now=utcnow() + timedelta(days=1)) == 0
    [row] = _runs(sqlite_engine)
    assert row.status == "ok"
