"""Small steps for the scheduler tests, loaded by name like pipeline steps ("ops_steps:tick")."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Engine

from db.jobs import job_run
from engagebot.config import Settings

ticks: list[float] = []
running = 0
most_at_once = 0
_lock = threading.Lock()


def tick(settings: Settings, engine: Engine) -> dict[str, Any]:
    ticks.append(time.monotonic())
    return {"ticks": len(ticks)}


def slow(settings: Settings, engine: Engine) -> dict[str, Any]:
    """Runs longer than its interval: the scheduler must never start a second copy."""
    global running, most_at_once
    with _lock:
        running += 1
        most_at_once = max(most_at_once, running)
    time.sleep(0.4)
    with _lock:
        running -= 1
    ticks.append(time.monotonic())
    return {"slept": 0.4}


def boom(settings: Settings, engine: Engine) -> None:
    raise RuntimeError("source unreachable")


def boom_recorded(settings: Settings, engine: Engine) -> None:
    """Fails inside its own JobRun, as the pipeline steps do."""
    with job_run(engine, "ops_steps:boom_recorded"):
        raise RuntimeError("model failed to load")


def hang(settings: Settings, engine: Engine) -> None:
    """Runs inside its own JobRun until its worker is killed."""
    with job_run(engine, "ops_steps:hang"):
        print("hanging inside a job run", flush=True)
        time.sleep(3600)
