"""The outbox's one front door: every message engagebot will send enters through ``enqueue``.

Why one door: new-case alerts, digests, SLA breaches, spikes, Slack button answers, @mentions
and the weekly summary used to be written by four modules, each with its own dedupe and timing
(mentions ignored quiet hours, the report had its own upsert). Here there is one rule of each:

- **dedupe**: one message per ``key`` for ever (the unique index backs the check), so a re-run
  or a second worker never queues a message twice; ``refresh=True`` lets a still-pending
  message take the newer payload (a report re-run with fresher figures) and never touches
  one already sent;
- **timing**: a message to a channel waits for the end of that channel's quiet hours
  (``engagement.notify.attention``) unless it answers a person right now (``urgent=True``: the
  update of a Slack message someone clicked, a direct @mention), or ``send_at`` says later.

Delivery (``engagement.notify.deliver``) reads the rows; nothing else writes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from db.models import Outbox
from db.vocab import OutboxChannel, OutboxStatus
from engagement.notify import attention
from engagement.settings import SlackSettings


def enqueue(
    session: Session,
    *,
    kind: str,
    key: str,
    payload: dict[str, Any],
    now: datetime,
    slack: SlackSettings,
    case_id: int | None = None,
    urgent: bool = False,
    send_at: datetime | None = None,
    refresh: bool = False,
    channel: OutboxChannel = OutboxChannel.SLACK,
) -> Outbox | None:
    """Queue one Slack message in the caller's transaction; return it, or None when a message
    with ``key`` is queued already (refreshed first when ``refresh`` and it is still pending)."""
    key = key[:255]
    existing: Outbox | None = session.execute(select(Outbox).where(col(Outbox.dedupe_key) == key)).scalar_one_or_none()
    if existing is not None:
        if refresh and existing.status == OutboxStatus.PENDING:
            existing.payload = payload
            session.add(existing)
            session.flush()
            return existing
        return None
    due = send_at or (now if urgent else attention.send_at(str(payload.get("channel", "")), now, slack))
    row = Outbox(
        channel=channel,
        kind=kind,
        dedupe_key=key,
        case_id=case_id,
        payload=payload,
        next_attempt_at=due,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker queued the same key between the check and the insert
        return None
    return row
