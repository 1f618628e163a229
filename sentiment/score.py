"""The score step: give every post without a score from the current model one, chunk by chunk."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from sqlalchemy import Engine, and_, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from db.engine import is_sqlite, session_scope
from db.models import Post, Score
from db.types import utcnow
from sentiment.labels import UNSUPPORTED_LANGUAGE
from sentiment.language import post_language
from sentiment.model import SentimentModel

log = logging.getLogger(__name__)


def _pending(model_id: str) -> Any:
    scored = and_(col(Score.post_id) == col(Post.id), col(Score.model_id) == model_id)
    columns = (col(Post.id), col(Post.text), col(Post.title), col(Post.lang))
    return select(*columns).outerjoin(Score, scored).where(col(Score.id).is_(None))


def count_pending(engine: Engine, model_id: str) -> int:
    """Posts that have no score from ``model_id`` yet."""
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(_pending(model_id).subquery())).scalar_one())


def post_text(text: str, title: str | None) -> str:
    """What gets scored: a review's title belongs to its text ("Terrible. App crashes...")."""
    return f"{title.strip()}. {text}" if title and title.strip() else text


def score_pending(
    engine: Engine, model: SentimentModel, *, chunk_size: int = 512, progress: bool = False
) -> dict[str, int]:
    """Score posts without a ``Score`` for ``model.model_id``; commit each chunk as it is done.

    Crash-safe and resumable: a chunk's scores are committed together, and the next run starts
    from whatever is still unscored. Posts in languages the model does not cover get the label
    ``unsupported_language`` (probabilities 0) so they are visibly not scored rather than
    mis-scored. A concurrent scorer cannot make duplicates: inserts skip existing
    (post, model) pairs. Returns counts: scored, per label, chunks.
    """
    counts: Counter[str] = Counter()
    total = count_pending(engine, model.model_id)
    last_id = 0
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("scoring posts", total=total)
    try:
        while True:
            with session_scope(engine) as session:
                rows = session.execute(
                    _pending(model.model_id).where(col(Post.id) > last_id).order_by(col(Post.id)).limit(chunk_size)
                ).all()
            if not rows:
                break
            last_id = rows[-1][0]
            values = _score_rows(model, list(rows))
            statement = (sqlite_insert if is_sqlite(engine) else pg_insert)(Score).values(values)
            with session_scope(engine, write=True) as session:
                session.execute(statement.on_conflict_do_nothing(index_elements=["post_id", "model_id"]))
            counts.update(v["label"] for v in values)
            counts["scored"] += len(values)
            counts["chunks"] += 1
            if bar is not None:
                bar.update(task, advance=len(values))
    finally:
        if bar is not None:
            bar.stop()
    log.info(
        "scored %d posts with %s in %d chunks (%s)",
        counts["scored"],
        model.model_id,
        counts["chunks"],
        ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k not in ("scored", "chunks")) or "none",
    )
    return {"scored": 0, "chunks": 0, **dict(counts)}


def _score_rows(model: SentimentModel, rows: list[Any]) -> list[dict[str, Any]]:
    min_letters = model.settings.min_letters_to_detect
    now = utcnow()
    supported: list[tuple[int, str]] = []
    values: list[dict[str, Any]] = []
    for post_id, text, title, lang in rows:
        content = post_text(text or "", title)
        if model.covers(post_language(content, lang, min_letters=min_letters)):
            supported.append((post_id, content))
        else:
            values.append(
                {
                    "post_id": post_id,
                    "model_id": model.model_id,
                    "label": UNSUPPORTED_LANGUAGE,
                    "p_negative": 0.0,
                    "p_neutral": 0.0,
                    "p_positive": 0.0,
                    "scored_at": now,
                }
            )
    predictions = model.predict([content for _, content in supported])
    for (post_id, _), p in zip(supported, predictions, strict=True):
        values.append(
            {
                "post_id": post_id,
                "model_id": model.model_id,
                "label": p.label,
                "p_negative": p.p_negative,
                "p_neutral": p.p_neutral,
                "p_positive": p.p_positive,
                "scored_at": now,
            }
        )
    return values


def delete_scores(engine: Engine, model_id: str) -> int:
    """Drop every score of ``model_id`` (the ``--rescore`` path); returns how many went."""
    with session_scope(engine, write=True) as session:
        result = session.execute(delete(Score).where(Score.model_id == model_id))  # type: ignore[arg-type]
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
