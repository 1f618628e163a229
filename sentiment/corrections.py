"""Agents' label corrections (stored by the web app) as training data on the brand's own traffic.

Each correction carries its post's language (the platform's tag, else detection, as the score
step decides it), so it trains the model that scores that language.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import LabelCorrection, Post
from sentiment.data import LabelledText
from sentiment.labels import LABELS
from sentiment.language import post_language
from sentiment.score import post_text


def load_corrections(engine: Engine) -> list[LabelledText]:
    """The latest correction of each post whose new label is a sentiment, with the post's text."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                col(LabelCorrection.post_id),
                col(LabelCorrection.new_label),
                col(Post.text),
                col(Post.title),
                col(Post.lang),
            )
            .join(Post, col(Post.id) == col(LabelCorrection.post_id))
            .order_by(
                col(LabelCorrection.post_id),
                col(LabelCorrection.created_at),
                col(LabelCorrection.id),
            )
        ).all()
    latest: dict[int, LabelledText] = {}
    for post_id, label, text, title, lang in rows:
        if label in LABELS:
            content = post_text(text, title)
            latest[post_id] = LabelledText(content, label, post_language(content, lang))
        else:
            latest.pop(post_id, None)
    return list(latest.values())


def in_languages(corrections: list[LabelledText], languages: Sequence[str]) -> list[LabelledText]:
    """The corrections whose post is in one of ``languages`` (the ones a model is trained for)."""
    wanted = {lang.lower() for lang in languages}
    return [c for c in corrections if (c.group or "en").lower() in wanted]
