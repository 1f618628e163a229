"""Reading the CRM's CSV files: header checks, rows with their line numbers, dates and amounts.

Shared by the customers and transactions imports and by ``clv fit``; see ``engagement.customers.crm_import``
(and ``docs/crm-format.md``) for the formats.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple


class RejectedRow(NamedTuple):
    """A row that was not imported: its line number in the file (header = 1) and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did; ``rejected`` lists every bad row."""

    path: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    identities: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    def summary(self) -> str:
        extra = f", {self.identities} identities added or changed" if self.identities else ""
        return (
            f"{self.path}: {self.rows} rows: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.rejected)} rejected{extra}"
        )


def csv_rows(path: Path, required: tuple[str, ...]) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Open a CSV and check its header; yields (line number, row with stripped cells)."""
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        handle.close()
        raise ValueError(f"{path}: the file is empty (expected a header: {','.join(required)})") from None
    missing = [c for c in required if c not in header]
    if missing:
        handle.close()
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (header: {','.join(header)})")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with handle:
            line = reader.line_num
            for cells in reader:
                start, line = line + 1, reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    yield start, {"__error__": f"expected {len(header)} cells, got {len(cells)}"}
                    continue
                yield start, {k: v.strip() for k, v in zip(header, cells, strict=True)}

    return header, rows()


def parse_time(value: str) -> datetime:
    """An ISO date (midnight UTC) or datetime (naive means UTC) as an aware UTC datetime."""
    if not value:
        raise ValueError("date is empty")
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"date is not an ISO date or datetime: {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_number(value: str, what: str) -> float:
    """A non-negative number; '1,234.50' is read as 1234.5, but '12,50' is refused as ambiguous."""
    text = value.strip()
    if THOUSANDS.match(text):
        text = text.replace(",", "")
    elif "," in text:
        raise ValueError(f"{what} {value!r} has a comma: write decimals with a point (12.50)")
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{what} is not a number: {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{what} must be a non-negative number, got {value!r}")
    return number


def parse_amount(value: str) -> float:
    """A purchase amount (refunds, i.e. negative amounts, are not supported)."""
    return parse_number(value, "amount")


def read_purchases(
    path: Path | str,
    *,
    customer_column: str = "customer_id",
    date_column: str = "date",
    amount_column: str = "amount",
) -> tuple[list[tuple[str, datetime, float]], list[RejectedRow]]:
    """Read ``(customer, time, amount)`` rows of a transactions CSV (``clv fit``), and bad rows."""
    columns = (customer_column.lower(), date_column.lower(), amount_column.lower())
    _header, rows = csv_rows(Path(path), columns)
    purchases: list[tuple[str, datetime, float]] = []
    rejected: list[RejectedRow] = []
    for line, row in rows:
        try:
            if "__error__" in row:
                raise ValueError(row["__error__"])
            if not row[columns[0]]:
                raise ValueError(f"{customer_column} is empty")
            purchases.append((row[columns[0]], parse_time(row[columns[1]]), parse_amount(row[columns[2]])))
        except ValueError as exc:
            rejected.append(RejectedRow(line, str(exc)))
    return purchases, rejected
