"""``engagebot notify --preview``: what notify would send now, planned and rolled back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from db.models import Outbox
from db.types import utcnow
from db.vocab import OutboxChannel
from engagement.notify.alerts import plan_messages
from engagement.settings import EngagementSettings


@dataclass(frozen=True)
class Preview:
    """A message as ``notify --preview`` shows it."""

    state: str  # "queued" (already in the outbox, due) or "new" (this run would add it)
    kind: str
    channel: str
    send_at: datetime
    text: str
    payload: dict[str, Any]


def preview_notifications(engine: Engine, settings: EngagementSettings, now: datetime | None = None) -> list[Preview]:
    """What ``notify`` would send now: the queued messages already due, then the ones this run
    would add. Plans in a transaction that is rolled back: nothing is sent, queued or marked."""
    now = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        try:
            due = session.execute(
                select(Outbox)
                .where(
                    col(Outbox.channel) == OutboxChannel.SLACK,
                    col(Outbox.status) == "pending",
                    col(Outbox.next_attempt_at) <= now,
                )
                .order_by(col(Outbox.next_attempt_at), col(Outbox.id))
            ).scalars()
            shown = [_preview("queued", row) for row in due]
            shown += [_preview("new", row) for row in plan_messages(session, settings, now).added]
        finally:
            session.rollback()
    return shown


def _preview(state: str, row: Outbox) -> Preview:
    payload = dict(row.payload)
    return Preview(
        state=state,
        kind=row.kind,
        channel=str(payload.get("channel", "")),
        send_at=row.next_attempt_at,
        text=str(payload.get("text", "")),
        payload=payload,
    )
