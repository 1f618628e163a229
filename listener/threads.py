"""Brand-reply detection: a brand post later in a thread marks the customer posts answered.

Rules (the queue must never show what was already answered on the platform):
- any customer post whose thread (``conversation_id``) has a brand post created after it
  gets ``answered_at`` = the first such brand post's time;
- a customer post that a brand post replies to directly (``in_reply_to_id``) likewise, for
  exports that carry reply links but no thread key.
Only posts not yet answered are touched, so running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, and_, exists, func, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel

import db.models  # noqa: F401  (registers the tables)

POSTS: Table = SQLModel.metadata.tables["posts"]
_CHUNK = 500


def mark_answered(
    session: Session,
    *,
    platform: str,
    conversation_ids: Iterable[str] = (),
    post_ids: Iterable[str] = (),
) -> int:
    """Set ``answered_at`` on unanswered customer posts of these threads; returns how many.

    ``conversation_ids``: thread keys touched by new posts. ``post_ids``: external ids that
    new posts reply to. Pass what a batch touched; a brand reply found later (in another
    batch) is caught when that batch passes its thread.
    """
    changed = 0
    conversations = sorted(set(conversation_ids))
    for start in range(0, len(conversations), _CHUNK):
        chunk = conversations[start : start + _CHUNK]
        with_brand = [
            row[0]
            for row in session.execute(
                select(POSTS.c.conversation_id)
                .where(
                    POSTS.c.platform == platform,
                    POSTS.c.is_brand,
                    POSTS.c.conversation_id.in_(chunk),
                )
                .distinct()
            )
        ]
        if with_brand:
            changed += _answer_by_thread(session, platform, with_brand)
    replied = sorted(set(post_ids))
    for start in range(0, len(replied), _CHUNK):
        changed += _answer_direct_replies(session, platform, replied[start : start + _CHUNK])
    return changed


def _answer_by_thread(session: Session, platform: str, conversations: list[str]) -> int:
    brand = aliased(POSTS, name="brand_post")
    first_brand_reply = (
        select(func.min(brand.c.created_at))
        .where(
            brand.c.platform == POSTS.c.platform,
            brand.c.conversation_id == POSTS.c.conversation_id,
            brand.c.is_brand,
            brand.c.created_at > POSTS.c.created_at,
        )
        .scalar_subquery()
    )
    has_brand_reply = exists().where(
        and_(
            brand.c.platform == POSTS.c.platform,
            brand.c.conversation_id == POSTS.c.conversation_id,
            brand.c.is_brand,
            brand.c.created_at > POSTS.c.created_at,
        )
    )
    result = session.execute(
        update(POSTS)
        .where(
            POSTS.c.platform == platform,
            POSTS.c.conversation_id.in_(conversations),
            ~POSTS.c.is_brand,
            POSTS.c.answered_at.is_(None),
            has_brand_reply,
        )
        .values(answered_at=first_brand_reply)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _answer_direct_replies(session: Session, platform: str, replied_ids: list[str]) -> int:
    brand = aliased(POSTS, name="brand_post")
    condition = and_(
        brand.c.platform == POSTS.c.platform,
        brand.c.in_reply_to_id == POSTS.c.external_id,
        brand.c.is_brand,
        brand.c.created_at >= POSTS.c.created_at,
    )
    result = session.execute(
        update(POSTS)
        .where(
            POSTS.c.platform == platform,
            POSTS.c.external_id.in_(replied_ids),
            ~POSTS.c.is_brand,
            POSTS.c.answered_at.is_(None),
            exists().where(condition),
        )
        .values(answered_at=select(func.min(brand.c.created_at)).where(condition).scalar_subquery())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
