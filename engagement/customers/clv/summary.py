"""Build the per-customer calibration summary (x, t_x, T, zbar) and holdout counts from purchases.

The models see purchase *days*: several purchases on one day are one transaction whose amount is
their sum (as Fader & Hardie do with CDNOW). x counts the days after the first one (the first
purchase starts the customer's clock and is not a repeat); t_x is the time from the first to
the last purchase day and T the time from the first purchase day to the calibration end, both
in ``unit_days`` (7: weeks). zbar is the mean amount of the repeat days (0 when x == 0), and
``spend`` the mean amount of all calibration days, the first included (for fallbacks).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from engagement.customers.clv._optimize import FloatArray
from engagement.errors import BadInput


@dataclass(frozen=True)
class Summary:
    """One row per customer, in ``customer_ids`` order; times are in units of ``unit_days``."""

    customer_ids: list[str]
    frequency: FloatArray
    recency: FloatArray
    age: FloatArray
    monetary: FloatArray
    spend: FloatArray
    first_purchase: list[date]
    calibration_end: date
    unit_days: float
    transactions: int
    holdout_end: date | None = None
    holdout_purchases: FloatArray | None = field(default=None)

    def __len__(self) -> int:
        return len(self.customer_ids)

    @property
    def holdout_length(self) -> float | None:
        """Length of the holdout period in model units (39 weeks for CDNOW's weeks 40-78)."""
        if self.holdout_end is None:
            return None
        return (self.holdout_end - self.calibration_end).days / self.unit_days

    def row(self, index: int) -> dict[str, float]:
        """One customer's summary as plain numbers (stored with their CLV, shown to agents)."""
        return {
            "x": float(self.frequency[index]),
            "t_x": round(float(self.recency[index]), 4),
            "T": round(float(self.age[index]), 4),
            "zbar": round(float(self.monetary[index]), 4),
        }


def as_day(value: date | datetime) -> date:
    """The UTC calendar day of a timestamp (naive datetimes are taken as UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.date()
    return value


def summarize(
    purchases: Iterable[tuple[str, date | datetime, float]],
    calibration_end: date | datetime,
    *,
    unit_days: float = 7.0,
    holdout_end: date | datetime | None = None,
) -> Summary:
    """Summarise ``(customer, time, amount)`` purchases up to ``calibration_end`` (by day).

    Customers whose first purchase falls after the calibration end are left out (they are not
    yet customers at that time). With ``holdout_end``, each customer's repeat purchase days in
    (calibration_end, holdout_end] are counted too, for the holdout check.
    """
    if unit_days <= 0:
        raise BadInput("unit_days must be positive")
    cal_end = as_day(calibration_end)
    hold_end = as_day(holdout_end) if holdout_end is not None else None
    if hold_end is not None and hold_end <= cal_end:
        raise BadInput(f"holdout end {hold_end} must be after the calibration end {cal_end}")
    days: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    count = 0
    for customer, when, amount in purchases:
        day = as_day(when)
        if hold_end is not None and day > hold_end:
            continue
        days[customer][day] += float(amount)
        count += 1
    ids: list[str] = []
    rows: list[tuple[float, float, float, float, float, float]] = []
    firsts: list[date] = []
    for customer, by_day in days.items():
        calibration = sorted(d for d in by_day if d <= cal_end)
        if not calibration:
            continue
        first, last = calibration[0], calibration[-1]
        repeats = calibration[1:]
        zbar = sum(by_day[d] for d in repeats) / len(repeats) if repeats else 0.0
        holdout = sum(1 for d in by_day if d > cal_end)
        ids.append(customer)
        firsts.append(first)
        rows.append(
            (
                float(len(repeats)),
                (last - first).days / unit_days,
                (cal_end - first).days / unit_days,
                zbar,
                float(holdout),
                sum(by_day[d] for d in calibration) / len(calibration),
            )
        )
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return Summary(
        customer_ids=ids,
        frequency=table[:, 0].copy(),
        recency=table[:, 1].copy(),
        age=table[:, 2].copy(),
        monetary=table[:, 3].copy(),
        spend=table[:, 5].copy(),
        first_purchase=firsts,
        calibration_end=cal_end,
        unit_days=unit_days,
        transactions=count,
        holdout_end=hold_end,
        holdout_purchases=table[:, 4].copy() if hold_end is not None else None,
    )
