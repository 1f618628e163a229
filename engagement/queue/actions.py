"""What a person does with a case: dismiss, escalate, reassign, snooze, reopen, take over.

Replies and their approval live in ``engagement.queue.replies`` (exported here as ``reply``,
``approve_reply`` and ``reject_reply``).

Each action is one short write transaction: lock the case, ask the policy
(``engagement.queue.policy.authorize``), move the case through the state machine
(``engagement.queue.transitions.transition``, which writes the audit event) and commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Case
from db.vocab import CaseStatus
from engagement.actors import Actor
from engagement.queue.policy import Action, authorize
from engagement.queue.state import DEFAULT_LEASE_MINUTES, QueueError, _now, lock_case
from engagement.queue.transitions import transition


def dismiss(engine: Engine, case_id: int, *, actor: Actor, reason: str, now: datetime | None = None) -> Case:
    """Close a case without replying (spam, not ours, already solved), with the reason audited."""
    now = _now(now)
    if not reason.strip():
        raise QueueError("a dismissal needs a reason")
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.DISMISS, case, now)
        return transition(
            session, case, CaseStatus.DISMISSED, actor=actor.name, action="dismissed", now=now, reason=reason.strip()
        )


def escalate(
    engine: Engine,
    case_id: int,
    *,
    actor: Actor,
    reason: str | None = None,
    to: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Hand a case to the lead: status ``escalated``, claim cleared, optional assignee ``to``."""
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.ESCALATE, case, now)
        if to:
            case.assignee = to
        return transition(
            session,
            case,
            CaseStatus.ESCALATED,
            actor=actor.name,
            action="escalated",
            now=now,
            reason=reason,
            assignee=to,
        )


def reassign(
    engine: Engine,
    case_id: int,
    *,
    actor: Actor,
    to: Actor,
    team: str | None = None,
    now: datetime | None = None,
) -> Case:
    """A lead assigns a case to another person, a real user (``engagement.actors.resolve_actor``
    on every surface), and to their team unless ``team`` says otherwise; any claim is dropped
    so ``to`` can take it."""
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.REASSIGN, case, now)
        previous = {"assignee": case.assignee, "team": case.team, "holder": case.claimed_by}
        case.assignee = to.name
        case.team = team or to.team or case.team
        return transition(
            session,
            case,
            CaseStatus.OPEN,
            actor=actor.name,
            action="reassigned",
            now=now,
            assignee=to.name,
            team=case.team,
            previous=previous,
        )


def snooze(
    engine: Engine,
    case_id: int,
    *,
    actor: Actor,
    until: datetime | None = None,
    minutes: float | None = None,
    now: datetime | None = None,
) -> Case:
    """Hide a case from the open list and ``claim_next`` until ``until`` (or for ``minutes``);
    drops the claim. It comes back by itself when due."""
    now = _now(now)
    if until is None:
        if minutes is None:
            raise QueueError("snooze needs a time (until) or a duration (minutes)")
        until = now + timedelta(minutes=minutes)
    if until <= now:
        raise QueueError(f"snooze until {until.isoformat(timespec='minutes')} is not in the future")
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.SNOOZE, case, now)
        case.snoozed_until = until
        target = CaseStatus.ESCALATED if case.status == CaseStatus.ESCALATED else CaseStatus.OPEN
        return transition(session, case, target, actor=actor.name, action="snoozed", now=now, until=until.isoformat())


def reopen(
    engine: Engine, case_id: int, *, actor: Actor, reason: str | None = None, now: datetime | None = None
) -> Case:
    """Bring a replied, dismissed or closed case back to the open queue (audited)."""
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.REOPEN, case, now)
        previous = case.status
        case.snoozed_until = None
        return transition(
            session,
            case,
            CaseStatus.OPEN,
            actor=actor.name,
            action="reopened",
            now=now,
            reason=reason,
            previous_status=previous,
        )


def take_over(
    engine: Engine,
    case_id: int,
    *,
    actor: Actor,
    now: datetime | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
) -> Case:
    """A lead takes a case someone else holds: the claim becomes the lead's, audited as
    ``taken_over`` with the previous holder (who is shown it on their case page)."""
    now = _now(now)
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.TAKE_OVER, case, now)
        previous = case.claimed_by
        return transition(
            session,
            case,
            CaseStatus.CLAIMED,
            actor=actor.name,
            action="taken_over",
            now=now,
            lease_minutes=lease_minutes,
            previous_holder=previous,
        )
