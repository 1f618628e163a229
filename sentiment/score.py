"""The score step: give every post without a score from the current model one, chunk by chunk."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from sqlalchemy import Engine, and_, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from db.claims import claim_rows, stop_requested
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
    mis-scored. Several scorers share the work on PostgreSQL (see ``_score_claimed``); a stop
    request (``db.claims.request_stop``, SIGTERM) ends the run after the chunk in progress.
    Returns counts: scored, per label, chunks.
    """
    counts: Counter[str] = Counter()
    next_chunk = _score_read if is_sqlite(engine) else _score_claimed
    last_id = 0
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("scoring posts", total=count_pending(engine, model.model_id))
    try:
        while not stop_requested():
            last_claimed, values = next_chunk(engine, model, after=last_id, size=chunk_size)
            if last_claimed is None:
                if last_id == 0:
                    break
                # One more sweep from the start: chunks skipped while another scorer held
                # them are back if that scorer died (its transaction rolled back).
                last_id = 0
                continue
            last_id = last_claimed
            if not values:  # another scorer had just committed the whole chunk
                continue
            counts.update(v["label"] for v in values)
            counts["scored"] += len(values)
            counts["chunks"] += 1
            if bar is not None:
                bar.update(task, advance=len(values))
    finally:
        if bar is not None:
            bar.stop()
    log.log(
        logging.INFO if counts["scored"] else logging.DEBUG,  # a poll of an empty backlog is no news
        "scored %d posts with %s in %d chunks (%s)",
        counts["scored"],
        model.model_id,
        counts["chunks"],
        ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k not in ("scored", "chunks")) or "none",
    )
    return {"scored": 0, "chunks": 0, **dict(counts)}


Chunk = tuple[int | None, list[dict[str, Any]]]


def _after(model: SentimentModel, last_id: int) -> Any:
    return _pending(model.model_id).where(col(Post.id) > last_id).order_by(col(Post.id))


def _score_claimed(engine: Engine, model: SentimentModel, *, after: int, size: int) -> Chunk:
    """PostgreSQL: claim the next chunk, score it and write its scores in one transaction.

    The chunk's posts are locked with ``SKIP LOCKED`` (``db.claims.claim_rows``), so
    concurrent scorers take disjoint chunks; a scorer that dies mid-chunk loses its
    connection, its transaction rolls back and the posts are free for the next claimer.
    Returns the last post id claimed (None when nothing was left) and the scores written.
    """
    with session_scope(engine, write=True) as session:
        rows = claim_rows(session, _after(model, after), limit=size, of=Post)
        if not rows:
            return None, []
        pending = _still_pending(session, model.model_id, rows)
        values = _score_rows(model, pending) if pending else []
        if values:
            _insert_scores(session, values)
        return int(rows[-1][0]), values


def _still_pending(session: Session, model_id: str, rows: list[Any]) -> list[Any]:
    """Drop posts that another scorer committed scores for after our claim's snapshot.

    The claim's snapshot may predate a commit of the scorer that held those posts a moment
    ago; their rows are unlocked by then and nothing in ``posts`` changed, so the lock does
    not re-check them. This query runs in a fresh snapshot and sees that commit.
    """
    ids = [row[0] for row in rows]
    done = set(
        session.execute(
            select(col(Score.post_id)).where(col(Score.model_id) == model_id, col(Score.post_id).in_(ids))
        ).scalars()
    )
    return [row for row in rows if row[0] not in done]


def _score_read(engine: Engine, model: SentimentModel, *, after: int, size: int) -> Chunk:
    """SQLite (one writer at a time): read a chunk, score it, then write its scores.

    The write lock is taken only for the insert, not while the model runs; a second scorer
    would redo the chunk, and the insert skips (post, model) pairs that already exist.
    """
    with session_scope(engine) as session:
        rows = list(session.execute(_after(model, after).limit(size)).all())
    if not rows:
        return None, []
    values = _score_rows(model, rows)
    with session_scope(engine, write=True) as session:
        _insert_scores(session, values)
    return int(rows[-1][0]), values


def _insert_scores(session: Session, values: list[dict[str, Any]]) -> None:
    dialect_insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = dialect_insert(Score).values(values)
    session.execute(statement.on_conflict_do_nothing(index_elements=["post_id", "model_id"]))


def _score_rows(model: SentimentModel, rows: list[Any]) -> list[dict[str, Any]]:
    min_letters = model.settings.min_letters_to_detect
    now = utcnow()
    supported: list[tuple[int, str, str]] = []
    values: list[dict[str, Any]] = []
    for post_id, text, title, lang in rows:
        content = post_text(text or "", title)
        language = post_language(content, lang, min_letters=min_letters)
        if model.covers(language):
            supported.append((post_id, content, language))
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
    texts = [content for _, content, _ in supported]
    if isinstance(model, SentimentModel):  # each language to the model that covers it
        predictions = model.predict(texts, [language for _, _, language in supported])
    else:  # a stand-in with a plain predict(texts)
        predictions = model.predict(texts)
    for (post_id, _, _), p in zip(supported, predictions, strict=True):
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
