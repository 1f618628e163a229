"""Claiming cases: ``claim_next`` (SKIP LOCKED / BEGIN IMMEDIATE), ``claim``, ``release``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, or_, select, text
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import Case
from engagement.queue.state import (
    CLAIMED,
    DEFAULT_LEASE_MINUTES,
    OPEN,
    PENDING_APPROVAL,
    TERMINAL_STATUSES,
    AlreadyClaimed,
    InvalidTransition,
    _now,
    _reopen,
    audit,
    lease_active,
    lock_case,
    require_claimant,
)


def _take(session: Session, case: Case, *, agent: str, now: datetime, lease_minutes: float, action: str) -> Case:
    previous = case.claimed_by if case.status == CLAIMED else None
    case.status = CLAIMED
    case.claimed_by = agent
    case.claim_expires_at = now + timedelta(minutes=lease_minutes)
    case.updated_at = now
    session.add(case)
    detail: dict[str, Any] = {"lease_until": case.claim_expires_at.isoformat()}
    if previous and previous != agent:
        detail["expired_claim_of"] = previous
    audit(session, case_id=case.id, actor=agent, action=action, now=now, **detail)
    return case


def _next_query(*, status: str, team: str | None, agent: str, now: datetime) -> Select[Case]:
    query = select(Case).where(col(Case.status) == status)
    if team is not None:
        query = query.where(col(Case.team) == team)
    if status == CLAIMED:
        query = query.where(col(Case.claim_expires_at) <= now)
    query = query.where(or_(col(Case.snoozed_until).is_(None), col(Case.snoozed_until) <= now))
    query = query.where(or_(col(Case.assignee).is_(None), col(Case.assignee) == agent))
    return query.order_by(col(Case.priority).desc(), col(Case.id)).limit(1).with_for_update(skip_locked=True)


def claim_next(
    engine: Engine,
    *,
    agent: str,
    team: str | None,
    now: datetime | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
) -> Case | None:
    """Claim the highest-priority free case of ``team`` (any team when None) for ``agent``.

    Free means open, or claimed with an expired lease; snoozed cases and cases assigned to
    someone else are skipped. Returns None when the queue is empty. Safe to call from many
    threads and processes at once: no case is handed out twice.
    """
    now = _now(now)
    if engine.dialect.name == "postgresql":
        return _claim_next_postgres(engine, agent=agent, team=team, now=now, lease_minutes=lease_minutes)
    return claim_next_portable(engine, agent=agent, team=team, now=now, lease_minutes=lease_minutes)


def claim_next_portable(
    engine: Engine, *, agent: str, team: str | None, now: datetime, lease_minutes: float = DEFAULT_LEASE_MINUTES
) -> Case | None:
    """``claim_next`` through the ORM: any backend (SQLite's path; the benchmark's comparison on PostgreSQL).

    Two ``SKIP LOCKED`` selects (open, then expired leases), then the update and the audit row.
    """
    with session_scope(engine, write=True) as session:
        best: Case | None = None
        for status in (OPEN, CLAIMED):
            row = session.execute(_next_query(status=status, team=team, agent=agent, now=now)).scalar_one_or_none()
            if row is not None and (best is None or row.priority > best.priority):
                best = row
        if best is None:
            return None
        return _take(session, best, agent=agent, now=now, lease_minutes=lease_minutes, action="claimed")


_PG_CLAIM_NEXT = """
WITH free_open AS (
    SELECT id, priority, NULL::varchar AS previous FROM cases
    WHERE status = 'open' {team} {filters}
    ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED
), free_expired AS (
    SELECT id, priority, claimed_by AS previous FROM cases
    WHERE status = 'claimed' AND claim_expires_at <= :now {team} {filters}
    ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT * FROM (SELECT * FROM free_open UNION ALL SELECT * FROM free_expired) AS free
    ORDER BY priority DESC, id LIMIT 1
), taken AS (
    UPDATE cases SET status = 'claimed', claimed_by = :agent, claim_expires_at = :until,
                     updated_at = :now
    FROM picked WHERE cases.id = picked.id
    RETURNING cases.*, picked.previous
), trail AS (
    INSERT INTO audit_events (case_id, actor, action, detail, created_at)
    SELECT id, :agent, 'claimed',
           json_strip_nulls(json_build_object('lease_until', CAST(:until_text AS text),
                                              'expired_claim_of', previous)),
           :now
    FROM taken
)
SELECT * FROM taken
"""


def _claim_next_postgres(
    engine: Engine, *, agent: str, team: str | None, now: datetime, lease_minutes: float
) -> Case | None:
    """``claim_next`` in one statement: pick (SKIP LOCKED), update and audit in a single round trip.

    Same rules as the portable path below it; used on PostgreSQL because a claim is the hot
    path of every agent and each round trip counts under load.
    """
    filters = "AND (snoozed_until IS NULL OR snoozed_until <= :now) AND (assignee IS NULL OR assignee = :agent)"
    sql = _PG_CLAIM_NEXT.format(team="AND team = :team" if team is not None else "", filters=filters)
    until = now + timedelta(minutes=lease_minutes)
    params: dict[str, Any] = {"now": now, "agent": agent, "until": until, "until_text": until.isoformat()}
    if team is not None:
        params["team"] = team
    statement = select(Case).from_statement(text(sql).bindparams(**params))
    with session_scope(engine, write=True) as session:
        case: Case | None = session.execute(statement).scalar_one_or_none()
        return case


def claim(
    engine: Engine,
    case_id: int,
    *,
    agent: str,
    now: datetime | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
) -> Case:
    """Claim one case by id (open, escalated, or with an expired lease); renews one's own claim.

    Raises ``AlreadyClaimed`` while someone else's lease runs, ``InvalidTransition`` for a
    finished case or one waiting for reply approval.
    """
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        if case.status in TERMINAL_STATUSES or case.status == PENDING_APPROVAL:
            raise InvalidTransition(f"case {case_id} is {case.status}; it cannot be claimed")
        if lease_active(case, now) and case.claimed_by != agent:
            raise AlreadyClaimed(case_id, case.claimed_by, case.claim_expires_at)
        action = "renewed" if case.status == CLAIMED and case.claimed_by == agent else "claimed"
        return _take(session, case, agent=agent, now=now, lease_minutes=lease_minutes, action=action)


def release(engine: Engine, case_id: int, *, agent: str, now: datetime | None = None) -> Case:
    """Give a claimed case back to the queue (``NotClaimant`` unless ``agent`` holds it)."""
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        require_claimant(case, agent, now)
        _reopen(case, now)
        session.add(case)
        audit(session, case_id=case.id, actor=agent, action="released", now=now)
        return case
