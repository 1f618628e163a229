"""In-app notices: what a person should see on their next page, such as a note's @mention.

Why in the outbox: a notice is one more notification with its own channel (``app``), so it
enters through the same front door (``notify.enqueue``: one dedupe rule) and needs no table of
its own. The Slack sender claims only ``slack`` rows, so a notice waits for its person; it is
``sent`` (through the outbox state machine) when the web app has shown it to them. Everyone a
note mentions gets one, including people without a Slack id, who get no DM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Select, select
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import Outbox
from db.types import utcnow
from db.vocab import OutboxChannel, OutboxStatus
from engagement.notify.outbox import enqueue
from engagement.notify.outbox_transitions import move
from engagement.settings import SlackSettings

MAX_SHOWN = 20


@dataclass(frozen=True)
class Notice:
    """One notice as a page shows it."""

    text: str
    case_id: int | None
    at: datetime


def _prefix(user_id: int) -> str:
    return f"app:{user_id}:"


def notify_in_app(
    session: Session,
    *,
    user_id: int,
    key: str,
    text: str,
    now: datetime,
    slack: SlackSettings,
    kind: str = "mention",
    case_id: int | None = None,
) -> Outbox | None:
    """Queue a notice for user ``user_id`` in the caller's transaction; None when ``key`` was
    queued for them before (a retried command tells nobody twice)."""
    return enqueue(session, kind=kind, key=_prefix(user_id) + key, payload={"user_id": user_id, "text": text},
                   now=now, slack=slack, case_id=case_id, urgent=True, channel=OutboxChannel.APP)  # fmt: skip


def _unseen(user_id: int) -> Select[Outbox]:
    return (
        select(Outbox)
        .where(
            col(Outbox.channel) == OutboxChannel.APP,
            col(Outbox.status) == OutboxStatus.PENDING,
            col(Outbox.dedupe_key).startswith(_prefix(user_id)),
        )
        .order_by(col(Outbox.id))
        .limit(MAX_SHOWN)
    )


def take_unseen(engine: Engine, user_id: int | None, now: datetime | None = None) -> list[Notice]:
    """The person's unseen notices, oldest first, marked seen as they are handed to the page.

    Reads first and writes only when there is something to show, so an ordinary page view
    opens no write transaction. A notice another request is showing at the same moment is
    skipped (locked), never shown twice.
    """
    if user_id is None:
        return []
    with session_scope(engine) as session:
        if not session.execute(_unseen(user_id)).first():
            return []
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        rows = list(session.execute(_unseen(user_id).with_for_update(skip_locked=True)).scalars())
        shown = [Notice(str(r.payload.get("text", "")), r.case_id, r.created_at) for r in rows]
        for row in rows:
            session.add(move(row, OutboxStatus.SENT, at=now))
    return shown
