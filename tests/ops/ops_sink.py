"""A cheap shared step for the worker tests: deliver outbox rows to a local sink file.

Workers load it by name (``ENGAGEBOT_OPS__SHARED_WORK='["ops_sink:deliver"]'``, with this
folder on ``PYTHONPATH``).
It claims batches through ``db.claims.drain`` like the real steps do and makes the file
write exactly-once in effect by checking the sink before writing (the outcome of a write
whose worker died before committing is unknown to the next claimer).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from db.claims import drain
from db.models import Outbox
from db.types import utcnow
from db.vocab import OutboxStatus
from engagebot.config import Settings
from engagement.notify.outbox_transitions import move

DELAY_ENV = "SINK_DELAY_SECONDS"
STALL_ENV = "SINK_STALL_AFTER"  # after writing this many lines, hang mid-batch (to be killed)


def sink_path(settings: Settings) -> Path:
    return settings.output_dir / "sink.jsonl"


def delivered_keys(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["key"] for line in path.read_text().splitlines() if line.strip()]


def deliver(settings: Settings, engine: Engine) -> dict[str, Any]:
    """Deliver every pending outbox row, one line per row, in claimed batches."""
    path = sink_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    delay = float(os.environ.get(DELAY_ENV, "0"))
    stall_after = int(os.environ.get(STALL_ENV, "0"))
    counts = {"delivered": 0, "already_there": 0}

    def handle(session: Session, rows: list[Outbox]) -> None:
        seen = set(delivered_keys(path))
        with path.open("a") as sink:
            for row in rows:
                if row.dedupe_key in seen:
                    counts["already_there"] += 1
                else:
                    time.sleep(delay)
                    sink.write(json.dumps({"key": row.dedupe_key, "pid": os.getpid()}) + "\n")
                    sink.flush()
                    os.fsync(sink.fileno())
                    counts["delivered"] += 1
                    if stall_after and counts["delivered"] >= stall_after:
                        time.sleep(3600)
                move(row, OutboxStatus.SENT, at=utcnow())
                row.attempts += 1
                session.add(row)

    pending = select(Outbox).where(col(Outbox.status) == OutboxStatus.PENDING).order_by(col(Outbox.id))
    drain(engine, pending, handle, batch_size=settings.ops.batch_size)
    return counts
