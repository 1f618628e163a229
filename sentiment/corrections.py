"""Agents' label corrections (stored by the web app) as training data on the brand's own traffic."""

from __future__ import annotations

from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import LabelCorrection, Post
from sentiment.data import LabelledText
from sentiment.labels import LABELS
from sentiment.score import post_text


def load_corrections(engine: Engine) -> list[LabelledText]:
    """The latest correction of each post whose new label is a sentiment, with the post's text."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(LabelCorrection.post_id, LabelCorrection.new_label, Post.text, Post.title)
            .join(Post, Post.id == LabelCorrection.post_id)  # type: ignore[arg-type]
            .order_by(LabelCorrection.post_id, LabelCorrection.created_at, LabelCorrection.id)  # type: ignore[arg-type]
        ).all()
    latest: dict[int, LabelledText] = {}
    for post_id, label, text, title in rows:
        if label in LABELS:
            latest[post_id] = LabelledText(post_text(text, title), label, "corrections")
        else:
            latest.pop(post_id, None)
    return list(latest.values())
