"""Holdout check: BG/NBD's predicted repeat purchases after calibration against what happened."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from engagement.customers.clv import bgnbd
from engagement.customers.clv.summary import Summary
from engagement.errors import BadInput


@dataclass(frozen=True)
class HoldoutReport:
    """Totals and per-customer errors of the conditional forecast over the holdout period."""

    customers: int
    length: float
    predicted_total: float
    actual_total: float
    total_error_pct: float
    mean_absolute_error: float
    rmse: float
    correlation: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def check(params: bgnbd.BgNbdParams, summary: Summary) -> HoldoutReport:
    """Compare E[purchases in the holdout | calibration history] with the actual counts."""
    if summary.holdout_purchases is None or summary.holdout_length is None:
        raise BadInput("the summary has no holdout period (build it with holdout_end)")
    predicted = bgnbd.expected_purchases(
        params, summary.holdout_length, summary.frequency, summary.recency, summary.age
    )
    actual = summary.holdout_purchases
    error = predicted - actual
    predicted_total, actual_total = float(predicted.sum()), float(actual.sum())
    corr = float(np.corrcoef(predicted, actual)[0, 1]) if len(summary) > 1 and actual.std() > 0 else float("nan")
    return HoldoutReport(
        customers=len(summary),
        length=summary.holdout_length,
        predicted_total=predicted_total,
        actual_total=actual_total,
        total_error_pct=100.0 * (predicted_total - actual_total) / actual_total if actual_total else float("nan"),
        mean_absolute_error=float(np.mean(np.abs(error))),
        rmse=float(np.sqrt(np.mean(error**2))),
        correlation=corr,
    )
