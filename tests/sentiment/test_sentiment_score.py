"""The score step on SQLite: idempotent, resumable after a crash, marks unsupported languages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from db.models import Post, Score
from db.types import utcnow
from sentiment.model import Prediction, SentimentModel
from sentiment.score import count_pending, delete_scores, score_pending

TEXTS = [
    "@united lost my bag again and nobody answers the phone. Worst airline ever",
    "@SouthwestAir thank you so much, the crew was amazing today!",
    "@AmericanAir what time does the lounge open at DFW?",
    "@united 3 hour delay, missed my connection, no help at the desk",
    "@JetBlue love the free wifi, best flight I have had in years",
    "@delta is flight 1234 on time?",
    "@united seriously the worst customer service I have ever experienced",
]


def _insert(engine: Engine, texts: Sequence[str], *, lang: str | None = None, start: int = 0) -> None:
    with session_scope(engine) as session:
        for i, text in enumerate(texts, start=start):
            session.add(
                Post(
                    platform="x",
                    external_id=f"p{i}",
                    source="test",
                    text=text,
                    lang=lang,
                    created_at=utcnow() - timedelta(minutes=i),
                )
            )


def _scores(engine: Engine) -> list[Score]:
    with session_scope(engine) as session:
        return list(session.exec(select(Score).order_by(Score.post_id)).scalars())  # type: ignore[call-overload]


class CrashAfter:
    """The real model, except that it fails on its n-th call, as a killed worker would."""

    def __init__(self, model: SentimentModel, calls: int) -> None:
        self.model, self.calls = model, calls

    def __getattr__(self, name: str) -> object:
        return getattr(self.model, name)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.calls -= 1
        if self.calls < 0:
            raise RuntimeError("worker killed")
        return self.model.predict(texts)


def test_scores_every_post_once(sqlite_engine: Engine, default_model: SentimentModel) -> None:
    _insert(sqlite_engine, TEXTS)
    first = score_pending(sqlite_engine, default_model, chunk_size=3)
    assert first["scored"] == len(TEXTS)
    assert first["chunks"] == 3
    again = score_pending(sqlite_engine, default_model, chunk_size=3)
    assert again == {"scored": 0, "chunks": 0}
    scores = _scores(sqlite_engine)
    assert len(scores) == len(TEXTS)
    assert {s.model_id for s in scores} == {default_model.model_id}
    for s in scores:
        assert s.p_negative + s.p_neutral + s.p_positive == pytest.approx(1.0, abs=1e-4)
        assert s.label in ("negative", "neutral", "positive")


def test_resumes_after_a_crash(sqlite_engine: Engine, default_model: SentimentModel) -> None:
    _insert(sqlite_engine, TEXTS)
    with pytest.raises(RuntimeError, match="worker killed"):
        score_pending(sqlite_engine, CrashAfter(default_model, calls=1), chunk_size=3)  # type: ignore[arg-type]
    assert len(_scores(sqlite_engine)) == 3  # the first chunk was committed
    assert count_pending(sqlite_engine, default_model.model_id) == len(TEXTS) - 3
    rest = score_pending(sqlite_engine, default_model, chunk_size=3)
    assert rest["scored"] == len(TEXTS) - 3
    assert len(_scores(sqlite_engine)) == len(TEXTS)


def test_new_posts_and_rescore(sqlite_engine: Engine, default_model: SentimentModel) -> None:
    _insert(sqlite_engine, TEXTS[:2])
    score_pending(sqlite_engine, default_model)
    _insert(sqlite_engine, TEXTS[2:4], start=2)
    assert score_pending(sqlite_engine, default_model)["scored"] == 2
    assert delete_scores(sqlite_engine, default_model.model_id) == 4
    assert score_pending(sqlite_engine, default_model)["scored"] == 4
    with session_scope(sqlite_engine) as session:
        assert session.execute(select(func.count()).select_from(Score)).scalar_one() == 4


def test_unsupported_languages_are_marked(sqlite_engine: Engine, english_model: SentimentModel) -> None:
    with session_scope(sqlite_engine) as session:
        rows = [
            ("de-tag", "Toller Service, danke!", "de"),
            (
                "de-detected",
                "Der Flug hatte wieder drei Stunden Verspätung und niemand hat uns informiert",
                None,
            ),
            ("short", "Danke!", None),
            ("en-tag", "Der Flug hatte wieder drei Stunden Verspätung", "en"),
            ("und", "@united worst delay ever, three hours on the tarmac", "und"),
        ]
        for external_id, text, lang in rows:
            session.add(
                Post(
                    platform="x",
                    external_id=external_id,
                    source="test",
                    text=text,
                    lang=lang,
                    created_at=utcnow(),
                )
            )
    counts = score_pending(sqlite_engine, english_model)
    assert counts["unsupported_language"] == 2
    with session_scope(sqlite_engine) as session:
        labels = dict(
            session.execute(select(Post.external_id, Score.label).join(Score, Score.post_id == Post.id)).all()
        )  # type: ignore[arg-type]
    assert labels["de-tag"] == labels["de-detected"] == "unsupported_language"
    assert {labels["short"], labels["en-tag"], labels["und"]} <= {"negative", "neutral", "positive"}
    assert labels["und"] == "negative"
