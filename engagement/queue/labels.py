"""Relabelling a post of a case: the correction is stored, and the case follows it at once.

A person's label outranks every model score (``db.scores.current_scores``). So when people
relabel every post of a case as not negative, the case closes (``close_reason = "relabelled"``,
reopenable); relabelling a post negative reopens a case closed that way (or any finished case:
the person says it needs an answer) and re-prices it. Both happen in the relabel's own
transaction, under the triage lock (``engagement.triage.cases.TRIAGE_LOCK``), so the queue, the
lead's breach list and Slack never show a case a person has just declared fine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from db.claims import serialise
from db.engine import session_scope
from db.models import Case, CasePost, LabelCorrection, Post, Score
from db.models.posts import HUMAN_CORRECTION_MODEL_ID
from db.scores import current_scores
from db.types import utcnow
from engagement.queue.policy import Action, Actor, authorize, authorize_label
from engagement.queue.state import TERMINAL_STATUSES, CaseStatus, NotAllowed, audit, lock_case
from engagement.queue.transitions import transition
from engagement.settings import EngagementSettings

log = logging.getLogger(__name__)

LABELS = ("negative", "neutral", "positive")


def correct_label(*, session: Session, post_id: int, new_label: str, by: str) -> LabelCorrection:
    """Record who changed a post's label from what to what, and make it the post's current score.

    The ``LabelCorrection`` row is what ``engagebot sentiment train`` reads as extra training
    data. The one-hot ``Score`` under the model id ``human-correction`` is what triage reads
    (it prefers a person's label to any model's), so the correction changes the queue right away.
    """
    if new_label not in LABELS:
        raise ValueError(f"unknown label {new_label!r}: choose one of {', '.join(LABELS)}")
    if session.get(Post, post_id) is None:
        raise LookupError(f"post {post_id} not found")
    now = utcnow()
    current = current_scores(session, [post_id]).get(post_id)
    correction = LabelCorrection(
        post_id=post_id,
        old_label=current.label if current is not None else None,
        new_label=new_label,
        corrected_by=by,
        created_at=now,
    )
    session.add(correction)
    human = session.exec(
        select(Score).where(col(Score.post_id) == post_id, col(Score.model_id) == HUMAN_CORRECTION_MODEL_ID)
    ).first()
    if human is None:
        human = Score(post_id=post_id, model_id=HUMAN_CORRECTION_MODEL_ID, label=new_label,
                      p_negative=0.0, p_neutral=0.0, p_positive=0.0)  # fmt: skip
    human.label = new_label
    human.p_negative = 1.0 if new_label == "negative" else 0.0
    human.p_neutral = 1.0 if new_label == "neutral" else 0.0
    human.p_positive = 1.0 if new_label == "positive" else 0.0
    human.scored_at = now
    session.add(human)
    session.flush()
    log.info("label correction: post %s %s -> %s by %s", post_id, correction.old_label, new_label, by)
    return correction


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
    from engagement.triage.cases import TRIAGE_LOCK, retriage_cases

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
            audit(session, case_id=case_id, actor=actor.name, action="relabelled", now=now, post_id=one,
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
