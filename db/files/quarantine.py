"""Records that cannot be stored are kept, not dropped: the raw text with where it was and why.

Shared by the listener's imports and collectors and by the CRM import; a rerun adds nothing
twice (one row per source, platform and raw text).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

import db.models  # noqa: F401  (registers the tables)
from db.types import utcnow

QUARANTINE: Table = SQLModel.metadata.tables["quarantined_records"]

MAX_QUARANTINED_RAW = 1_000_000
"""Characters of a rejected record kept in quarantine (a runaway CSV quote can be megabytes)."""

MAX_CELL_CHARS = 131_072
"""Default cap of one CSV cell (Python's csv default): a row with a longer cell is quarantined
(``listener.imports.max_cell_chars``, and the CRM import's own)."""

CSV_HARD_LIMIT = 16 * 1024 * 1024
"""csv's own cell limit is raised to this (characters) so ``max_cell_chars`` decides per row."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be parsed: where it was, why, and the raw text to keep."""

    ref: str | None
    error: str
    raw: str


def dump_raw(value: Any) -> str:
    """The raw record as text for the quarantine (JSON where possible, repr otherwise).

    Always storable: a lone surrogate (a ``"\\ud800"`` escape or a byte that was not UTF-8)
    is written as its ``\\u`` escape instead of failing the insert.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return storable_text(text)


def storable_text(text: str) -> str:
    """Text any database accepts: a lone surrogate becomes its ``\\u`` escape."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


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
