"""Reading the CRM's CSV files: header checks, rows with their line numbers, dates and amounts.

Shared by the customers and transactions imports and by ``clv fit``; see ``engagement.customers.crm_import``
(and ``docs/crm-format.md``) for the formats.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

from db.files.raw import CSV_HARD_LIMIT, MAX_CELL_CHARS, dump_raw
from db.files.textfiles import detect, open_text, undecodable
from engagement.errors import BadInput


class RejectedRow(NamedTuple):
    """A row that was not imported: its line number in the file (header = 1) and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did; ``rejected`` lists every bad row, ``warnings`` what concerns the file."""

    path: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    identities: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    raw: dict[int, str] = field(default_factory=dict, repr=False)
    """The cells of each rejected row by line, as kept in the quarantine."""
    mapping: dict[str, str] = field(default_factory=dict)
    """Each column of the file (as written there) and the field it was read as (``-``: ignored)."""

    def summary(self) -> str:
        extra = f", {self.identities} identities added or changed" if self.identities else ""
        return (
            f"{self.path}: {self.rows} rows: {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.rejected)} rejected{extra}"
        )


ERROR = "__error__"
"""The key of a row that could not be read; its value says why."""
RAW = "__raw__"


def csv_rows(
    path: Path,
    required: tuple[str, ...],
    *,
    max_cell: int = MAX_CELL_CHARS,
    warnings: list[str] | None = None,
    columns: Callable[[list[str]], dict[str, str]] | None = None,
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Open a CSV and check its header; yields (line number, row with stripped cells).

    ``columns``, given the header as written, names the field each column is read as (a CRM
    export's own headers, see ``crm_columns``); without it the header is only lower-cased.

    The encoding is detected (BOM, UTF-16, UTF-8, else cp1252 with a note in ``warnings``).
    A row that cannot be read (a cell over ``max_cell`` characters, bytes that are not text,
    a broken quote, the wrong number of cells) is yielded as ``{ERROR: why, RAW: cells}`` so
    the caller rejects that row and keeps the others.
    """
    encoding = detect(path)
    if encoding.warning and warnings is not None:
        warnings.append(encoding.warning)
    csv.field_size_limit(max(csv.field_size_limit(), max_cell + 1, CSV_HARD_LIMIT))
    handle = open_text(path, encoding)
    reader = csv.reader(handle)
    try:
        written = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        handle.close()
        raise BadInput(f"{path}: the file is empty (expected a header: {','.join(required)})") from None
    try:
        renamed = columns(written) if columns else {}
    except BadInput:
        handle.close()
        raise
    header = [renamed.get(h, h.lower()) for h in written]
    missing = [c for c in required if c not in header]
    if missing:
        handle.close()
        what = ", ".join(missing)
        hint = f"; name the column with --map COLUMN={missing[0]}" if columns else ""
        raise BadInput(f"{path}: missing column(s) {what} (header: {','.join(written)}){hint}")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with handle:
            line = reader.line_num
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    start, line = line + 1, reader.line_num
                    yield start, {ERROR: f"unreadable CSV row: {exc}", RAW: ""}
                    continue
                start, line = line + 1, reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                yield start, _row(header, cells, max_cell)

    return header, rows()


def _row(header: list[str], cells: list[str], max_cell: int) -> dict[str, str]:
    raw = dump_raw(cells[:50])[:10_000]
    if len(cells) != len(header):
        return {ERROR: f"expected {len(header)} cells, got {len(cells)}", RAW: raw}
    longest = max(range(len(cells)), key=lambda i: len(cells[i]))
    if len(cells[longest]) > max_cell:
        why = f"cell {header[longest]!r} has {len(cells[longest]):,} characters, over the {max_cell:,} limit"
        return {ERROR: why, RAW: raw}
    problem = undecodable(dict(zip(header, cells, strict=True)))
    if problem:
        return {ERROR: problem, RAW: raw}
    return {k: v.strip() for k, v in zip(header, cells, strict=True)}


def parse_time(value: str) -> datetime:
    """An ISO date (midnight UTC) or datetime (naive means UTC) as an aware UTC datetime."""
    if not value:
        raise BadInput("date is empty")
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"date is not an ISO date or datetime: {value!r}") from None
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise BadInput(f"date out of range 1900..2099: {value!r}") from None
    if not EARLIEST <= moment < LATEST:
        raise BadInput(f"date out of range 1900..2099: {value!r}")
    return moment


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


@dataclass(frozen=True)
class AmountRange:
    """The amounts an import accepts (``engagement.clv.min_purchase_amount``/``max_purchase_amount``);
    outside it a row is refused, so a typo or ``1e308`` never reaches CLV."""

    minimum: float = 0.0
    maximum: float = 1_000_000.0


def parse_number(value: str, what: str, maximum: float = math.inf) -> float:
    """A non-negative number; '1,234.50' is read as 1234.5, but '12,50' is refused as ambiguous."""
    text = value.strip()
    if THOUSANDS.match(text):
        text = text.replace(",", "")
    elif "," in text:
        raise BadInput(f"{what} {value!r} has a comma: write decimals with a point (12.50)")
    try:
        number = float(text)
    except ValueError:
        raise BadInput(f"{what} is not a number: {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise BadInput(f"{what} must be a non-negative number, got {value!r}")
    if number > maximum:
        raise BadInput(f"{what} {value!r} is over the {maximum:,.0f} limit")
    return number


def parse_amount(value: str, bounds: AmountRange | None = None) -> float:
    """A purchase amount within ``bounds`` (refunds, i.e. negative amounts, are not supported)."""
    bounds = bounds or AmountRange()
    number = parse_number(value, "amount", bounds.maximum)
    if number < bounds.minimum:
        raise BadInput(f"amount {value!r} is under the {bounds.minimum:,} minimum")
    return number


def read_purchases(
    path: Path | str,
    *,
    customer_column: str = "customer_id",
    date_column: str = "date",
    amount_column: str = "amount",
    bounds: AmountRange | None = None,
) -> tuple[list[tuple[str, datetime, float]], list[RejectedRow]]:
    """Read ``(customer, time, amount)`` rows of a transactions CSV (``clv fit``), and bad rows."""
    columns = (customer_column.lower(), date_column.lower(), amount_column.lower())
    _header, rows = csv_rows(Path(path), columns)
    purchases: list[tuple[str, datetime, float]] = []
    rejected: list[RejectedRow] = []
    for line, row in rows:
        try:
            if ERROR in row:
                raise BadInput(row[ERROR])
            if not row[columns[0]]:
                raise BadInput(f"{customer_column} is empty")
            purchases.append((row[columns[0]], parse_time(row[columns[1]]), parse_amount(row[columns[2]], bounds)))
        except ValueError as exc:
            rejected.append(RejectedRow(line, str(exc)))
    return purchases, rejected
