"""The queue's errors and the helpers every queue action shares (lock, audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from db.models import AuditEvent, Case
from db.types import MAX_ID, utcnow
from db.vocab import CaseStatus
from engagement.errors import BadInput, NotFound

DEFAULT_LEASE_MINUTES = 15.0


class QueueError(BadInput):
    """A queue operation that cannot be done as asked (the web maps it to a 4xx)."""

    status_code = 409


class CaseNotFound(NotFound):
    """No case with that id (HTTP 404)."""

    def __init__(self, case_id: int) -> None:
        super().__init__(f"case {case_id} not found")
        self.case_id = case_id


class AlreadyClaimed(QueueError):
    """Someone else holds an unexpired claim on the case (HTTP 409)."""

    def __init__(self, case_id: int, holder: str | None, expires_at: datetime | None, *, hint: str = "") -> None:
        until = f" until {expires_at.isoformat(timespec='seconds')}" if expires_at else ""
        super().__init__(f"case {case_id} is claimed by {holder}{until}{hint}")
        self.case_id = case_id
        self.holder = holder
        self.expires_at = expires_at


class NotClaimant(QueueError):
    """The agent acts on a case they have not claimed (HTTP 403)."""

    status_code = 403

    def __init__(self, case_id: int, agent: str, holder: str | None) -> None:
        held = f"it is claimed by {holder}" if holder else "it is not claimed"
        super().__init__(f"case {case_id}: {agent} has not claimed it ({held}); claim it first")
        self.case_id = case_id


class InvalidTransition(QueueError):
    """The case's status does not allow this action (HTTP 409)."""


class NotAllowed(QueueError):
    """The actor's role does not allow this action (HTTP 403)."""

    status_code = 403


def _now(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


def audit(session: Session, *, case_id: int | None, actor: str, action: str, now: datetime, **detail: Any) -> None:
    """Record who did what to which case (in the caller's transaction)."""
    session.add(AuditEvent(case_id=case_id, actor=actor, action=action, detail=detail, created_at=now))


def lock_case(session: Session, case_id: int) -> Case:
    """Load a case with a row lock (PostgreSQL ``FOR UPDATE``; SQLite holds the write lock
    already). Ids outside the key range (``db.types.MAX_ID``) are simply not found, never a
    driver error."""
    if not 1 <= case_id <= MAX_ID:
        raise CaseNotFound(case_id)
    case: Case | None = session.execute(
        select(Case).where(col(Case.id) == case_id).with_for_update()
    ).scalar_one_or_none()
    if case is None:
        raise CaseNotFound(case_id)
    return case


def lease_active(case: Case, now: datetime) -> bool:
    """True when the case is claimed and the claim has not expired."""
    return case.status == CaseStatus.CLAIMED and case.claim_expires_at is not None and case.claim_expires_at > now
