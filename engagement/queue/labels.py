"""A person's sentiment label for a post: stored as a correction and as the post's current score.

The case follows a relabel at once; that is the relabel command's job
(``engagement.commands.relabel``), which sits above triage and the queue.

A person's label outranks every model score (``db.scores.current_scores``). So when people
relabel every post of a case as not negative, the case closes (``close_reason = "relabelled"``,
reopenable); relabelling a post negative reopens a case closed that way (or any finished case:
the person says it needs an answer) and re-prices it. Both happen in the relabel's own
transaction, under the triage lock (``engagement.triage.cases.TRIAGE_LOCK``), so the queue, the
lead's breach list and Slack never show a case a person has just declared fine.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from db.models import LabelCorrection, Post, Score
from db.models.posts import HUMAN_CORRECTION_MODEL_ID
from db.scores import current_scores
from db.types import utcnow
from db.vocab import SENTIMENT_LABELS
from engagement.errors import BadInput, NotFound

log = logging.getLogger(__name__)

LABELS = SENTIMENT_LABELS


def correct_label(*, session: Session, post_id: int, new_label: str, by: str) -> LabelCorrection:
    """Record who changed a post's label from what to what, and make it the post's current score.

    The ``LabelCorrection`` row is what ``engagebot sentiment train`` reads as extra training
    data. The one-hot ``Score`` under the model id ``human-correction`` is what triage reads
    (it prefers a person's label to any model's), so the correction changes the queue right away.
    """
    if new_label not in LABELS:
        raise BadInput(f"unknown label {new_label!r}: choose one of {', '.join(LABELS)}")
    if session.get(Post, post_id) is None:
        raise NotFound(f"post {post_id} not found")
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
