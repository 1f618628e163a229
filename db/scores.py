"""Which sentiment score counts for a post: one rule, in SQL, shared by every reader.

The rule: a person's label (a ``Score`` under ``HUMAN_CORRECTION_MODEL_ID``) if there is one,
else the newest model score (latest ``scored_at``, then highest id). Several models may score a
post over time; a re-score after a correction must not undo what a person decided.

``current_score_id(post_id)`` is the rule itself, a correlated scalar subquery: the id of the
score that counts for the post whose id column is given. Triage, the queue and case pages, the
Slack spike counts and the weekly report all join ``Score.id == current_score_id(Post.id)``;
``current_scores`` is the same rule for a list of post ids. A correlated subquery reads each
post's few scores through the ``scores.post_id`` index, so it stays fast on a 12-week report
window where a window function over every score made SQLite crawl.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, case, select
from sqlmodel import Session, col

from db.models import Post, Score
from db.models.posts import HUMAN_CORRECTION_MODEL_ID

_CHUNK = 500


def current_score_id(post_id: ColumnElement[int] | Any) -> ScalarSelect[int]:
    """The id of the score that counts for the post ``post_id`` (a column of the outer query).

    ``None`` for a post nobody has scored. Use it as ``.join(Score, col(Score.id) ==
    current_score_id(col(Post.id)))``.
    """
    person_first = case((col(Score.model_id) == HUMAN_CORRECTION_MODEL_ID, 0), else_=1)
    return (
        select(col(Score.id))
        .where(col(Score.post_id) == post_id)
        .order_by(person_first, col(Score.scored_at).desc(), col(Score.id).desc())
        .limit(1)
        .correlate_except(Score)
        .scalar_subquery()
    )


def current_scores(session: Session, post_ids: Sequence[int]) -> dict[int, Score]:
    """Per post id: the score that counts (``current_score_id``); unscored posts are left out."""
    if not post_ids:
        return {}
    scores: dict[int, Score] = {}
    wanted = sorted(set(post_ids))
    for start in range(0, len(wanted), _CHUNK):
        statement = (
            select(Score)
            .join(Post, col(Post.id) == col(Score.post_id))
            .where(col(Post.id).in_(wanted[start : start + _CHUNK]), col(Score.id) == current_score_id(col(Post.id)))
        )
        scores.update((score.post_id, score) for score in session.execute(statement).scalars())
    return scores
