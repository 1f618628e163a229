"""What triage and the reply queue write: cases, their posts, replies, audit, corrections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from db.types import json_column, utc_column, utcnow
from db.vocab import ACTIVE_STATUSES, sql_in


class Case(SQLModel, table=True):
    """One conversation needing a reply: a negative, unanswered post (or several, merged)."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_queue", "status", "team", "priority"),
        Index("ix_cases_status_priority", "status", "priority"),
        # The queue page and claim_next read active cases of one team by priority: a partial
        # index over just those rows turns that into one index range read at 100k+ cases.
        Index(
            "ix_cases_active_by_team",
            "team",
            "priority",
            "id",
            postgresql_where=text(f"status IN ({sql_in(ACTIVE_STATUSES)})"),
            sqlite_where=text(f"status IN ({sql_in(ACTIVE_STATUSES)})"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(
        max_length=255,
        unique=True,
        description="platform:author:thread, so one author's thread is one case",
    )
    post_id: int = Field(foreign_key="posts.id", index=True, description="the post that opened the case")
    author_id: int | None = Field(default=None, foreign_key="authors.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    status: str = Field(
        default="open",
        max_length=16,
        description="open | claimed | pending_approval | replied | dismissed | escalated | closed",
    )
    platform: str = Field(default="", max_length=32, index=True, description="platform of the opening post")
    lang: str | None = Field(default=None, max_length=16, description="language of the opening post")
    team: str = Field(default="default", max_length=64)
    tier: str | None = Field(default=None, max_length=32)
    priority: float = Field(default=0.0, description="money at risk, aged toward the SLA")
    money_at_risk: float = 0.0
    reasons: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    sla_due_at: datetime | None = Field(default=None, sa_column=utc_column(index=True))
    assignee: str | None = Field(default=None, max_length=255)
    claimed_by: str | None = Field(default=None, max_length=255)
    claim_expires_at: datetime | None = Field(default=None, sa_column=utc_column())
    close_reason: str | None = None
    snoozed_until: datetime | None = Field(
        default=None, sa_column=utc_column(), description="hidden from next() until then"
    )
    notified_at: datetime | None = Field(
        default=None,
        sa_column=utc_column(),
        description="when Slack heard of it (at once or in a digest)",
    )
    last_post_at: datetime | None = Field(
        default=None, sa_column=utc_column(), description="newest post merged into the case"
    )
    last_error: str | None = Field(
        default=None,
        description="the last failure on this case (e.g. a reply the platform refused)",
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=utc_column())
    similar_group: int | None = Field(
        default=None,
        index=True,
        description="id of the first case with near-identical text from another author (see CaseSketch)",
    )
    search_text: str = Field(
        default="",
        sa_column_kwargs={"server_default": ""},
        description="title and text of the case's posts, kept by a database trigger on case_posts; the "
        "queue's full-text index is on it (db.search)",
    )


class CasePost(SQLModel, table=True):
    """A post that belongs to a case (a case merges one author's posts in a thread)."""

    __tablename__ = "case_posts"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    post_id: int = Field(foreign_key="posts.id", primary_key=True, unique=True)


class Reply(SQLModel, table=True):
    """A reply to a case: recorded with an idempotency key before it is sent."""

    __tablename__ = "replies"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    post_id: int = Field(foreign_key="posts.id")
    text: str
    author: str = Field(max_length=255, description="the agent who wrote it")
    status: str = Field(
        default="draft",
        max_length=16,
        description="draft | pending_approval | sending | sent | failed | dry_run | rejected",
    )
    idempotency_key: str = Field(max_length=128, unique=True)
    platform_reply_id: str | None = Field(default=None, max_length=128)
    approved_by: str | None = Field(default=None, max_length=255)
    attempts: int = 0
    error: str | None = None
    last_attempt_at: datetime | None = Field(
        default=None,
        sa_column=utc_column(),
        description="when a send last started (an in-flight send is left alone)",
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())


class AuditEvent(SQLModel, table=True):
    """Who did what to which case, and when."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    actor: str = Field(max_length=255)
    action: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False, index=True))


class LabelCorrection(SQLModel, table=True):
    """An agent's correction of a post's sentiment label: re-triages the post, trains the model."""

    __tablename__ = "label_corrections"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    old_label: str | None = Field(default=None, max_length=32)
    new_label: str = Field(max_length=32)
    corrected_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class CaseNote(SQLModel, table=True):
    """An internal note on a case (never posted); ``@name`` mentions notify those people."""

    __tablename__ = "case_notes"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    author: str = Field(max_length=255)
    text: str = Field(max_length=5000)
    mentions: list[str] = Field(default_factory=list, sa_column=json_column(nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class CaseTag(SQLModel, table=True):
    """A free-form label people put on a case ("refund", "press") to find and group it."""

    __tablename__ = "case_tags"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    tag: str = Field(max_length=64, primary_key=True, index=True)


class CaseSketch(SQLModel, table=True):
    """One MinHash band of a case's opening text: cases sharing a band are similar candidates.

    Finding near-identical complaints by comparing every new case with every open one is
    quadratic; banded MinHash turns it into an index look-up (``engagement.triage.similar``).
    """

    __tablename__ = "case_sketches"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    band: str = Field(max_length=32, primary_key=True, index=True)
