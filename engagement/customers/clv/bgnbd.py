"""BG/NBD (Fader, Hardie & Lee 2005): how often a customer buys and whether they are still alive.

Each customer is summarised by x (repeat purchases), t_x (time of the last purchase) and T
(time since the first purchase), all in one time unit (weeks for CDNOW). Purchases follow a
Poisson process with rate lambda ~ Gamma(r, alpha); after each purchase the customer drops out
with probability p ~ Beta(a, b). The formulas below are equations (6), (10) and (11) of
"Counting Your Customers the Easy Way" (Marketing Science 24(2), 2005) and the P(alive)
expression of Fader, Hardie & Lee's note "Computing P(alive) using the BG/NBD model" (2008).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from engagement.customers.clv._optimize import FitError, FloatArray, compress, maximise
from engagement.errors import BadInput


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters and the log-likelihood they reach on their data."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _arrays(*values: object) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def _terms(
    log_params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The pieces of the per-customer log-likelihood: A1 + A2 + log(exp(c3) + delta*exp(c4))."""
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    c3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        c4 = np.where(
            repeat,
            np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a1, a2, c3, c4


def log_likelihood(params: BgNbdParams, frequency: object, recency: object, age: object) -> FloatArray:
    """Per-customer log-likelihood, equation (6) of Fader, Hardie & Lee (2005)."""
    x, t_x, T = _arrays(frequency, recency, age)
    log_params = np.log([params.r, params.alpha, params.a, params.b])
    a1, a2, c3, c4 = _terms(log_params, x, t_x, T)
    return np.asarray(a1 + a2 + np.logaddexp(c3, c4), dtype=np.float64)


def _objective(
    log_params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood and its exact gradient with respect to the log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    a1, a2, c3, c4 = _terms(log_params, x, t_x, T)
    ll = a1 + a2 + np.logaddexp(c3, c4)
    w4 = expit(c4 - c3)  # share of the "dropped out after the last purchase" branch (0 when x=0)
    w3 = 1.0 - w4
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_x)
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_bx1 = np.where(x > 0, 1.0 / np.where(x > 0, b + x - 1, 1.0), 0.0)
    d_b = digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b) - w4 * inv_bx1
    total = w.sum()
    grad = np.array([r * (w @ d_r), alpha * (w @ d_alpha), a * (w @ d_a), b * (w @ d_b)]) / total
    return float(-(w @ ll) / total), -grad


def fit(frequency: object, recency: object, age: object) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters for a calibration summary (x, t_x, T).

    Raises ``FitError`` when the optimiser diverges, which happens on tiny or degenerate data
    (e.g. nobody bought twice): callers fall back to a simpler estimate and say why.
    """
    x, t_x, T = _arrays(frequency, recency, age)
    if x.size == 0:
        raise BadInput("BG/NBD: no customers to fit")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T):
        raise BadInput("BG/NBD: need x >= 0 and 0 <= t_x <= T for every customer")
    if not np.any(x > 0):
        raise FitError("BG/NBD: nobody made a repeat purchase, so dropout cannot be estimated")
    (ux, ut, uT), weights = compress(x, t_x, T)
    best = maximise(lambda p: _objective(p, ux, ut, uT, weights), np.zeros(4), what="BG/NBD")
    r, alpha, a, b = (float(v) for v in np.exp(best))
    params = BgNbdParams(r, alpha, a, b)
    ll = float(weights @ log_likelihood(params, ux, ut, uT))
    return BgNbdParams(r, alpha, a, b, ll)


def p_alive(params: BgNbdParams, frequency: object, recency: object, age: object) -> FloatArray:
    """P(alive | x, t_x, T): 1 for a customer who never repeated, lower the longer one is quiet."""
    x, t_x, T = _arrays(frequency, recency, age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (
            np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.asarray(np.where(x > 0, expit(-log_odds), 1.0), dtype=np.float64)


def expected_purchases(
    params: BgNbdParams, t: float | FloatArray, frequency: object, recency: object, age: object
) -> FloatArray:
    """E[purchases in (T, T+t] | x, t_x, T], equation (10) of Fader, Hardie & Lee (2005)."""
    x, t_x, T = _arrays(frequency, recency, age)
    t_arr = np.asarray(t, dtype=np.float64)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t_arr / (alpha + T + t_arr))
    first = (a + b + x - 1) / (a - 1)
    second = 1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t_arr))) * hyp
    return np.asarray(first * second * p_alive(params, x, t_x, T), dtype=np.float64)


def expected_purchases_new(params: BgNbdParams, t: float | FloatArray) -> FloatArray:
    """E[X(t)] for a customer just acquired, equation (7) of Fader, Hardie & Lee (2005)."""
    t_arr = np.asarray(t, dtype=np.float64)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    hyp = hyp2f1(r, b, a + b - 1, t_arr / (alpha + t_arr))
    return np.asarray((a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t_arr)) ** r * hyp), dtype=np.float64)
