"""Customer lifetime value over a horizon: BG/NBD purchases x Gamma-Gamma spend, discounted.

CLV_i = sum over periods k = 1..K of (E[Y_i(t_k)] - E[Y_i(t_{k-1})]) * E[spend_i] / (1 + d)^k,
where E[Y_i(t)] is the BG/NBD expected number of purchases in the next t (conditional on the
customer's history), E[spend_i] the Gamma-Gamma expected spend per purchase, periods are
months (``step_days``) up to ``horizon_days``, and d is the per-period rate equivalent to the
annual discount rate. This is the discounted sum the lifetimes package computes, with the
discount rate stated per year so that it does not depend on the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engagement.customers.clv import bgnbd, gammagamma
from engagement.customers.clv._optimize import FloatArray
from engagement.customers.clv.summary import Summary
from engagement.errors import BadInput

MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class ClvModel:
    """The two fitted models that together value a customer."""

    purchases: bgnbd.BgNbdParams
    spend: gammagamma.GammaGammaParams

    def params(self) -> dict[str, float]:
        """Flat parameters with the keys the CLI prints: r, alpha, a, b, p, q, gamma."""
        bg, gg = self.purchases, self.spend
        return {
            "r": bg.r,
            "alpha": bg.alpha,
            "a": bg.a,
            "b": bg.b,
            "p": gg.p,
            "q": gg.q,
            "gamma": gg.gamma,
        }


@dataclass(frozen=True)
class CustomerValues:
    """Per-customer results, in the summary's order."""

    clv: FloatArray
    p_alive: FloatArray
    expected_purchases: FloatArray
    expected_spend: FloatArray


def fit(summary: Summary) -> ClvModel:
    """Fit BG/NBD on everyone and Gamma-Gamma on the repeat buyers of one summary."""
    purchases = bgnbd.fit(summary.frequency, summary.recency, summary.age)
    spend = gammagamma.fit(summary.frequency, summary.monetary)
    return ClvModel(purchases, spend)


def discounted_purchases(
    params: bgnbd.BgNbdParams,
    summary: Summary,
    *,
    horizon_days: float,
    annual_discount_rate: float,
    step_days: float = MONTH_DAYS,
) -> tuple[FloatArray, FloatArray]:
    """(discounted, undiscounted) expected purchases over the horizon, per customer."""
    if horizon_days <= 0:
        raise BadInput("horizon_days must be positive")
    if annual_discount_rate <= -1:
        raise BadInput("annual_discount_rate must be above -1")
    steps = int(np.ceil(horizon_days / step_days - 1e-9))
    rate = (1.0 + annual_discount_rate) ** (step_days / 365.25) - 1.0
    x, t_x, T = summary.frequency, summary.recency, summary.age
    previous = np.zeros_like(x)
    discounted = np.zeros_like(x)
    for k in range(1, steps + 1):
        t = min(k * step_days, horizon_days) / summary.unit_days
        cumulative = bgnbd.expected_purchases(params, t, x, t_x, T)
        discounted += (cumulative - previous) / (1.0 + rate) ** k
        previous = cumulative
    return discounted, previous


def customer_values(
    model: ClvModel,
    summary: Summary,
    *,
    horizon_days: float = 365.0,
    annual_discount_rate: float = 0.10,
    step_days: float = MONTH_DAYS,
) -> CustomerValues:
    """CLV, P(alive), expected purchases and spend for every customer of the summary."""
    discounted, purchases = discounted_purchases(
        model.purchases,
        summary,
        horizon_days=horizon_days,
        annual_discount_rate=annual_discount_rate,
        step_days=step_days,
    )
    spend = gammagamma.expected_spend(model.spend, summary.frequency, summary.monetary)
    alive = bgnbd.p_alive(model.purchases, summary.frequency, summary.recency, summary.age)
    return CustomerValues(clv=discounted * spend, p_alive=alive, expected_purchases=purchases, expected_spend=spend)
