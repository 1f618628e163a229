"""Limits and the raw-record text for reading exports, in a module that imports no database
stack: settings and the CLI read them at start, before (and without) SQLAlchemy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_CELL_CHARS = 131_072
"""Default cap of one CSV cell (Python's csv default): a row with a longer cell is quarantined
(``listener.imports.max_cell_chars``, and the CRM import's own)."""

CSV_HARD_LIMIT = 16 * 1024 * 1024
"""csv's own cell limit is raised to this (characters) so ``max_cell_chars`` decides per row."""


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


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be parsed: where it was, why, and the raw text to keep."""

    ref: str | None
    error: str
    raw: str
