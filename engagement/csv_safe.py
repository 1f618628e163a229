"""The one guard for every CSV the product writes: no cell a spreadsheet would run as a formula.

Post text, customer names and handles are written by strangers. A cell starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel, LibreOffice and Google
Sheets (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``, ``@SUM(...)``): OWASP's advice for CSV
injection is to prefix such a cell with ``'`` so it is shown as text. Real numbers stay numbers
(``-12.5`` is a value, not a formula), so figures remain usable.

Every writer opens its CSV through :func:`writer` (or passes cells through :func:`cell`);
``tests/engagement/test_csv_safe.py`` fails if a module writes CSV any other way.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Protocol

__all__ = ["FORMULA_START", "SafeWriter", "cell", "writer"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def cell(value: object) -> object:
    """``value`` as a safe CSV cell: None is empty, dates are ISO, numbers are kept, and text
    that starts like a formula gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    text = value.isoformat() if isinstance(value, datetime | date) else str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeWriter:
    """``csv.writer`` whose rows pass through :func:`cell`."""

    def __init__(self, handle: _Writable, **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(handle: _Writable, **options: Any) -> SafeWriter:
    """A CSV writer on ``handle`` (options as ``csv.writer``) that writes no live formula."""
    return SafeWriter(handle, **options)
