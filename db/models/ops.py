"""Operational tables: notifications outbox, job runs, users, the scheduler lease."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from db.types import json_column, utc_column, utcnow


class Outbox(SQLModel, table=True):
    """A notification to deliver (Slack): written first, sent once, its outcome checked before a
    re-send.

    ``attempt_started_at`` is set when a sender claims the message and cleared once the outcome
    of that attempt is known (sent, refused, rate limited). Still set when the message is
    claimed again means the earlier attempt's outcome is unknown (the sender died, timed out or
    got a 5xx): the next sender looks for the message in Slack before sending it again.
    """

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=64, description="slack | ...")
    kind: str = Field(max_length=64, description="new_case | digest | sla_breach | spike | report")
    dedupe_key: str = Field(max_length=255, unique=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    status: str = Field(default="pending", max_length=16, index=True, description="pending | sent | failed")
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False, index=True))
    attempt_started_at: datetime | None = Field(default=None, sa_column=utc_column())
    claimed_by: str | None = Field(default=None, max_length=255, description="the sender of the last attempt")
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())


class JobRun(SQLModel, table=True):
    """One run of one step (collect a source, score, triage, notify, report)."""

    __tablename__ = "job_runs"

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64, index=True)
    source: str | None = Field(default=None, max_length=128, index=True)
    status: str = Field(default="running", max_length=16, description="running | ok | failed | died")
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    error: str | None = None
    started_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False, index=True))
    finished_at: datetime | None = Field(default=None, sa_column=utc_column())
    heartbeat_at: datetime | None = Field(
        default=None,
        sa_column=utc_column(),
        description="last sign of life of a running run (db.jobs); a stale one means the process died",
    )
    process: str | None = Field(default=None, max_length=128, description="host:pid that ran it")


class User(SQLModel, table=True):
    """A person who works the queue: agent, lead or admin, in a team."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=255, unique=True, index=True)
    name: str = Field(max_length=255)
    password_hash: str
    role: str = Field(default="agent", max_length=16, description="agent | lead | admin")
    team: str = Field(default="default", max_length=64)
    is_away: bool = False
    language: str | None = Field(
        default=None, max_length=8, description="the interface language they chose ('de'); None: their browser's"
    )
    slack_user_id: str | None = Field(
        default=None, max_length=32, unique=True, description="the person's Slack member id (U…), for Slack actions"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    deactivated_at: datetime | None = Field(
        default=None, sa_column=utc_column(), description="set when an admin deactivates them: no sign-in, no cases"
    )


class SchedulerLease(SQLModel, table=True):
    """Which worker leads (schedules) now; a fallback where advisory locks do not exist."""

    __tablename__ = "scheduler_leases"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=255)
    expires_at: datetime = Field(sa_column=utc_column(nullable=False))
