"""What admins edit in the app (routing rules, the brand profile), kept with its history.

``engagebot.toml`` keeps infrastructure and secrets and seeds these rows on first start; from
then on the database is the truth, so an admin's change takes effect at the next triage
without a restart, and every change leaves who, when, before and after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from db.types import json_column, utc_column, utcnow


class AdminSetting(SQLModel, table=True):
    """One edited setting by key (``routing_rules``, ``brand``) and its value as JSON."""

    __tablename__ = "admin_settings"

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(default=None, sa_column=json_column(nullable=True))
    updated_by: str = Field(max_length=255)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class AdminSettingChange(SQLModel, table=True):
    """The audit trail of ``admin_settings``: one row per change (``seeded`` from TOML too)."""

    __tablename__ = "admin_setting_changes"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, index=True)
    actor: str = Field(max_length=255)
    action: str = Field(max_length=32, description="seeded | updated | imported")
    before: Any = Field(default=None, sa_column=json_column(nullable=True))
    after: Any = Field(default=None, sa_column=json_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
