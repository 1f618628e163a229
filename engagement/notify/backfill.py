"""Backfill mode: history imported with ``import-posts --backfill`` is never announced in Slack.

The import records, per source, the moment it ran; a post of that source written before then
is history. Triage still opens cases for the history inside its window (they belong in the
queue), but notify marks them notified without a message, and neither breach alerts nor spike
counts look at them. ``slack.backfill = true`` silences everything while it is set.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from db.engine import session_scope
from db.models import SourceCursor
from db.types import utcnow

BACKFILL_CURSOR = "notify:backfill"


def record_backfill(engine: Engine, *, source: str, until: datetime | None = None) -> datetime:
    """Mark the posts of ``source`` written before ``until`` (default: now) as history."""
    until = until or utcnow()
    with session_scope(engine, write=True) as session:
        row = session.get(SourceCursor, BACKFILL_CURSOR)
        if row is None:
            row = SourceCursor(source=BACKFILL_CURSOR, position={})
        marks = dict(row.position.get("sources", {}))
        held = marks.get(source)
        if held is None or datetime.fromisoformat(held) < until:
            marks[source] = until.isoformat()
        row.position = {"sources": marks}
        row.updated_at = utcnow()
        session.add(row)
    return until


def backfill_marks(session: Session) -> dict[str, datetime]:
    """Source -> the moment before which its posts are history."""
    row = session.get(SourceCursor, BACKFILL_CURSOR)
    if row is None:
        return {}
    return {source: datetime.fromisoformat(when) for source, when in row.position.get("sources", {}).items()}


def is_history(source: str, created_at: datetime, marks: dict[str, datetime]) -> bool:
    """A post imported as history (its source was backfilled after it was written)."""
    until = marks.get(source)
    return until is not None and created_at <= until
