"""Relabelling a post of a case: the correction is stored, and the case follows it at once.

A person's label outranks every model score (``db.scores.current_scores``). So when people
relabel every post of a case as not negative, the case closes (``close_reason = "relabelled"``,
reopenable); relabelling a post negative reopens a case closed that way (or any finished case:
the person says it needs an answer) and re-prices it. Both happen in the relabel's own
transaction, under the triage lock (``engagement.triage.cases.TRIAGE_LOCK``), so the queue, the
lead's breach list and Slack never show a case a person has just declared fine.

Why here and not in the queue: re-pricing is triage's work, and triage opens cases through the
queue, so the relabel that uses both sits in the command layer above them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from db.claims import serialise
from db.engine import session_scope
from db.models import Case, CasePost
from db.types import utcnow
from db.vocab import TERMINAL_STATUSES, AuditVerb, CaseStatus
from engagement.actors import Actor
from engagement.queue.labels import correct_label
from engagement.queue.policy import Action, authorize, authorize_label
from engagement.queue.state import NotAllowed, audit, lock_case
from engagement.queue.transitions import transition
from engagement.settings import EngagementSettings
from engagement.triage.cases import TRIAGE_LOCK, retriage_cases


@dataclass(frozen=True)
class Relabelled:
    """What a relabel did: the correction, and the case's status and close reason after it."""

    correction_id: int
    post_id: int | None
    old_label: str | None
    new_label: str
    case_id: int
    status: str
    close_reason: str | None


def relabel(
    engine: Engine,
    case_id: int,
    *,
    post_id: int | None,
    label: str,
    actor: Actor,
    settings: EngagementSettings,
    now: datetime | None = None,
) -> Relabelled:
    """Correct the label of one post of a case (``post_id=None``: every post of it), then close,
    reopen or re-price the case at once.

    Web, API and CLI all call this. An active case needs the ``label`` permission; a finished
    one the ``reopen`` permission (relabelling its post negative brings it back).
    """
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        serialise(session, TRIAGE_LOCK)  # triage's order: the lock first, then the case rows
        case: Case = lock_case(session, case_id)
        finished = CaseStatus(case.status) in TERMINAL_STATUSES
        posts = list(session.exec(select(CasePost.post_id).where(col(CasePost.case_id) == case_id)).all())
        if post_id is not None and post_id not in posts:
            raise NotAllowed(f"post {post_id} is not part of case {case_id}; relabel it from its own case")
        if finished:
            authorize(actor, Action.REOPEN, case, now)
        elif post_id is not None:
            authorize_label(session, actor, case, post_id, now)
        else:
            authorize(actor, Action.LABEL, case, now)
        for one in [post_id] if post_id is not None else posts:
            correction = correct_label(session=session, post_id=one, new_label=label, by=actor.name)
            audit(session, case_id=case_id, actor=actor.name, action=AuditVerb.RELABELLED, now=now, post_id=one,
                  old_label=correction.old_label, new_label=label)  # fmt: skip
        if finished and label == "negative":
            case.snoozed_until = None
            transition(session, case, CaseStatus.OPEN, actor=actor.name, action="reopened", now=now,
                       reason="relabelled negative", previous_status=case.status)  # fmt: skip
        if not finished or label == "negative":
            retriage_cases(session, settings, [case_id], now=now)
        session.flush()
        assert correction.id is not None
        return Relabelled(
            correction_id=correction.id,
            post_id=post_id,
            old_label=correction.old_label,
            new_label=label,
            case_id=case_id,
            status=case.status,
            close_reason=case.close_reason,
        )
