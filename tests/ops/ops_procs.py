"""Helpers of the ops tests: worker processes and polling with a deadline."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Outbox


@dataclass
class WorkerProcess:
    """One worker process and its log file."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None


def wait_for(check: Callable[[], object], *, timeout: float, what: str, every: float = 0.1) -> object:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def outbox_status(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.execute(select(col(Outbox.status), func.count()).group_by(col(Outbox.status)))
        return {str(status): int(n) for status, n in rows}


def json_counts(worker: WorkerProcess, key: str, *, logger: str | None = None) -> int:
    """Sum a count a shared step reported in the worker's JSON log lines (of ``logger`` only)."""
    total = 0
    for line in worker.text().splitlines():
        if line.startswith("{"):
            record: dict[str, Any] = json.loads(line)
            if logger is None or record.get("logger") == logger:
                total += int(record.get("counts", {}).get(key, 0))
    return total
