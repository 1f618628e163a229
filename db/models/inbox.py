"""What people leave on a case while they work it: presence heartbeats, drafts, saved replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from db.types import utc_column, utcnow


class CasePresence(SQLModel, table=True):
    """One person's latest heartbeat on a case page; rows older than ~30 s mean they left.

    One row per case and person, overwritten by every heartbeat, so the table stays as small as
    the number of people looking at cases; stale rows are ignored on read and pruned on write.
    """

    __tablename__ = "case_presence"
    __table_args__ = (UniqueConstraint("case_id", "user_name", name="uq_case_presence_case_user"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    user_name: str = Field(max_length=255)
    activity: str = Field(default="viewing", max_length=16, description="viewing | replying")
    seen_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False, index=True))


class ReplyDraft(SQLModel, table=True):
    """The reply a person is writing on a case, saved as they type so no conflict or reload loses it."""

    __tablename__ = "reply_drafts"
    __table_args__ = (UniqueConstraint("case_id", "user_name", name="uq_reply_drafts_case_user"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    user_name: str = Field(max_length=255)
    text: str = Field(default="", max_length=10_000)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class SavedReply(SQLModel, table=True):
    """A reply text leads keep for their team (``team`` None: every team), with ``{variables}``."""

    __tablename__ = "saved_replies"
    __table_args__ = (UniqueConstraint("team", "name", name="uq_saved_replies_team_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    team: str | None = Field(default=None, max_length=64, description="None: shared by every team")
    text: str = Field(max_length=10_000)
    updated_by: str = Field(max_length=255)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
