"""What an agent does with a case: dismiss, escalate, reassign, snooze, reply, approvals."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Case, Reply
from engagement.queue.state import (
    CLAIMED,
    DISMISSED,
    ESCALATED,
    TERMINAL_STATUSES,
    InvalidTransition,
    QueueError,
    _check_not_held_by_other,
    _finish,
    _now,
    _reopen,
    audit,
    lock_case,
)
from engagement.settings import ReplySettings


def dismiss(engine: Engine, case_id: int, *, agent: str, reason: str, now: datetime | None = None) -> Case:
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
        audit(session, case_id=case.id, actor=agent, action="escalated", now=now, reason=reason, to=to)
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


def snooze(engine: Engine, case_id: int, *, agent: str, minutes: float, now: datetime | None = None) -> Case:
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
    import engagement.queue.replies as replies

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
    import engagement.queue.replies as replies

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
    import engagement.queue.replies as replies

    return replies.reject(engine, reply_id, lead=lead, reason=reason, role=role, now=_now(now))
