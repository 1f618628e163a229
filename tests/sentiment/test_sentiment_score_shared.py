"""Several scorers at once on PostgreSQL: each chunk is claimed, so they split the posts.

A scorer claims a chunk with ``FOR NO KEY UPDATE OF posts SKIP LOCKED`` in the transaction
that writes its scores. These tests run scorers in threads with ``CheapModel`` (instant, and
it records every text it was given), so "nothing scored twice" means no text reached two
models, not just that the unique key held.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from cheap_model import CheapModel
from sqlalchemy import Engine, func, select
from sqlmodel import col

import sentiment.score as score_module
from db.engine import session_scope
from db.models import Post, Score
from db.types import utcnow
from sentiment.score import count_pending, score_pending

pytestmark = pytest.mark.timeout(120)


def add_posts(engine: Engine, n: int) -> list[str]:
    texts = [f"post {i} {'bad' if i % 4 == 0 else 'fine'}" for i in range(n)]
    with session_scope(engine) as session:
        session.add_all(
            Post(
                platform="x", external_id=f"p{i}", source="test", text=text, created_at=utcnow() - timedelta(minutes=i)
            )
            for i, text in enumerate(texts)
        )
    return texts


def scores_per_post(engine: Engine, model_id: str) -> Counter[int]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(col(Score.post_id), func.count()).where(col(Score.model_id) == model_id).group_by(col(Score.post_id))
        )
        return Counter({int(post_id): int(n) for post_id, n in rows})


def run_in_thread(engine: Engine, model: CheapModel, chunk_size: int) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["counts"] = score_pending(engine, model, chunk_size=chunk_size)  # type: ignore[arg-type]
        except Exception as exc:  # the test looks at it
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


@pytest.mark.postgres
def test_two_scorers_split_the_posts_and_score_each_once(pg_engine: Engine) -> None:
    texts = add_posts(pg_engine, 240)
    start = threading.Barrier(2)

    def slow_chunks(call: int) -> None:
        if call == 1:
            start.wait(timeout=30)  # both hold their first chunk before either goes on
        time.sleep(0.02)

    models = [CheapModel(on_predict=slow_chunks), CheapModel(on_predict=slow_chunks)]
    runs = [run_in_thread(pg_engine, model, chunk_size=10) for model in models]
    for thread, _ in runs:
        thread.join(timeout=90)
    outcomes = [outcome for _, outcome in runs]
    assert all("error" not in o for o in outcomes), outcomes

    seen = [set(model.seen) for model in models]
    assert all(len(model.seen) > 0 for model in models), "both scorers got work"
    assert not seen[0] & seen[1], "no post was given to both models"
    assert sorted(models[0].seen + models[1].seen) == sorted(texts)
    counts = [o["counts"] for o in outcomes]
    assert sum(c["scored"] for c in counts) == len(texts)  # type: ignore[index]
    per_post = scores_per_post(pg_engine, CheapModel.model_id)
    assert len(per_post) == len(texts) and set(per_post.values()) == {1}
    assert count_pending(pg_engine, CheapModel.model_id) == 0


@pytest.mark.postgres
def test_a_chunk_whose_scorer_fails_is_scored_by_the_other(pg_engine: Engine) -> None:
    texts = add_posts(pg_engine, 30)
    holding, release = threading.Event(), threading.Event()

    def hold_then_die(call: int) -> None:
        holding.set()
        release.wait(timeout=30)
        raise RuntimeError("scorer killed mid-chunk")

    doomed = CheapModel(on_predict=hold_then_die)
    doomed_thread, doomed_outcome = run_in_thread(pg_engine, doomed, chunk_size=10)
    assert holding.wait(timeout=30), "the doomed scorer holds its first chunk"

    def let_it_die_after_my_first_chunk(call: int) -> None:
        if call == 1:  # we skipped the locked chunk and hold the next one; now it rolls back
            release.set()
            doomed_thread.join(timeout=30)
            assert isinstance(doomed_outcome.get("error"), RuntimeError)

    survivor = CheapModel(on_predict=let_it_die_after_my_first_chunk)
    counts = score_pending(pg_engine, survivor, chunk_size=10)  # type: ignore[arg-type]

    assert not doomed_thread.is_alive()
    assert doomed.seen == [], "the doomed scorer never got to label its chunk"
    # one run of the survivor: its own chunks, then the released chunk on its sweep from the start
    assert counts["scored"] == len(texts) and counts["chunks"] == 3
    assert sorted(survivor.seen) == sorted(texts)
    per_post = scores_per_post(pg_engine, CheapModel.model_id)
    assert len(per_post) == len(texts) and set(per_post.values()) == {1}


@pytest.mark.postgres
def test_a_locked_chunk_is_skipped_not_waited_for(pg_engine: Engine) -> None:
    """While one scorer holds a chunk, another scores the rest and returns without it."""
    texts = add_posts(pg_engine, 25)
    holding, release = threading.Event(), threading.Event()

    def hold(call: int) -> None:
        if call == 1:
            holding.set()
            release.wait(timeout=30)

    holder = CheapModel(on_predict=hold)
    holder_thread, holder_outcome = run_in_thread(pg_engine, holder, chunk_size=10)
    assert holding.wait(timeout=30)
    other = CheapModel()
    counts = score_pending(pg_engine, other, chunk_size=10)  # type: ignore[arg-type]
    assert counts["scored"] == len(texts) - 10
    release.set()
    holder_thread.join(timeout=30)
    assert holder_outcome["counts"]["scored"] == 10  # type: ignore[index]
    assert not set(holder.seen) & set(other.seen)
    assert set(scores_per_post(pg_engine, CheapModel.model_id).values()) == {1}
    assert count_pending(pg_engine, CheapModel.model_id) == 0


def test_a_stop_request_ends_the_run_between_chunks(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    add_posts(engine, 30)
    model = CheapModel()
    monkeypatch.setattr(score_module, "stop_requested", lambda: model.calls >= 1)
    counts = score_pending(engine, model, chunk_size=10)  # type: ignore[arg-type]
    assert (counts["scored"], counts["chunks"]) == (10, 1), "the chunk in progress is finished, no more"
    assert count_pending(engine, CheapModel.model_id) == 20
    monkeypatch.undo()
    assert score_pending(engine, model, chunk_size=10)["scored"] == 20  # type: ignore[arg-type]
