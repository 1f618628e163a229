"""Agents' label corrections (stored by the web app) as training data on the brand's own traffic."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import LabelCorrection, Post
from sentiment.data import LabelledText
from sentiment.labels import LABELS
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
            )
            .join(Post, col(Post.id) == col(LabelCorrection.post_id))
            .order_by(
                col(LabelCorrection.post_id),
                col(LabelCorrection.created_at),
                col(LabelCorrection.id),
            )
        ).all()
    latest: dict[int, LabelledText] = {}
    for post_id, label, text, title in rows:
        if label in LABELS:
            latest[post_id] = LabelledText(post_text(text, title), label, "corrections")
        else:
            latest.pop(post_id, None)
    return list(latest.values())
