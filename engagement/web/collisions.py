"""Two people on one case: who holds it since when, what a refused send says, and the notice a
holder sees after a lead took the case over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from db.models import AuditEvent, Case
from db.types import utcnow

CLAIM_ACTIONS = ("claimed", "taken_over", "reply_rejected", "reply_approved")
TAKE_OVER_ACTIONS = ("taken_over", "take_over")


@dataclass(frozen=True)
class Hold:
    """Who holds a case now, since when and until when (a lapsed lease is no hold)."""

    holder: str
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True)
class TakeOver:
    """A lead took the case from this person: shown to them on the case page."""

    by: str
    at: datetime


def current_hold(session: Session, case: Case, now: datetime | None = None) -> Hold | None:
    """The running claim on the case with the time it began (from the audit trail), or None."""
    now = now or utcnow()
    if case.status != "claimed" or not case.claimed_by:
        return None
    if case.claim_expires_at is None or case.claim_expires_at <= now:
        return None
    since = session.exec(
        select(AuditEvent.created_at)
        .where(
            col(AuditEvent.case_id) == case.id,
            col(AuditEvent.actor) == case.claimed_by,
            col(AuditEvent.action).in_(CLAIM_ACTIONS),
        )
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    ).first()
    return Hold(holder=case.claimed_by, since=since, until=case.claim_expires_at)


def taken_from(session: Session, case: Case, user_name: str) -> TakeOver | None:
    """The take-over that took this case from ``user_name``, while the taker still holds it."""
    if case.status != "claimed" or not case.claimed_by or case.claimed_by == user_name:
        return None
    event = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.case_id) == case.id, col(AuditEvent.action).in_(TAKE_OVER_ACTIONS))
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    ).first()
    if event is None or event.actor != case.claimed_by:
        return None
    detail = event.detail or {}
    previous = detail.get("previous_holder") or detail.get("from") or detail.get("holder")
    if previous != user_name:
        return None
    return TakeOver(by=event.actor, at=event.created_at)


def conflict_body(case: Case, hold: Hold | None, message: str) -> dict[str, Any]:
    """The JSON a refused send answers with: the reason, who holds the case and since when."""
    return {
        "detail": message,
        "reason": "held_by_other" if hold is not None else "not_claimed",
        "case_id": case.id,
        "status": case.status,
        "holder": hold.holder if hold else None,
        "held_since": hold.since.isoformat(timespec="seconds") if hold and hold.since else None,
        "held_until": hold.until.isoformat(timespec="seconds") if hold and hold.until else None,
    }
