"""An INSERT that can say ON CONFLICT, for whichever database the session is on."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def upsert(session: Session, table: type[SQLModel]) -> Any:
    """``insert(table)`` in the session's dialect (PostgreSQL or SQLite), so the caller can add
    ``.on_conflict_do_update(...)``: both dialects spell it the same way."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
