"""Deliver the outbox exactly once: one message per claim, its own ``sent_at``, doubts checked.

The protocol (the same as replies use with the platforms):
1. Claim ONE due message (``SKIP LOCKED`` on PostgreSQL, a write transaction on SQLite): mark
   ``attempt_started_at`` (kept if an earlier attempt is still in doubt), ``claimed_by`` and a
   lease (``next_attempt_at = now + send_lease_seconds``), and commit. Other senders skip it
   until the lease ends, and the lease outlasts one call to Slack (``timeout_seconds``), so
   a message is never sent by two senders at once however slow Slack answers.
2. If the message was already in doubt (its sender died mid-send, or Slack timed out or
   answered 5xx), ask the transport whether it arrived (``find_sent``: the dedupe key in the
   message metadata, read back from the channel history) and record it as sent if so.
3. Send, then record the outcome of this one message with its own ``sent_at``, if the claim
   is still ours. A sender killed between 1 and 3 leaves the message claimed until the lease
   ends; the next sender starts at 2.

A sender stops between messages when asked to (``db.claims.request_stop``, on SIGTERM).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from db.claims import claim, stop_requested
from db.engine import session_scope
from db.models import Outbox
from db.types import utcnow
from db.vocab import OutboxChannel, OutboxStatus
from engagement.notify.outbox_transitions import move
from engagement.notify.transport import Delivery, Transport, WebhookTransport, transport_for
from engagement.settings import SlackSettings

log = logging.getLogger(__name__)

#: how far before an attempt of unknown outcome the channel history is read (clock skew)
HISTORY_MARGIN = timedelta(minutes=2)
NO_TRANSPORT = "no Slack transport configured (set slack.sink, bot_token or webhook_url)"


def backoff_seconds(attempts: int, slack: SlackSettings, *, jitter: float | None = None) -> float:
    """Exponential back-off from ``backoff_seconds``, doubled per attempt, capped, with +-20 %
    jitter."""
    base = min(slack.backoff_cap_seconds, slack.backoff_seconds * (2 ** max(0, attempts - 1)))
    factor = jitter if jitter is not None else random.uniform(0.8, 1.2)
    return float(min(slack.backoff_cap_seconds, base * factor))


@dataclass(frozen=True)
class Claimed:
    """One message this sender holds until its lease ends."""

    id: int
    token: str
    kind: str
    dedupe_key: str
    case_id: int | None
    payload: dict[str, Any]
    in_doubt_since: datetime | None  # an earlier attempt's outcome is unknown: look first

    def message(self) -> dict[str, Any]:
        """What the transport sends: the payload plus the keys that identify it."""
        return dict(self.payload, kind=self.kind, outbox_id=self.id, case_id=self.case_id, dedupe_key=self.dedupe_key)


def sender_token() -> str:
    """Who holds a claim: unique per ``deliver_pending`` call, readable in ``outbox.claimed_by``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim_one(engine: Engine, now: datetime, lease: timedelta, token: str, skip: set[int]) -> Claimed | None:
    """Take the oldest due message no other sender holds, for ``lease``; None when none is due."""
    with session_scope(engine, write=True) as session:
        due = select(Outbox).where(
            col(Outbox.channel) == OutboxChannel.SLACK,  # in-app notices wait for their person, not a sender
            col(Outbox.status) == OutboxStatus.PENDING,
            col(Outbox.next_attempt_at) <= now,
        )
        if skip:
            due = due.where(col(Outbox.id).not_in(skip))
        rows = claim(session, due.order_by(col(Outbox.id)), limit=1)
        if not rows:
            return None
        row = rows[0]
        assert row.id is not None
        in_doubt_since = row.attempt_started_at
        row.attempt_started_at = in_doubt_since or now
        row.claimed_by = token
        row.next_attempt_at = now + lease
        session.add(row)
        return Claimed(row.id, token, row.kind, row.dedupe_key, row.case_id, dict(row.payload), in_doubt_since)


def _unclaim(engine: Engine, held: Claimed, now: datetime, error: str) -> None:
    """Give a message back untouched (no transport for it): due again, as in doubt as before."""
    with session_scope(engine, write=True) as session:
        row = session.get(Outbox, held.id, with_for_update=True)
        if row is not None and row.claimed_by == held.token:
            row.next_attempt_at = now
            row.attempt_started_at = held.in_doubt_since
            row.claimed_by = None
            row.last_error = error
            session.add(row)


def _renew(engine: Engine, held: Claimed, until: datetime) -> bool:
    """Extend the claim before a send that follows a slow look-up; False if it is no longer ours."""
    with session_scope(engine, write=True) as session:
        row = session.get(Outbox, held.id, with_for_update=True)
        if row is None or row.claimed_by != held.token or row.status != OutboxStatus.PENDING:
            return False
        row.next_attempt_at = until
        session.add(row)
        return True


def _slack_time(ts: str | None) -> datetime | None:
    """A Slack ``ts`` ("1700000000.000100") as the UTC moment the message was posted."""
    try:
        return datetime.fromtimestamp(float(ts), UTC) if ts else None
    except ValueError:
        return None


def _record(engine: Engine, held: Claimed, result: Delivery, slack: SlackSettings, now: datetime) -> str:
    """Store the outcome of one attempt, if the claim is still ours; return what happened."""
    with session_scope(engine, write=True) as session:
        row = session.get(Outbox, held.id, with_for_update=True)
        if row is None:
            return "missing"
        if row.claimed_by != held.token or row.status != OutboxStatus.PENDING:
            log.warning(
                "notify: message %s was taken over by %s after its lease ended; not recording this attempt",
                held.id,
                row.claimed_by,
            )
            return "lost"
        row.attempts += 1
        if not result.unknown:
            row.attempt_started_at = None  # this attempt's outcome is known: nothing left in doubt
        if result.ok:
            move(row, OutboxStatus.SENT, at=now)
            if result.ts:
                row.payload = dict(row.payload, ts=result.ts)
            outcome = "sent"
        elif result.permanent or row.attempts >= slack.max_attempts:
            error = result.error if result.permanent else f"gave up after {row.attempts} attempts: {result.error}"
            move(row, OutboxStatus.FAILED, at=now, error=error)
            outcome = "failed"
        else:
            wait = result.retry_after if result.retry_after is not None else backoff_seconds(row.attempts, slack)
            row.next_attempt_at = now + timedelta(seconds=min(wait, slack.backoff_cap_seconds))
            row.last_error = result.error
            outcome = "retry"
        session.add(row)
        return outcome


def _clock(now: datetime | None) -> Callable[[], datetime]:
    """The current time; with a given ``now`` (tests, replays), that moment plus the time since."""
    if now is None:
        return utcnow
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)


def _deliver_one(
    held: Claimed, transport: Transport, engine: Engine, slack: SlackSettings, clock: Callable[[], datetime]
) -> str:
    """Look first if an earlier attempt is in doubt, else (or if absent) send; record the outcome."""
    message = held.message()
    if held.in_doubt_since is not None:
        check = transport.find_sent(message, since=held.in_doubt_since - HISTORY_MARGIN)
        if check.state == "found":
            log.info("notify: %s had arrived before its sender stopped; not sending it again", held.dedupe_key)
            found = Delivery(ok=True, ts=check.ts)
            outcome = _record(engine, held, found, slack, _slack_time(check.ts) or clock())
            return "already_sent" if outcome == "sent" else outcome
        if check.state == "failed":
            return _record(engine, held, Delivery(ok=False, unknown=True, error=check.error), slack, clock())
        if check.state == "cannot_tell":
            log.warning("notify: cannot tell whether %s arrived (%s); sending it again", held.dedupe_key, check.error)
        # the look-up took part of the lease: renew it so the send that follows fits in it whole
        if not _renew(engine, held, clock() + timedelta(seconds=slack.send_lease_seconds)):
            return "lost"
    return _record(engine, held, transport.send(message), slack, clock())


def deliver_pending(
    engine: Engine,
    slack: SlackSettings,
    now: datetime | None = None,
    *,
    limit: int = 200,
    transport: Transport | None = None,
    budget_seconds: float | None = None,
) -> dict[str, int]:
    """Send due outbox messages once each, one claim at a time; return counts of sent, retry,
    failed, and (when there are any) already_sent, unconfigured, lost and ``yielded`` (1 when
    the run stopped at its ``budget_seconds`` with messages maybe left: the next run goes on).

    The budget is checked before each claim, so a run ends at most one send (one
    ``timeout_seconds``) past it: a slow Slack shortens runs, it never makes one run minutes.

    With ``slack.sink`` set, messages are appended to that JSONL file and nothing touches the
    network. Without any transport configured the messages stay pending (counted as
    ``unconfigured``) so that turning Slack on later delivers them.
    """
    clock = _clock(now)
    token = sender_token()
    lease = timedelta(seconds=slack.send_lease_seconds)
    counts: dict[str, int] = defaultdict(int)
    default = transport or transport_for(slack)
    skip: set[int] = set()
    deadline = time.monotonic() + budget_seconds if budget_seconds is not None else None
    for _ in range(limit):
        if stop_requested():
            break
        if deadline is not None and time.monotonic() >= deadline:
            counts["yielded"] = 1
            break
        held = _claim_one(engine, clock(), lease, token, skip)
        if held is None:
            break
        chosen: Transport | None = default
        if held.payload.get("response_url") and not slack.sink:
            chosen = WebhookTransport("", timeout=slack.timeout_seconds)
        if chosen is None:
            _unclaim(engine, held, clock(), NO_TRANSPORT)
            skip.add(held.id)
            counts["unconfigured"] += 1
            continue
        counts[_deliver_one(held, chosen, engine, slack, clock)] += 1
    for key in ("sent", "retry", "failed"):
        counts.setdefault(key, 0)
    busy = any(n for key, n in counts.items() if key != "unconfigured")
    level = logging.INFO if busy else logging.DEBUG  # an empty outbox polled by an idle lane is no news
    log.log(level, "notify: delivered %s", dict(counts), extra={"step": "notify", "counts": dict(counts)})
    return dict(counts)
