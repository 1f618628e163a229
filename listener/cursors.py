"""Source cursors and the X monthly read budget, both stored in ``SourceCursor`` rows.

They are written in the same transaction as the posts they cover, so after a crash the
cursor never points past what was stored (and a rerun only re-reads, never skips).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from db.models import SourceCursor
from db.types import utcnow

X_BUDGET_KEY = "__budget__:x"


def load_position(session: Session, source: str) -> dict[str, Any]:
    row = session.get(SourceCursor, source)
    return dict(row.position) if row is not None else {}


def save_position(session: Session, source: str, position: dict[str, Any]) -> None:
    row = session.get(SourceCursor, source)
    if row is None:
        session.add(SourceCursor(source=source, position=dict(position), updated_at=utcnow()))
    else:
        row.position = dict(position)
        row.updated_at = utcnow()
        session.add(row)
    session.flush()


def _month(now: datetime) -> str:
    return now.strftime("%Y-%m")


def reads_this_month(session: Session, *, now: datetime | None = None) -> int:
    """X posts read so far this calendar month (UTC), across all X sources."""
    position = load_position(session, X_BUDGET_KEY)
    if position.get("month") != _month(now or utcnow()):
        return 0
    return int(position.get("reads", 0))


def add_reads(session: Session, reads: int, *, now: datetime | None = None) -> int:
    """Count ``reads`` against the month's budget (in the caller's transaction)."""
    month = _month(now or utcnow())
    row = session.get(SourceCursor, X_BUDGET_KEY, with_for_update=True)  # serialise concurrent X sources
    position = dict(row.position) if row is not None else {}
    total = (int(position.get("reads", 0)) if position.get("month") == month else 0) + reads
    save_position(session, X_BUDGET_KEY, {"month": month, "reads": total})
    return total
