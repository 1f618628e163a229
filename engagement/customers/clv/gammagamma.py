"""Gamma-Gamma model of spend (Fader & Hardie 2013): what a customer spends per purchase.

A customer's purchase amounts are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers. It
is fitted on the customers with at least one repeat purchase, from x (repeat purchases) and
zbar (the mean amount of those repeat purchases); see Fader & Hardie, "The Gamma-Gamma Model
of Monetary Value" (2013), equations (1)-(5). It assumes spend is independent of frequency.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import digamma, gammaln

from engagement.customers.clv._optimize import FloatArray, compress, maximise
from engagement.errors import BadInput


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters; ``gamma`` is the scale of the spend-rate distribution."""

    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @property
    def population_mean(self) -> float:
        """E[Z] = p*gamma/(q-1): expected spend per purchase of a customer we know nothing about."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("nan")


def log_likelihood(params: GammaGammaParams, frequency: object, monetary: object) -> FloatArray:
    """Per-customer log-likelihood of the mean spend zbar given x (customers with x > 0)."""
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    p, q, g = params.p, params.q, params.gamma
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(g + m * x)
    )
    return np.asarray(ll, dtype=np.float64)


def _objective(log_params: FloatArray, x: FloatArray, m: FloatArray, w: FloatArray) -> tuple[float, FloatArray]:
    p, q, g = np.exp(log_params)
    ll = log_likelihood(GammaGammaParams(p, q, g), x, m)
    log_gmx = np.log(g + m * x)
    d_p = x * (digamma(p * x + q) - digamma(p * x) + np.log(m) + np.log(x) - log_gmx)
    d_q = digamma(p * x + q) - digamma(q) + np.log(g) - log_gmx
    d_g = q / g - (p * x + q) / (g + m * x)
    total = w.sum()
    grad = np.array([p * (w @ d_p), q * (w @ d_q), g * (w @ d_g)]) / total
    return float(-(w @ ll) / total), -grad


def fit(frequency: object, monetary: object) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from repeat buyers' (x, zbar).

    Rows with x == 0 or zbar <= 0 carry no information about spend and are left out here, so
    callers may pass the whole summary.
    """
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    keep = (x > 0) & (m > 0)
    if not np.any(keep):
        raise BadInput("Gamma-Gamma: no customer with a repeat purchase of positive value")
    (ux, um), weights = compress(x[keep], m[keep])
    best = maximise(lambda lp: _objective(lp, ux, um, weights), np.zeros(3), what="Gamma-Gamma")
    p, q, g = (float(v) for v in np.exp(best))
    ll = float(weights @ log_likelihood(GammaGammaParams(p, q, g), ux, um))
    return GammaGammaParams(p, q, g, ll)


def expected_spend(params: GammaGammaParams, frequency: object, monetary: object) -> FloatArray:
    """E[spend per purchase | x, zbar], equation (5): population and customer means, weighted.

    Customers without repeat purchases get the population mean p*gamma/(q-1).
    """
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    p, q, g = params.p, params.q, params.gamma
    with np.errstate(divide="ignore", invalid="ignore"):
        conditional = p * (g + x * m) / (p * x + q - 1)
    return np.asarray(np.where(x > 0, conditional, params.population_mean), dtype=np.float64)
