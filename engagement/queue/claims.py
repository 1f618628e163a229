"""Claiming cases: ``claim_next`` (SKIP LOCKED / BEGIN IMMEDIATE), ``claim``, ``release``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, or_, select
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import Case
from db.vocab import CaseStatus
from engagement.actors import Actor
from engagement.queue.policy import Action, authorize, authorize_next
from engagement.queue.state import DEFAULT_LEASE_MINUTES, _now, lock_case
from engagement.queue.transitions import transition


def _take(session: Session, case: Case, *, actor: Actor, now: datetime, lease_minutes: float) -> Case:
    renewing = case.status == CaseStatus.CLAIMED and case.claimed_by == actor.name
    previous = case.claimed_by if case.status == CaseStatus.CLAIMED and not renewing else None
    detail: dict[str, Any] = {"expired_claim_of": previous} if previous else {}
    return transition(
        session,
        case,
        CaseStatus.CLAIMED,
        actor=actor.name,
        action="renewed" if renewing else "claimed",
        now=now,
        lease_minutes=lease_minutes,
        **detail,
    )


def _next_query(*, status: CaseStatus, team: str | None, agent: str, now: datetime) -> Select[Any]:
    query = select(Case).where(col(Case.status) == status)
    if team is not None:
        query = query.where(col(Case.team) == team)
    if status == CaseStatus.CLAIMED:
        query = query.where(col(Case.claim_expires_at) <= now)
    query = query.where(or_(col(Case.snoozed_until).is_(None), col(Case.snoozed_until) <= now))
    query = query.where(or_(col(Case.assignee).is_(None), col(Case.assignee) == agent))
    return query.order_by(col(Case.priority).desc(), col(Case.id)).limit(1).with_for_update(skip_locked=True)


def claim_next(
    engine: Engine,
    *,
    actor: Actor,
    team: str | None,
    now: datetime | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
) -> Case | None:
    """Claim the highest-priority free case of ``team`` (any team when None) for ``actor``.

    Free means open, or claimed with an expired lease; snoozed cases and cases assigned to
    someone else are skipped. Returns None when the queue is empty. Safe to call from many
    threads and processes at once: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` means
    agents never wait on each other and never get the same case; on SQLite the read-then-update
    runs in one ``BEGIN IMMEDIATE`` transaction. The claim itself goes through the state machine.
    """
    now = _now(now)
    authorize_next(actor, team)
    with session_scope(engine, write=True) as session:
        best: Case | None = None
        for status in (CaseStatus.OPEN, CaseStatus.CLAIMED):
            row = session.execute(_next_query(status=status, team=team, agent=actor.name, now=now)).scalar_one_or_none()
            if row is not None and (best is None or (row.priority, -(row.id or 0)) > (best.priority, -(best.id or 0))):
                best = row
        if best is None:
            return None
        return _take(session, best, actor=actor, now=now, lease_minutes=lease_minutes)


def claim(
    engine: Engine,
    case_id: int,
    *,
    actor: Actor,
    now: datetime | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
) -> Case:
    """Claim one case by id (open, escalated, or with an expired lease); renews one's own claim.

    Refused (policy) while someone else's lease runs, for a finished case or one waiting for
    reply approval, and for an agent outside the case's team.
    """
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.CLAIM, case, now)
        return _take(session, case, actor=actor, now=now, lease_minutes=lease_minutes)


def release(engine: Engine, case_id: int, *, actor: Actor, now: datetime | None = None) -> Case:
    """Give a claimed case back to the queue (only its holder may)."""
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.RELEASE, case, now)
        return transition(session, case, CaseStatus.OPEN, actor=actor.name, action="released", now=now)
