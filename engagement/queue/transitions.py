"""The one case state machine: every status change of a case goes through ``transition``.

Why one function: a case's status, its lease (``claimed_by`` + ``claim_expires_at``), its close
fields and its audit trail must change together, or the queue loses cases (a claim with no
expiry is never handed out again) and nobody can tell who did what. So every module that
changes a case (queue actions, replies, triage, Slack, web, CLI) calls ``transition`` with the
target status; the table ``ALLOWED`` says which moves exist, and anything else is refused with
``InvalidTransition``. Who may ask for a move is the policy's job (``engagement.queue.policy``),
not this module's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from db.models import Case
from db.vocab import TERMINAL_STATUSES, CaseStatus
from engagement.errors import BadInput
from engagement.queue.state import InvalidTransition, audit

_S = CaseStatus

#: from -> the statuses it may move to. A move to the same status is listed where it means
#: something (renewing or taking over a claim, snoozing or reassigning an open case).
ALLOWED: dict[CaseStatus, frozenset[CaseStatus]] = {
    _S.OPEN: frozenset({_S.OPEN, _S.CLAIMED, _S.ESCALATED, _S.DISMISSED, _S.CLOSED}),
    _S.CLAIMED: frozenset(
        {_S.OPEN, _S.CLAIMED, _S.PENDING_APPROVAL, _S.ESCALATED, _S.REPLIED, _S.DISMISSED, _S.CLOSED}
    ),
    # A waiting reply is approved or rejected (both hand the case back to its writer, claimed)
    # or the thread is answered elsewhere (closed).
    _S.PENDING_APPROVAL: frozenset({_S.CLAIMED, _S.CLOSED}),
    _S.ESCALATED: frozenset({_S.ESCALATED, _S.OPEN, _S.CLAIMED, _S.DISMISSED, _S.CLOSED}),
    # Finished cases only come back: a person reopens them, or the customer writes again.
    _S.REPLIED: frozenset({_S.OPEN}),
    _S.DISMISSED: frozenset({_S.OPEN}),
    _S.CLOSED: frozenset({_S.OPEN}),
}


def is_allowed(current: CaseStatus | str, to: CaseStatus | str) -> bool:
    """True when the table has the move ``current -> to``."""
    return CaseStatus(to) in ALLOWED[CaseStatus(current)]


def transition(
    session: Session,
    case: Case,
    to: CaseStatus,
    /,
    *,
    actor: str,
    action: str,
    now: datetime,
    holder: str | None = None,
    lease_minutes: float | None = None,
    reason: str | None = None,
    closed_at: datetime | None = None,
    **detail: Any,
) -> Case:
    """Move ``case`` to ``to`` in the caller's transaction, or raise ``InvalidTransition``.

    Sets the fields that belong to the target status, so no caller writes them by hand:

    - ``claimed``: ``claimed_by = holder or actor`` and a lease of ``lease_minutes`` (required:
      a claim without an expiry would never be handed out again);
    - ``open`` / ``escalated`` / ``pending_approval`` / finished: no holder, no lease;
    - finished: ``close_reason = reason`` and ``closed_at`` (``closed_at`` or ``now``);
    - leaving a finished status: the close fields are cleared.

    Writes one audit event ``action`` by ``actor`` with ``from``/``to`` and ``detail``.
    """
    assert case.id is not None
    current = CaseStatus(case.status)
    if not is_allowed(current, to):
        raise InvalidTransition(f"case {case.id} is {current.value}; it cannot become {to.value} ({action})")
    if to is CaseStatus.CLAIMED:
        if lease_minutes is None or lease_minutes <= 0:
            raise BadInput("a claim needs a positive lease_minutes")
        case.claimed_by = holder or actor
        case.claim_expires_at = now + timedelta(minutes=lease_minutes)
        detail.setdefault("holder", case.claimed_by)
        detail["lease_until"] = case.claim_expires_at.isoformat()
    else:
        case.claimed_by = None
        case.claim_expires_at = None
    if to in TERMINAL_STATUSES:
        case.close_reason = reason
        case.closed_at = closed_at or now
    elif current in TERMINAL_STATUSES:
        case.close_reason = None
        case.closed_at = None
    case.status = to.value
    case.updated_at = now
    session.add(case)
    if reason is not None:
        detail.setdefault("reason", reason)
    audit(
        session,
        case_id=case.id,
        actor=actor,
        action=action,
        now=now,
        **{"from": current.value, "to": to.value},
        **detail,
    )
    return case
