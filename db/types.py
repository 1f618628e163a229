"""Column types shared by all tables: timezone-aware UTC timestamps and JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: The largest primary key a row can have: the tables' keys are ``INTEGER``, 32-bit on
#: PostgreSQL. Every surface refuses ids outside 1..MAX_ID before they reach a query.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (every timestamp we store is)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always goes in and comes out as aware UTC.

    SQLite has no time zones and hands back naive datetimes; PostgreSQL converts to the
    session zone. Normalising here means no caller ever compares naive with aware times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_column(*, nullable: bool = True, index: bool = False) -> Any:
    """A fresh UTC timestamp column (SQLAlchemy needs one Column object per table)."""
    return Column(UTCDateTime(), nullable=nullable, index=index)


def json_column(*, nullable: bool = True) -> Any:
    """A fresh JSON column (JSONB-compatible on PostgreSQL, TEXT on SQLite)."""
    return Column(JSON, nullable=nullable)
