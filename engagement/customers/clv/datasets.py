"""Read Hardie's CDNOW transaction files (the models' published test data) as purchases.

Two layouts, both whitespace-separated: the master file (``customer_id date cds dollars``, one
header line) and the 1/10th sample (``master_id sample_id date cds dollars``, no header; the
customer is ``sample_id``, the ID used by the published summaries). Dates are ``YYYYMMDD``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from engagement.errors import BadInput


def read_cdnow(path: Path) -> Iterator[tuple[str, date, float]]:
    """Yield ``(customer, day, dollars)`` for every line of a CDNOW master or sample file."""
    with path.open(encoding="ascii") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts or not parts[-1].replace(".", "", 1).isdigit():
                continue  # blank line or the master file's header
            if len(parts) == 5:
                customer, raw_day = parts[1], parts[2]
            elif len(parts) == 4:
                customer, raw_day = parts[0], parts[1]
            else:
                raise BadInput(f"{path}:{number}: expected 4 or 5 columns, got {len(parts)}")
            day = date(int(raw_day[:4]), int(raw_day[4:6]), int(raw_day[6:8]))
            yield str(int(customer)), day, float(parts[-1])
