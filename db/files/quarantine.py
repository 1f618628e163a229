"""Records that cannot be stored are kept, not dropped: the raw text with where it was and why.

Shared by the listener's imports and collectors and by the CRM import; a rerun adds nothing
twice (one row per source, platform and raw text).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

import db.models  # noqa: F401  (registers the tables)
from db.files.raw import Rejected, storable_text
from db.types import utcnow

QUARANTINE: Table = SQLModel.metadata.tables["quarantined_records"]

MAX_QUARANTINED_RAW = 1_000_000
"""Characters of a rejected record kept in quarantine (a runaway CSV quote can be megabytes)."""


def fingerprint(source: str, platform: str, raw: str) -> str:
    return hashlib.sha256(f"{source}\x1f{platform}\x1f{raw}".encode("utf-8", "replace")).hexdigest()


def quarantine(session: Session, *, source: str, platform: str, rejected: Sequence[Rejected]) -> int:
    """Keep rejected raw records with their error; a rerun does not add them again."""
    if not rejected:
        return 0
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for item in rejected:
        raw = storable_text(item.raw.replace("\x00", "\\u0000"))
        if len(raw) > MAX_QUARANTINED_RAW:
            raw = f"{raw[:MAX_QUARANTINED_RAW]}... [cut: {len(raw):,} characters in all]"
        key = fingerprint(source, platform, raw)
        rows.setdefault(
            key,
            {
                "fingerprint": key,
                "source": source[:128],
                "platform": platform[:32],
                "record_ref": storable_text(item.ref or "")[:255] or None,
                "error": storable_text(item.error.replace("\x00", "")),
                "raw": raw,
                "created_at": now,
            },
        )
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(QUARANTINE)
        .on_conflict_do_nothing(index_elements=["fingerprint"])
        .execution_options(preserve_rowcount=True)
    )
    result = session.execute(stmt, list(rows.values()))
    return max(0, int(getattr(result, "rowcount", 0) or 0))
