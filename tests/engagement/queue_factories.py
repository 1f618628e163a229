"""Small factories for triage/queue/notify tests: authors, posts with scores, linked customers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Author, Customer, Identity, Post, Score, User
from engagement.actors import Actor

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def author(
    engine: Engine,
    *,
    handle: str,
    platform: str = "x",
    followers: int = 100,
    is_brand: bool = False,
) -> int:
    with session_scope(engine) as session:
        row = Author(
            platform=platform,
            external_id=f"u-{handle}",
            handle=handle,
            display_name=handle.title(),
            followers=followers,
            is_brand=is_brand,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def customer(
    engine: Engine,
    *,
    handle: str,
    rclv: float | None,
    clv: float | None = None,
    platform: str = "x",
    name: str = "Ada Lovelace",
    segment: str | None = None,
    status: str = "confirmed",
) -> int:
    with session_scope(engine) as session:
        row = Customer(
            crm_id=f"crm-{handle}",
            name=name,
            rclv=rclv,
            clv=clv if clv is not None else rclv,
            segment=segment,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        session.add(
            Identity(
                customer_id=row.id,
                platform=platform,
                handle=handle,
                method="crm_import",
                status=status,
            )
        )
        return row.id


def post(
    engine: Engine,
    *,
    author_id: int | None,
    text: str,
    p_negative: float | None = 0.9,
    label: str | None = None,
    platform: str = "x",
    created_at: datetime | None = None,
    conversation_id: str | None = None,
    in_reply_to_id: str | None = None,
    rating: int | None = None,
    is_brand: bool = False,
    lang: str | None = "en",
    external_id: str | None = None,
    model_id: str = "test-model",
    scored_at: datetime | None = None,
) -> int:
    """A post and (unless ``p_negative`` is None) its sentiment score."""
    n = next(_ids)
    ext = external_id or f"{platform}-{n}"
    with session_scope(engine) as session:
        row = Post(
            platform=platform,
            external_id=ext,
            source=f"{platform}-search",
            text=text,
            lang=lang,
            conversation_id=conversation_id,
            in_reply_to_id=in_reply_to_id,
            is_brand=is_brand,
            rating=rating,
            author_id=author_id,
            created_at=created_at or NOW - timedelta(minutes=30),
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        if p_negative is not None:
            rest = (1.0 - p_negative) / 2
            session.add(
                Score(
                    post_id=row.id,
                    model_id=model_id,
                    label=label or ("negative" if p_negative >= 0.5 else "neutral"),
                    p_negative=p_negative,
                    p_neutral=rest,
                    p_positive=rest,
                    scored_at=scored_at or NOW - timedelta(minutes=20),
                )
            )
        return row.id


def user(
    engine: Engine,
    *,
    name: str,
    team: str = "default",
    role: str = "agent",
    is_away: bool = False,
    slack_user_id: str | None = None,
) -> None:
    with session_scope(engine) as session:
        session.add(
            User(
                email=f"{name}@example.com",
                name=name,
                password_hash="x",
                role=role,
                team=team,
                is_away=is_away,
                slack_user_id=slack_user_id,
            )
        )


LEADS = frozenset({"lead", "lena"})


def person(name: str, *, team: str = "default", role: str | None = None) -> Actor:
    """The queue's view of a person (tests of the queue steps; the surfaces resolve real users)."""
    return Actor(name=name, role=role or ("lead" if name in LEADS else "agent"), team=team)
