"""Agents' sentiment label corrections: stored for training, applied as a score, re-triaged."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from db.models import LabelCorrection, Post, Score
from db.models.posts import HUMAN_CORRECTION_MODEL_ID
from db.types import utcnow
from engagement.settings import EngagementSettings
from engagement.triage.cases import triage
from engagement.web.queue_view import latest_scores

log = logging.getLogger(__name__)

LABELS = ("negative", "neutral", "positive")
HUMAN_MODEL_ID = HUMAN_CORRECTION_MODEL_ID


def correct_label(*, session: Session, post_id: int, new_label: str, by: str) -> LabelCorrection:
    """Record who changed a post's label from what to what, and make it the post's newest score.

    The ``LabelCorrection`` row is what ``engagebot sentiment train`` reads as extra training
    data. The one-hot ``Score`` under the model id ``human-correction`` is what triage reads
    (it prefers a person's label to any model's), so the correction changes the queue right away.
    """
    if new_label not in LABELS:
        raise ValueError(f"unknown label {new_label!r}: choose one of {', '.join(LABELS)}")
    if session.get(Post, post_id) is None:
        raise LookupError(f"post {post_id} not found")
    now = utcnow()
    current = latest_scores(session=session, post_ids=[post_id]).get(post_id)
    correction = LabelCorrection(
        post_id=post_id,
        old_label=current.label if current is not None else None,
        new_label=new_label,
        corrected_by=by,
        created_at=now,
    )
    session.add(correction)
    human = session.exec(
        select(Score).where(col(Score.post_id) == post_id, col(Score.model_id) == HUMAN_MODEL_ID)
    ).first()
    if human is None:
        human = Score(
            post_id=post_id,
            model_id=HUMAN_MODEL_ID,
            label=new_label,
            p_negative=0,
            p_neutral=0,
            p_positive=0,
        )
    human.label = new_label
    human.p_negative = 1.0 if new_label == "negative" else 0.0
    human.p_neutral = 1.0 if new_label == "neutral" else 0.0
    human.p_positive = 1.0 if new_label == "positive" else 0.0
    human.scored_at = now
    session.add(human)
    session.flush()
    log.info("label correction: post %s %s -> %s by %s", post_id, correction.old_label, new_label, by)
    return correction


def retriage(engine: Engine, settings: EngagementSettings) -> None:
    """Re-run triage after a correction or a confirmed link (a background task: logs errors)."""
    try:
        counts = triage(engine, settings)
        log.info("re-triage after a correction: %s", counts)
    except Exception:
        log.exception("re-triage after a correction failed")
