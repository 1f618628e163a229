"""A table of figures: one structure rendered as HTML, CSV and PDF alike."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engagement import csv_safe, i18n
from engagement.i18n import gettext as _


@dataclass(frozen=True)
class Column:
    """A column: its key in each row, heading and kind (text, int, share, money, hours, link)."""

    key: str
    label: str
    kind: str = "text"


@dataclass
class Table:
    """Rows of raw values (numbers stay numbers; formatting happens when rendered)."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    empty: str = "Nothing to show for this week."

    def row(self, first: Any) -> dict[str, Any]:
        """The row whose first column equals ``first`` (KeyError if none)."""
        key = self.columns[0].key
        for row in self.rows:
            if row.get(key) == first:
                return row
        raise KeyError(f"{self.key}: no row {first!r}")

    def column(self, key: str) -> list[Any]:
        return [row.get(key) for row in self.rows]

    def write_csv(self, path: Path, *, currency: str | None = None) -> Path:
        """Write the raw values (shares as fractions, hours as numbers); None becomes empty.

        A table with amounts gets a last ``currency`` column (``USD``, ``EUR``): a CSV is read
        by spreadsheets and scripts that never see the report's settings. The header row is the
        columns' keys in English (what scripts written against it read) and their headings in
        any other language the report speaks (``i18n.using``), for the team opening it.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        with_currency = currency is not None and any(column.kind == "money" for column in self.columns)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv_safe.writer(handle)  # names and post text are strangers' words
            english = i18n.current() == i18n.DEFAULT
            header = [column.key if english else column.label for column in self.columns]
            writer.writerow(header + ([_("currency")] if with_currency else []))
            for row in self.rows:
                values = [_csv_value(row.get(column.key)) for column in self.columns]
                writer.writerow(values + ([currency] if with_currency else []))
        return path


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 6)
    return value


def share(part: float, whole: float) -> float | None:
    """part / whole, or None when there is no whole (never a made-up 0 %)."""
    return part / whole if whole else None


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation between ranks (numpy's and pandas' default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None
