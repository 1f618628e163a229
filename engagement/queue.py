"""The reply queue: claim, release, reply, dismiss, escalate, reassign, snooze; all audited.

Concurrency contract (what the web app and workers rely on):

- A claim is a lease: ``claimed_by`` + ``claim_expires_at``. An expired lease counts as free,
  so an abandoned case comes back to the queue without a sweeper.
- ``claim_next`` is atomic: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` (agents never
  wait on each other and never get the same case); on SQLite the whole read-then-update runs
  in one short ``BEGIN IMMEDIATE`` transaction (``session_scope(engine, write=True)``).
- Every state change writes an ``AuditEvent`` in the same transaction.
- Functions taking an ``engine`` are steps: they commit (one short transaction each) and return
  a detached ``Case``/``Reply`` whose attributes stay readable. Functions taking a ``session``
  only read.

Errors: ``CaseNotFound`` (a ``LookupError``, HTTP 404), ``AlreadyClaimed`` (409),
``NotClaimant`` (403), ``InvalidTransition`` (409, e.g. replying to a closed case),
``NotAllowed`` (403, e.g. approval by a non-lead). All but ``CaseNotFound`` are ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, func, or_, select, text
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import AuditEvent, Case, CasePost, Post, Reply
from db.types import utcnow
from engagement.settings import ReplySettings

DEFAULT_LEASE_MINUTES = 15.0
OPEN = "open"
CLAIMED = "claimed"
PENDING_APPROVAL = "pending_approval"
REPLIED = "replied"
DISMISSED = "dismissed"
ESCALATED = "escalated"
CLOSED = "closed"
ACTIVE_STATUSES = (OPEN, CLAIMED, PENDING_APPROVAL, ESCALATED)
TERMINAL_STATUSES = (REPLIED, DISMISSED, CLOSED)


class QueueError(ValueError):
    """A queue operation that cannot be done as asked (the web maps it to a 4xx)."""

    status_code = 409


class CaseNotFound(LookupError):
    """No case with that id (HTTP 404)."""

    status_code = 404

    def __init__(self, case_id: int) -> None:
        super().__init__(f"case {case_id} not found")
        self.case_id = case_id


class AlreadyClaimed(QueueError):
    """Someone else holds an unexpired claim on the case (HTTP 409)."""

    def __init__(self, case_id: int, holder: str | None, expires_at: datetime | None) -> None:
        until = f" until {expires_at.isoformat(timespec='seconds')}" if expires_at else ""
        super().__init__(f"case {case_id} is claimed by {holder}{until}")
        self.case_id = case_id
        self.holder = holder


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


def audit(
    session: Session, *, case_id: int | None, actor: str, action: str, now: datetime, **detail: Any
) -> None:
    """Record who did what to which case (in the caller's transaction)."""
    session.add(
        AuditEvent(case_id=case_id, actor=actor, action=action, detail=detail, created_at=now)
    )


def lock_case(session: Session, case_id: int) -> Case:
    """Load a case with a row lock (PostgreSQL ``FOR UPDATE``; SQLite holds the write lock
    already)."""
    case: Case | None = session.execute(
        select(Case).where(col(Case.id) == case_id).with_for_update()
    ).scalar_one_or_none()
    if case is None:
        raise CaseNotFound(case_id)
    return case


def lease_active(case: Case, now: datetime) -> bool:
    """True when the case is claimed and the claim has not expired."""
    return (
        case.status == CLAIMED and case.claim_expires_at is not None and case.claim_expires_at > now
    )


def require_claimant(case: Case, agent: str, now: datetime) -> None:
    """Raise ``NotClaimant`` unless ``agent`` holds the claim (an expired one of their own still
    counts
    while nobody else took the case)."""
    assert case.id is not None
    if case.status != CLAIMED or case.claimed_by != agent:
        raise NotClaimant(case.id, agent, case.claimed_by if lease_active(case, now) else None)


def _take(
    session: Session, case: Case, *, agent: str, now: datetime, lease_minutes: float, action: str
) -> Case:
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
    return (
        query.order_by(col(Case.priority).desc(), col(Case.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )


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
    with session_scope(engine, write=True) as session:
        best: Case | None = None
        for status in (OPEN, CLAIMED):
            row = session.execute(
                _next_query(status=status, team=team, agent=agent, now=now)
            ).scalar_one_or_none()
            if row is not None and (best is None or row.priority > best.priority):
                best = row
        if best is None:
            return None
        return _take(
            session, best, agent=agent, now=now, lease_minutes=lease_minutes, action="claimed"
        )


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
    filters = (
        "AND (snoozed_until IS NULL OR snoozed_until <= :now) "
        "AND (assignee IS NULL OR assignee = :agent)"
    )
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
        return _take(
            session, case, agent=agent, now=now, lease_minutes=lease_minutes, action=action
        )


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


def _reopen(case: Case, now: datetime) -> None:
    case.status = OPEN
    case.claimed_by = None
    case.claim_expires_at = None
    case.updated_at = now


def _finish(case: Case, status: str, reason: str, now: datetime) -> None:
    case.status = status
    case.close_reason = reason
    case.closed_at = now
    case.claimed_by = None
    case.claim_expires_at = None
    case.updated_at = now


def _check_not_held_by_other(case: Case, agent: str, now: datetime) -> None:
    assert case.id is not None
    if lease_active(case, now) and case.claimed_by != agent:
        raise AlreadyClaimed(case.id, case.claimed_by, case.claim_expires_at)


def dismiss(
    engine: Engine, case_id: int, *, agent: str, reason: str, now: datetime | None = None
) -> Case:
    """Close a case without replying (spam, not ours, already solved), with the reason audited.

    Allowed for the claimant, or anyone while no one else holds a lease.
    """
    now = _now(now)
    if not reason.strip():
        raise QueueError("a dismissal needs a reason")
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        if case.status in TERMINAL_STATUSES:
            raise InvalidTransition(f"case {case_id} is already {case.status}")
        _check_not_held_by_other(case, agent, now)
        _finish(case, DISMISSED, reason.strip(), now)
        session.add(case)
        audit(
            session,
            case_id=case.id,
            actor=agent,
            action="dismissed",
            now=now,
            reason=reason.strip(),
        )
        return case


def escalate(
    engine: Engine,
    case_id: int,
    *,
    agent: str,
    reason: str | None = None,
    to: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Hand a case to the lead: status ``escalated``, claim cleared, optional assignee ``to``."""
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        if case.status in TERMINAL_STATUSES:
            raise InvalidTransition(f"case {case_id} is {case.status}; it cannot be escalated")
        _check_not_held_by_other(case, agent, now)
        case.status = ESCALATED
        case.claimed_by = None
        case.claim_expires_at = None
        if to:
            case.assignee = to
        case.updated_at = now
        session.add(case)
        audit(
            session, case_id=case.id, actor=agent, action="escalated", now=now, reason=reason, to=to
        )
        return case


def reassign(
    engine: Engine,
    case_id: int,
    *,
    agent: str,
    to: str,
    team: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Assign a case to another agent (and optionally team); any claim is dropped so ``to`` can take
    it."""
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        if case.status in TERMINAL_STATUSES:
            raise InvalidTransition(f"case {case_id} is {case.status}; it cannot be reassigned")
        _check_not_held_by_other(case, agent, now)
        previous = {"assignee": case.assignee, "team": case.team}
        case.assignee = to
        if team:
            case.team = team
        if case.status in (CLAIMED, ESCALATED):
            _reopen(case, now)
        case.updated_at = now
        session.add(case)
        audit(
            session,
            case_id=case.id,
            actor=agent,
            action="reassigned",
            now=now,
            to=to,
            team=case.team,
            previous=previous,
        )
        return case


def snooze(
    engine: Engine, case_id: int, *, agent: str, minutes: float, now: datetime | None = None
) -> Case:
    """Hide a case from ``claim_next`` for a while (Slack's Snooze button); drops the agent's
    claim."""
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        if case.status in TERMINAL_STATUSES:
            raise InvalidTransition(f"case {case_id} is {case.status}; it cannot be snoozed")
        _check_not_held_by_other(case, agent, now)
        case.snoozed_until = now + timedelta(minutes=minutes)
        if case.status == CLAIMED:
            _reopen(case, now)
        case.updated_at = now
        session.add(case)
        audit(
            session,
            case_id=case.id,
            actor=agent,
            action="snoozed",
            now=now,
            until=case.snoozed_until.isoformat(),
        )
        return case


def reply(
    engine: Engine,
    case_id: int,
    *,
    agent: str,
    text: str,
    settings: ReplySettings,
    role: str = "agent",
    template: str | None = None,
    now: datetime | None = None,
) -> Reply:
    """Reply to a claimed case: recorded with an idempotency key, then posted (dry-run by default).

    ``text`` may be a template name from ``ReplySettings.templates`` when ``template`` is None
    and the text matches one, or pass ``template=`` explicitly; variables are filled from the
    case. Cases of a tier listed in ``approval_tiers`` wait for a lead (``pending_approval``)
    unless ``role`` is ``lead``/``admin``. Returns the ``Reply`` (status ``sent``, ``dry_run``,
    ``pending_approval`` or ``failed`` with its ``error``; the error is on the case too).
    """
    import engagement.replies as replies

    return replies.submit_reply(
        engine,
        case_id,
        agent=agent,
        text=text,
        settings=settings,
        role=role,
        template=template,
        now=_now(now),
    )


def approve_reply(
    engine: Engine,
    reply_id: int,
    *,
    lead: str,
    settings: ReplySettings,
    role: str = "lead",
    now: datetime | None = None,
) -> Reply:
    """A lead approves a reply waiting for approval; it is then posted (audited)."""
    import engagement.replies as replies

    return replies.approve(engine, reply_id, lead=lead, settings=settings, role=role, now=_now(now))


def reject_reply(
    engine: Engine,
    reply_id: int,
    *,
    lead: str,
    reason: str,
    role: str = "lead",
    now: datetime | None = None,
) -> Reply:
    """A lead rejects a reply waiting for approval; the case goes back to its agent (audited)."""
    import engagement.replies as replies

    return replies.reject(engine, reply_id, lead=lead, reason=reason, role=role, now=_now(now))


# --- reading ---------------------------------------------------------------------------------


def _filtered(
    query: Select[Any],
    *,
    team: str | None,
    status: str | Iterable[str] | None,
    platform: str | None,
    tier: str | None,
    lang: str | None,
    search: str | None,
    assignee: str | None,
    claimed_by: str | None,
) -> Select[Any]:
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        query = query.where(col(Case.status).in_(statuses))
    if team is not None:
        query = query.where(col(Case.team) == team)
    if platform is not None:
        query = query.where(col(Case.platform) == platform)
    if tier is not None:
        query = query.where(col(Case.tier) == tier)
    if lang is not None:
        query = query.where(col(Case.lang) == lang)
    if assignee is not None:
        query = query.where(col(Case.assignee) == assignee)
    if claimed_by is not None:
        query = query.where(col(Case.claimed_by) == claimed_by)
    if search:
        pattern = f"%{search.lower()}%"
        matching = (
            select(col(CasePost.case_id))
            .join(Post, col(Post.id) == col(CasePost.post_id))
            .where(func.lower(col(Post.text)).like(pattern))
        )
        query = query.where(col(Case.id).in_(matching))
    return query


def list_cases(
    session: Session,
    *,
    team: str | None = None,
    status: str | Iterable[str] | None = OPEN,
    platform: str | None = None,
    tier: str | None = None,
    lang: str | None = None,
    search: str | None = None,
    assignee: str | None = None,
    claimed_by: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Case]:
    """Cases matching every filter given, highest priority first (``status=None``: any status).

    ``search`` matches any of the case's posts' text, case-insensitively.
    """
    query = _filtered(
        select(Case),
        team=team,
        status=status,
        platform=platform,
        tier=tier,
        lang=lang,
        search=search,
        assignee=assignee,
        claimed_by=claimed_by,
    )
    query = query.order_by(col(Case.priority).desc(), col(Case.id)).limit(limit).offset(offset)
    return list(session.execute(query).scalars().all())


def count_cases(
    session: Session,
    *,
    team: str | None = None,
    status: str | Iterable[str] | None = OPEN,
    platform: str | None = None,
    tier: str | None = None,
    lang: str | None = None,
    search: str | None = None,
    assignee: str | None = None,
    claimed_by: str | None = None,
) -> int:
    """How many cases ``list_cases`` would page through with the same filters."""
    query = _filtered(
        select(func.count()).select_from(Case),
        team=team,
        status=status,
        platform=platform,
        tier=tier,
        lang=lang,
        search=search,
        assignee=assignee,
        claimed_by=claimed_by,
    )
    return int(session.execute(query).scalar_one())


def get_case(session: Session, case_id: int) -> Case:
    """The case, or ``CaseNotFound``."""
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(case_id)
    return case


def case_posts(session: Session, case_id: int) -> list[Post]:
    """The posts merged into a case, oldest first."""
    query = (
        select(Post)
        .join(CasePost, col(CasePost.post_id) == col(Post.id))
        .where(col(CasePost.case_id) == case_id)
        .order_by(col(Post.created_at), col(Post.id))
    )
    return list(session.execute(query).scalars().all())


def case_replies(session: Session, case_id: int) -> list[Reply]:
    """Replies written on a case, oldest first (with status and any error)."""
    query = select(Reply).where(col(Reply.case_id) == case_id).order_by(col(Reply.id))
    return list(session.execute(query).scalars().all())


def case_audit(session: Session, case_id: int) -> list[AuditEvent]:
    """The case's audit trail, oldest first."""
    query = (
        select(AuditEvent).where(col(AuditEvent.case_id) == case_id).order_by(col(AuditEvent.id))
    )
    return list(session.execute(query).scalars().all())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def case_to_dict(case: Case) -> dict[str, Any]:
    """A case as plain JSON-ready data (the CLI's ``--json`` and the JSON API use this shape)."""
    return {
        "id": case.id,
        "status": case.status,
        "team": case.team,
        "tier": case.tier,
        "platform": case.platform,
        "lang": case.lang,
        "priority": case.priority,
        "money_at_risk": case.money_at_risk,
        "reasons": case.reasons,
        "why": (case.reasons or {}).get("why"),
        "sla_due_at": _iso(case.sla_due_at),
        "assignee": case.assignee,
        "claimed_by": case.claimed_by,
        "claim_expires_at": _iso(case.claim_expires_at),
        "snoozed_until": _iso(case.snoozed_until),
        "post_id": case.post_id,
        "author_id": case.author_id,
        "customer_id": case.customer_id,
        "close_reason": case.close_reason,
        "last_error": case.last_error,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "closed_at": _iso(case.closed_at),
    }


def case_detail(session: Session, case_id: int) -> dict[str, Any]:
    """A case with its posts, replies and audit trail, JSON-ready (the case page and ``--json``)."""
    case = get_case(session, case_id)
    data = case_to_dict(case)
    data["posts"] = [
        {
            "id": p.id,
            "platform": p.platform,
            "external_id": p.external_id,
            "text": p.text,
            "url": p.url,
            "rating": p.rating,
            "created_at": _iso(p.created_at),
        }
        for p in case_posts(session, case_id)
    ]
    data["replies"] = [
        {
            "id": r.id,
            "status": r.status,
            "text": r.text,
            "author": r.author,
            "error": r.error,
            "platform_reply_id": r.platform_reply_id,
            "approved_by": r.approved_by,
            "sent_at": _iso(r.sent_at),
        }
        for r in case_replies(session, case_id)
    ]
    data["audit"] = [
        {"actor": e.actor, "action": e.action, "detail": e.detail, "at": _iso(e.created_at)}
        for e in case_audit(session, case_id)
    ]
    return data
