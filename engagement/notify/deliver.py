"""Deliver the outbox: at least once, deduped by key, retried with capped back-off, 429-aware."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Outbox
from db.types import utcnow
from engagement.notify.transport import Delivery, Transport, WebhookTransport, transport_for
from engagement.settings import SlackSettings

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120.0


def backoff_seconds(attempts: int, slack: SlackSettings, *, jitter: float | None = None) -> float:
    """Exponential back-off from ``backoff_seconds``, doubled per attempt, capped, with +-20 %
    jitter."""
    base = min(slack.backoff_cap_seconds, slack.backoff_seconds * (2 ** max(0, attempts - 1)))
    factor = jitter if jitter is not None else random.uniform(0.8, 1.2)
    return float(min(slack.backoff_cap_seconds, base * factor))


def _claim_batch(engine: Engine, now: datetime, limit: int) -> list[Outbox]:
    """Take due messages (``SKIP LOCKED`` on PostgreSQL) and push their next attempt out while we
    send."""
    with session_scope(engine, write=True) as session:
        rows = list(
            session.execute(
                select(Outbox)
                .where(col(Outbox.status) == "pending", col(Outbox.next_attempt_at) <= now)
                .order_by(col(Outbox.id))
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        for row in rows:
            row.next_attempt_at = now + timedelta(seconds=CLAIM_SECONDS)
            session.add(row)
        return rows


def _record(engine: Engine, outbox_id: int, result: Delivery, slack: SlackSettings, now: datetime) -> str:
    with session_scope(engine, write=True) as session:
        row = session.get(Outbox, outbox_id)
        if row is None:
            return "missing"
        row.attempts += 1
        if result.ok:
            row.status = "sent"
            row.sent_at = now
            row.last_error = None
            if result.ts:
                row.payload = dict(row.payload, ts=result.ts)
            outcome = "sent"
        elif result.permanent or row.attempts >= slack.max_attempts:
            row.status = "failed"
            row.last_error = (
                result.error if result.permanent else f"gave up after {row.attempts} attempts: {result.error}"
            )
            outcome = "failed"
        else:
            wait = result.retry_after if result.retry_after is not None else backoff_seconds(row.attempts, slack)
            row.next_attempt_at = now + timedelta(seconds=min(wait, slack.backoff_cap_seconds))
            row.last_error = result.error
            outcome = "retry"
        session.add(row)
        return outcome


def deliver_pending(
    engine: Engine,
    slack: SlackSettings,
    now: datetime | None = None,
    *,
    limit: int = 200,
    transport: Transport | None = None,
) -> dict[str, int]:
    """Send due outbox messages once each; returns counts of sent, retry, failed, unconfigured.

    With ``slack.sink`` set, messages are appended to that JSONL file and nothing touches the
    network. Without any transport configured the messages stay pending (counted as
    ``unconfigured``) so that turning Slack on later delivers them.
    """
    now = now or utcnow()
    counts: dict[str, int] = defaultdict(int)
    default = transport or transport_for(slack)
    for row in _claim_batch(engine, now, limit):
        assert row.id is not None
        chosen = WebhookTransport("") if row.payload.get("response_url") and not slack.sink else default
        if chosen is None:
            with session_scope(engine, write=True) as session:
                stored = session.get(Outbox, row.id)
                if stored is not None:
                    stored.next_attempt_at = now
                    stored.last_error = "no Slack transport configured (set slack.sink, bot_token or webhook_url)"
                    session.add(stored)
            counts["unconfigured"] += 1
            continue
        payload = dict(row.payload, kind=row.kind, outbox_id=row.id, case_id=row.case_id)
        result = chosen.send(payload)
        counts[_record(engine, row.id, result, slack, now)] += 1
    for key in ("sent", "retry", "failed"):
        counts.setdefault(key, 0)
    log.info("notify: delivered %s", dict(counts), extra={"step": "notify", "counts": dict(counts)})
    return dict(counts)
