"""One action on many cases: dismiss, assign, label, snooze, tag, reopen or reply to each.

Used by the queue page's bulk bar, ``POST /api/cases/bulk``, the CLI's commands that take
several ids, and "act on all similar cases". Each case goes through the same single-case
function as a one-case action (policy, state machine, its own audit event, its own short
transaction), so a bulk action is exactly N audited actions: one case another agent holds is
refused and reported, and the rest go ahead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine

from db.engine import session_scope
from engagement.actors import find_user
from engagement.queue import actions
from engagement.queue.labels import LABELS, relabel
from engagement.queue.policy import Actor
from engagement.queue.replies import submit_reply
from engagement.queue.state import CaseNotFound, QueueError
from engagement.queue.tags import tag_case
from engagement.settings import EngagementSettings

MAX_BULK = 500


class BulkAction(StrEnum):
    """What a bulk request may do to each case."""

    DISMISS = "dismiss"
    ASSIGN = "assign"
    LABEL = "label"
    SNOOZE = "snooze"
    TAG = "tag"
    REOPEN = "reopen"
    REPLY = "reply"


@dataclass(frozen=True)
class BulkOutcome:
    """One case's result: its status after the action, or why it was refused."""

    case_id: int
    ok: bool
    status: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class BulkRequest:
    """The action and its one argument (each action reads the one it needs)."""

    action: BulkAction
    reason: str | None = None  # dismiss
    to: str | None = None  # assign: a user's name or email
    label: str | None = None  # label: every post of the case
    until: datetime | None = None  # snooze
    tag: str | None = None  # tag
    text: str | None = None  # reply (to similar cases): the same reply to each

    def check(self) -> None:
        """Refuse a request missing its argument before touching any case."""
        needed = _NEEDS.get(self.action)
        if needed and not getattr(self, needed):
            raise QueueError(f"bulk {self.action.value} needs {needed}")
        if self.action is BulkAction.LABEL and self.label not in LABELS:
            raise QueueError(f"unknown label {self.label!r}: choose one of {', '.join(LABELS)}")


_NEEDS = {
    BulkAction.DISMISS: "reason",
    BulkAction.ASSIGN: "to",
    BulkAction.LABEL: "label",
    BulkAction.SNOOZE: "until",
    BulkAction.TAG: "tag",
    BulkAction.REPLY: "text",
}


def _one(engine: Engine, case_id: int, request: BulkRequest, actor: Actor, settings: EngagementSettings,
         now: datetime | None) -> str:  # fmt: skip
    """Do the action on one case; return its status after."""
    action = request.action
    if action is BulkAction.DISMISS:
        return actions.dismiss(engine, case_id, actor=actor, reason=request.reason or "", now=now).status
    if action is BulkAction.ASSIGN:
        with session_scope(engine) as session:
            user = find_user(session, request.to or "")
            if user is None:
                raise QueueError(f"no user named {request.to!r}")
            name, team = user.name, user.team
        return actions.reassign(engine, case_id, actor=actor, to=name, team=team, now=now).status
    if action is BulkAction.LABEL:
        done = relabel(engine, case_id, post_id=None, label=request.label or "", actor=actor, settings=settings,
                       now=now)  # fmt: skip
        return done.status
    if action is BulkAction.SNOOZE:
        return actions.snooze(engine, case_id, actor=actor, until=request.until, now=now).status
    if action is BulkAction.TAG:
        tag_case(engine, case_id, actor=actor, add=[request.tag or ""], now=now)
        with session_scope(engine) as session:
            from engagement.queue.reads import get_case

            return get_case(session, case_id).status
    if action is BulkAction.REOPEN:
        return actions.reopen(engine, case_id, actor=actor, now=now).status
    reply = submit_reply(
        engine,
        case_id,
        actor=actor,
        text=request.text or "",
        settings=settings.replies,
        now=now,
        lease_minutes=settings.routing.lease_minutes,
    )
    return f"reply {reply.status}"


def bulk(
    engine: Engine,
    case_ids: Sequence[int],
    request: BulkRequest,
    *,
    actor: Actor,
    settings: EngagementSettings,
    now: datetime | None = None,
) -> list[BulkOutcome]:
    """Apply ``request`` to each case in turn; refusals are reported per case, not raised."""
    request.check()
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        raise QueueError("select at least one case")
    if len(ids) > MAX_BULK:
        raise QueueError(f"at most {MAX_BULK} cases at once ({len(ids)} selected)")
    outcomes = []
    for case_id in ids:
        try:
            status = _one(engine, case_id, request, actor, settings, now)
        except (QueueError, CaseNotFound) as exc:
            outcomes.append(BulkOutcome(case_id=case_id, ok=False, error=str(exc)))
            continue
        outcomes.append(BulkOutcome(case_id=case_id, ok=True, status=status))
    return outcomes
