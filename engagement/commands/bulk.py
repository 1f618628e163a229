"""One action on many cases: dismiss, assign, label, snooze, tag, reopen or reply to each.

Used by the queue page's bulk bar, ``POST /api/cases/bulk``, the CLI's commands that take
several ids, and "act on all similar cases". Each case goes through ``perform`` with the same
case command as a one-case action (policy, state machine, its own audit event, its own short
transaction), so a bulk action is exactly N audited actions: one case another agent holds is
refused and reported, and the rest go ahead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine

from db.vocab import SENTIMENT_LABELS as LABELS
from db.vocab import SentimentLabel
from engagement.actors import Actor, UnknownPerson
from engagement.commands.cases import (
    CaseCommand,
    Dismiss,
    Reassign,
    Relabel,
    Reopen,
    SendReply,
    Snooze,
    Tag,
    perform,
)
from engagement.queue.state import CaseNotFound, QueueError
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
    template: str | None = None  # reply: a saved reply's name, filled from each case (its author)

    def check(self) -> None:
        """Refuse a request missing its argument before touching any case."""
        if self.action is BulkAction.REPLY and not (self.text or self.template):
            raise QueueError("bulk reply needs text or a saved reply (template)")
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
}


def command_for(request: BulkRequest) -> CaseCommand:
    """The case command each selected case gets."""
    action = request.action
    if action is BulkAction.DISMISS:
        return Dismiss(reason=request.reason or "")
    if action is BulkAction.ASSIGN:
        return Reassign(to=request.to or "")
    if action is BulkAction.LABEL:
        return Relabel(label=SentimentLabel(request.label or ""))
    if action is BulkAction.SNOOZE:
        return Snooze(until=request.until)
    if action is BulkAction.TAG:
        return Tag(add=[request.tag or ""])
    if action is BulkAction.REOPEN:
        return Reopen()
    return SendReply(text=request.text or "", template=request.template or None)


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
    command = command_for(request)
    outcomes = []
    for case_id in ids:
        try:
            done = perform(engine, actor, case_id, command, settings=settings, now=now)
        except (QueueError, CaseNotFound, UnknownPerson) as exc:
            outcomes.append(BulkOutcome(case_id=case_id, ok=False, error=str(exc)))
            continue
        status = f"reply {done.reply.status}" if done.reply is not None else done.case.status
        outcomes.append(
            BulkOutcome(case_id=case_id, ok=done.ok, status=status, error=None if done.ok else done.message)
        )
    return outcomes
