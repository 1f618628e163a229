"""Which sentiment score counts for a post: shared by triage, the web app and reports."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from db.models import Score
from db.models.posts import HUMAN_CORRECTION_MODEL_ID


def current_scores(session: Session, post_ids: Sequence[int]) -> dict[int, Score]:
    """Per post: an agent's correction if there is one, else the newest model score.

    Several models may have scored a post over time; a re-score after a correction must not
    undo what a person decided, so corrections outrank model scores whatever their time.
    """
    if not post_ids:
        return {}
    rows = session.execute(
        select(Score).where(col(Score.post_id).in_(list(post_ids))).order_by(col(Score.scored_at), col(Score.id))
    ).scalars()
    current: dict[int, Score] = {}
    for score in rows:  # oldest first, so the newest wins, except over a person's correction
        held = current.get(score.post_id)
        if held is not None and held.model_id == HUMAN_CORRECTION_MODEL_ID != score.model_id:
            continue
        current[score.post_id] = score
    return current
