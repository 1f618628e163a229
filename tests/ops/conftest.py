"""Fixtures for the ops tests: real ``engagebot run --no-web`` worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ops_procs import WorkerProcess

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ENGAGEBOT = Path(sys.executable).parent / "engagebot"
sys.path.append(str(HERE.parent / "engagement"))  # slack_server: the local Slack-like server


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``engagebot run --no-web`` processes; every one still running is killed at the end."""
    started: list[WorkerProcess] = []

    def start(
        database_url: str,
        *,
        shared_work: list[str],
        env_extra: dict[str, str] | None = None,
        **ops: object,
    ) -> WorkerProcess:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("ENGAGEBOT_") and key != "DATABASE_URL"
        }
        env.update(
            {
                "DATABASE_URL": database_url,
                "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)]),
                "ENGAGEBOT_OUTPUT_DIR": str(tmp_path / "out"),
                "ENGAGEBOT_OPS__SHARED_WORK": json.dumps(shared_work),
                "ENGAGEBOT_OPS__METRICS_PORT": "0",
                "ENGAGEBOT_OPS__IDLE_SECONDS": "0.2",
                "ENGAGEBOT_JSON_LOGS": "1",
                # nothing scheduled runs during these tests unless a test asks for it
                "ENGAGEBOT_OPS__SCHEDULER__FIRST_RUN_DELAY_SECONDS": "3600",
            }
        )
        env.update(env_extra or {})
        for key, value in ops.items():
            env[f"ENGAGEBOT_OPS__{key.upper()}"] = str(value)
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(ENGAGEBOT), "run", "--no-web"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.alive():
            worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(timeout=10)
