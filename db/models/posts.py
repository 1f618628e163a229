"""What collectors write and scoring reads: authors, posts, scores, cursors, quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from db.types import json_column, utc_column, utcnow


class AuthorBase(SQLModel):
    """A platform account seen in posts (not necessarily a customer)."""

    platform: str = Field(max_length=32)
    external_id: str = Field(
        max_length=128, description="the platform's user id (or a stable name-derived id where it has none)"
    )
    handle: str | None = Field(default=None, max_length=255, index=True, description="lower-cased, without '@'")
    display_name: str | None = Field(default=None, max_length=255)
    followers: int | None = None
    verified: bool = False
    is_brand: bool = Field(default=False, description="one of the brand's own accounts")


class Author(AuthorBase, table=True):
    __tablename__ = "authors"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_authors_platform_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class PostBase(SQLModel):
    """One public post, comment or review, as the platform gave it."""

    platform: str = Field(max_length=32, description="x | reddit | appstore | googleplay | csv | jsonl | ...")
    external_id: str = Field(max_length=128)
    source: str = Field(max_length=128, index=True, description="the configured source that collected it")
    text: str
    title: str | None = None
    lang: str | None = Field(
        default=None, max_length=16, description="language code as the platform (or detection) gave it"
    )
    url: str | None = None
    conversation_id: str | None = Field(
        default=None,
        max_length=128,
        index=True,
        description="thread key: X conversation id, Reddit submission fullname, review id",
    )
    in_reply_to_id: str | None = Field(
        default=None, max_length=128, description="external id of the post this one answers"
    )
    is_brand: bool = Field(default=False, index=True, description="posted by one of the brand's own accounts")
    rating: int | None = Field(default=None, description="star rating of a review (1-5)")
    engagement: int | None = Field(
        default=None, description="likes + replies + reposts/upvotes, where the platform gives them"
    )
    app_version: str | None = Field(
        default=None, max_length=64, description="app version a store review was written for"
    )
    text_truncated: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sql_text("false")},  # SQLite and PostgreSQL both read it
        description="the text was cut at listener.imports.max_text_chars (see docs/sources.md)",
    )


class Post(PostBase, table=True):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_posts_platform_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    author_id: int | None = Field(default=None, foreign_key="authors.id", index=True)
    created_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))
    collected_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    answered_at: datetime | None = Field(
        default=None, sa_column=utc_column(), description="when a brand reply was seen in its thread"
    )
    raw: dict[str, Any] | None = Field(
        default=None, sa_column=json_column(), description="the raw record, for audit and re-parsing"
    )


HUMAN_CORRECTION_MODEL_ID = "human-correction"
"""The ``Score.model_id`` of an agent's label correction: it outranks every model's score."""


class Score(SQLModel, table=True):
    """A sentiment score of one post by one model (name + weights hash), or by a person."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("post_id", "model_id", name="uq_scores_post_model"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    model_id: str = Field(max_length=255, index=True)
    label: str = Field(max_length=32, description="negative | neutral | positive | unsupported_language")
    p_negative: float
    p_neutral: float
    p_positive: float
    scored_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class SourceCursor(SQLModel, table=True):
    """Where a configured source stopped; saved in the same transaction as its posts."""

    __tablename__ = "source_cursors"

    source: str = Field(primary_key=True, max_length=128)
    position: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class QuarantinedRecord(SQLModel, table=True):
    """A raw record that failed to parse: kept with its error, never silently dropped."""

    __tablename__ = "quarantined_records"
    __table_args__ = (UniqueConstraint("fingerprint", name="uq_quarantined_records_fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=64, description="hash of source + raw record, so a rerun quarantines it once")
    source: str = Field(max_length=128, index=True)
    platform: str = Field(max_length=32)
    record_ref: str | None = Field(
        default=None, max_length=255, description="id or line number of the record, where known"
    )
    error: str
    raw: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
