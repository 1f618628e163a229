"""An agent's label correction outranks any model score, even a newer re-score."""

from __future__ import annotations

from datetime import timedelta

import queue_factories as f
from queue_factories import NOW
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import Case, Score
from db.models.posts import HUMAN_CORRECTION_MODEL_ID
from db.scores import current_scores
from engagement.settings import EngagementSettings
from engagement.triage.cases import triage


def _add_score(engine: Engine, post_id: int, *, model_id: str, label: str, p_negative: float, minutes_ago: int) -> None:
    rest = (1.0 - p_negative) / 2
    with session_scope(engine) as session:
        session.add(
            Score(
                post_id=post_id,
                model_id=model_id,
                label=label,
                p_negative=p_negative,
                p_neutral=rest,
                p_positive=rest,
                scored_at=NOW - timedelta(minutes=minutes_ago),
            )
        )


def _corrected_then_rescored(engine: Engine) -> int:
    """A model thought it neutral; an agent corrected it to negative; a newer model re-scored it neutral."""
    ada = f.author(engine, handle="ada")
    post = f.post(engine, author_id=ada, text="lovely, another 3 hour delay", p_negative=0.2, model_id="model-a")
    _add_score(engine, post, model_id=HUMAN_CORRECTION_MODEL_ID, label="negative", p_negative=1.0, minutes_ago=10)
    _add_score(engine, post, model_id="model-b", label="neutral", p_negative=0.1, minutes_ago=1)
    return post


def test_a_re_score_after_a_correction_does_not_undo_it(engine: Engine) -> None:
    post = _corrected_then_rescored(engine)

    with session_scope(engine) as session:
        counted = current_scores(session, [post])[post]
        assert (counted.model_id, counted.label) == (HUMAN_CORRECTION_MODEL_ID, "negative")

    triage(engine, EngagementSettings(), now=NOW)
    with session_scope(engine) as session:
        cases = session.execute(select(Case)).scalars().all()
        assert [c.post_id for c in cases] == [post], "the corrected post is a case despite the newer model score"


def test_without_a_correction_the_newest_model_score_counts(engine: Engine) -> None:
    ada = f.author(engine, handle="ada")
    post = f.post(engine, author_id=ada, text="bag lost", p_negative=0.9, model_id="model-a")
    _add_score(engine, post, model_id="model-b", label="neutral", p_negative=0.1, minutes_ago=1)
    with session_scope(engine) as session:
        assert current_scores(session, [post])[post].model_id == "model-b"
        assert current_scores(session, []) == {}


def test_the_weekly_report_counts_the_corrected_label_too(engine: Engine) -> None:
    from engagement.report.query import newest_labels

    post = _corrected_then_rescored(engine)
    with session_scope(engine) as session:
        labels = newest_labels(NOW - timedelta(days=7), NOW + timedelta(days=1), session=session)
    assert labels == {post: "negative"}
