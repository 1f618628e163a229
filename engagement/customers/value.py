"""Keep every customer's CLV, P(alive), churn risk and rCLV fresh, recording where each came from.

CLV: the CRM's imported value wins. Otherwise BG/NBD + Gamma-Gamma are fitted on all stored
transactions up to ``now`` (see ``engagement.customers.clv``) and each customer's discounted value over
``horizon_days`` is stored. With too few customers or repeat buyers for a stable fit (settings
``min_customers``, ``min_repeat_customers``) or a fit that fails, the fallback is *mean spend*:
the customer's mean spend per purchase day x the population's repeat-purchase rate over the
horizon, discounted like the model; it has no P(alive). The reason is logged and stored in a
``ClvFit`` row, which every customer's ``clv_fit_id`` points at; ``clv_basis`` holds the
customer's own inputs (x, t_x, T, spend) and ``clv_updated_at`` the time.

rCLV (real CLV) adds the value of the customer's voice::

    reach_value = min(reach_value_cap, base_value
                      + value_per_follower x followers + value_per_engagement x engagement)
    rclv        = (clv or 0) + reach_value

where ``followers`` is the sum over the customer's confirmed linked accounts and ``engagement``
the likes + replies + reposts on their posts of the last ``engagement_window_days``; a customer
with no linked account has no voice (reach value 0). Weights live in ``[engagement.clv.rclv]``;
``rclv_parts`` stores every term and weight for the agents.

This is the one reach-value rule (``voice_value``, ``case_reach_value``): triage prices an
unlinked author by the same formula over the author's own followers and engagement, and a
linked customer's case shows the reach value stored in their ``rclv_parts``, so the case's
"why" and its customer card always show the same number.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from db.engine import session_scope
from db.models.customers import ClvFit, Customer, Identity, Transaction
from db.models.posts import Author, Post
from db.types import utcnow
from engagement.customers.clv import FitError, Summary, customer_values, fit, summarize
from engagement.customers.clv._optimize import FloatArray
from engagement.customers.clv.lifetime import MONTH_DAYS
from engagement.settings import ClvSettings, RclvSettings

log = logging.getLogger(__name__)

CHUNK = 500
MODEL = "bgnbd+gammagamma"
FALLBACK = "fallback_mean_spend"
FORMULA = (
    "rclv = clv + min(reach_value_cap, base_value + value_per_follower*followers + value_per_engagement*engagement)"
)


def voice_value(
    followers: int | float | None,
    engagement: int | float | None,
    settings: RclvSettings | ClvSettings,
) -> float:
    """What a voice is worth: a base, plus followers and engagement, weighted and capped.

    The one reach-value formula (see module doc), for linked customers and unlinked authors.
    """
    weights = settings.rclv if isinstance(settings, ClvSettings) else settings
    raw = (
        weights.base_value
        + weights.value_per_follower * max(0.0, float(followers or 0))
        + weights.value_per_engagement * max(0.0, float(engagement or 0))
    )
    return float(min(weights.reach_value_cap, raw))


def case_reach_value(
    customer: Customer | None,
    *,
    followers: int | None,
    engagement: int | None,
    settings: RclvSettings,
) -> float:
    """The reach value a case shows and prices with, for its author (and linked customer).

    A linked customer whose rCLV has been computed: the reach value stored in their
    ``rclv_parts`` (the one inside their rCLV, the customer card's number). Anyone else: the
    author's own voice by ``voice_value``.
    """
    parts = customer.rclv_parts if customer is not None and customer.rclv is not None else None
    if parts and isinstance(parts.get("reach_value"), int | float):
        return float(parts["reach_value"])
    return round(voice_value(followers, engagement, settings), 2)


def author_engagement(session: Session, author_ids: Sequence[int], *, since: datetime) -> dict[int, int]:
    """Likes + replies + reposts on each author's own posts since ``since`` (the voice's reach)."""
    if not author_ids:
        return {}
    rows = session.exec(
        select(Post.author_id, func.sum(Post.engagement))
        .where(
            col(Post.author_id).in_(sorted(set(author_ids))),
            col(Post.created_at) >= since,
            col(Post.is_brand).is_(False),
        )
        .group_by(col(Post.author_id))
    ).all()
    return {int(author_id): int(total or 0) for author_id, total in rows if author_id is not None}


@dataclass(frozen=True)
class Estimate:
    """Per-customer values from one fit (or fallback), in the summary's order."""

    method: str
    reason: str | None
    params: dict[str, float]
    log_likelihood: float | None
    clv: FloatArray
    p_alive: FloatArray | None
    expected_purchases: FloatArray
    expected_spend: FloatArray
    details: dict[str, float] = field(default_factory=dict)


def _fallback(summary: Summary, settings: ClvSettings, reason: str) -> Estimate:
    """Mean spend x the population's repeat rate over the horizon, discounted monthly."""
    total_time = float(summary.age.sum())
    rate = float(summary.frequency.sum()) / total_time if total_time > 0 else 0.0  # purchases per unit
    steps = int(np.ceil(settings.horizon_days / MONTH_DAYS - 1e-9))
    monthly = (1.0 + settings.annual_discount_rate) ** (MONTH_DAYS / 365.25) - 1.0
    factor = sum(
        (min(k * MONTH_DAYS, settings.horizon_days) - min((k - 1) * MONTH_DAYS, settings.horizon_days))
        / (1.0 + monthly) ** k
        for k in range(1, steps + 1)
    )
    purchases = rate * settings.horizon_days / summary.unit_days
    discounted = rate * factor / summary.unit_days
    n = len(summary)
    return Estimate(
        method=FALLBACK,
        reason=reason,
        params={"repeat_rate_per_unit": rate, "unit_days": summary.unit_days},
        log_likelihood=None,
        clv=summary.spend * discounted,
        p_alive=None,
        expected_purchases=np.full(n, purchases),
        expected_spend=summary.spend.copy(),
    )


def estimate(summary: Summary, settings: ClvSettings) -> Estimate:
    """Fit BG/NBD + Gamma-Gamma and value every customer, or fall back (and say why)."""
    n, repeat = (
        len(summary),
        int(np.count_nonzero((summary.frequency > 0) & (summary.monetary > 0))),
    )
    reason: str | None = None
    if n < settings.min_customers:
        reason = f"{n} customers with purchases, fewer than min_customers={settings.min_customers}"
    elif repeat < settings.min_repeat_customers:
        minimum = settings.min_repeat_customers
        reason = f"{repeat} repeat buyers, fewer than min_repeat_customers={minimum}"
    else:
        try:
            model = fit(summary)
            if not model.spend.q > 1:
                raise FitError(f"Gamma-Gamma q={model.spend.q:.3g} <= 1: mean spend is not finite")
            values = customer_values(
                model,
                summary,
                horizon_days=settings.horizon_days,
                annual_discount_rate=settings.annual_discount_rate,
            )
        except FitError as exc:
            reason = f"the fit failed: {exc}"
        else:
            return Estimate(
                method=MODEL,
                reason=None,
                params=model.params(),
                log_likelihood=model.purchases.log_likelihood + model.spend.log_likelihood,
                clv=values.clv,
                p_alive=values.p_alive,
                expected_purchases=values.expected_purchases,
                expected_spend=values.expected_spend,
                details={
                    "bgnbd_log_likelihood": model.purchases.log_likelihood,
                    "gamma_gamma_log_likelihood": model.spend.log_likelihood,
                },
            )
    log.warning("CLV: using the mean-spend fallback instead of BG/NBD + Gamma-Gamma: %s", reason)
    return _fallback(summary, settings, reason)


def record_fit(session: Session, result: Estimate, summary: Summary, *, source: str, settings: ClvSettings) -> int:
    """Store the fit (parameters, data size, reason) and return its id."""
    row = ClvFit(
        method=result.method,
        source=source[:255],
        calibration_end=datetime.combine(summary.calibration_end, datetime.min.time(), tzinfo=UTC),
        params={
            **result.params,
            "horizon_days": settings.horizon_days,
            "annual_discount_rate": settings.annual_discount_rate,
            "time_unit_days": summary.unit_days,
        },
        customers=len(summary),
        repeat_customers=int(np.count_nonzero(summary.frequency > 0)),
        transactions=summary.transactions,
        log_likelihood=result.log_likelihood,
        reason=result.reason,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


@dataclass
class Voice:
    followers: int = 0
    engagement: int = 0
    posts: int = 0
    accounts: int = 0


def voices(session: Session, customer_ids: Sequence[int], *, since: datetime) -> dict[int, Voice]:
    """Followers and recent engagement of each customer's confirmed linked accounts."""
    links = session.exec(
        select(Identity.customer_id, Identity.author_id).where(
            col(Identity.customer_id).in_(customer_ids),
            Identity.status == "confirmed",
            col(Identity.author_id).is_not(None),
        )
    ).all()
    authors_of: dict[int, set[int]] = defaultdict(set)
    for customer_id, author_id in links:
        if author_id is not None:
            authors_of[customer_id].add(author_id)
    author_ids = sorted({a for ids in authors_of.values() for a in ids})
    if not author_ids:
        return {}
    followers = dict(session.exec(select(Author.id, Author.followers).where(col(Author.id).in_(author_ids))).all())
    activity = {
        author_id: (int(total or 0), int(count))
        for author_id, total, count in session.exec(
            select(Post.author_id, func.sum(Post.engagement), func.count())
            .where(
                col(Post.author_id).in_(author_ids),
                col(Post.created_at) >= since,
                col(Post.is_brand).is_(False),
            )
            .group_by(col(Post.author_id))
        ).all()
    }
    result: dict[int, Voice] = {}
    for customer_id, ids in authors_of.items():
        voice = Voice(accounts=len(ids))
        for author_id in ids:
            voice.followers += int(followers.get(author_id) or 0)
            total, count = activity.get(author_id, (0, 0))
            voice.engagement += total
            voice.posts += count
        result[customer_id] = voice
    return result


def _set_rclv(customer: Customer, voice: Voice, settings: RclvSettings) -> None:
    reach = voice_value(voice.followers, voice.engagement, settings) if voice.accounts else 0.0
    customer.rclv = round((customer.clv or 0.0) + reach, 2)
    customer.rclv_parts = {
        "clv": customer.clv,
        "clv_source": customer.clv_source,
        "reach_value": round(reach, 2),
        "followers": voice.followers,
        "engagement": voice.engagement,
        "posts": voice.posts,
        "linked_accounts": voice.accounts,
        "weights": {
            "base_value": settings.base_value,
            "value_per_follower": settings.value_per_follower,
            "value_per_engagement": settings.value_per_engagement,
            "reach_value_cap": settings.reach_value_cap,
            "engagement_window_days": settings.engagement_window_days,
        },
        "formula": FORMULA,
    }


def _apply(
    customer: Customer,
    index: int | None,
    summary: Summary,
    result: Estimate | None,
    fit_id: int | None,
    now: datetime,
) -> str:
    """Set one customer's CLV and P(alive); returns how its CLV was decided."""
    if index is not None and result is not None:
        alive = float(result.p_alive[index]) if result.p_alive is not None else None
        customer.p_alive = alive
        customer.churn_risk = None if alive is None else round(1.0 - alive, 6)
        customer.clv_fit_id = fit_id
        basis = {
            "fit_id": fit_id,
            "method": result.method,
            "calibration_end": summary.calibration_end.isoformat(),
            **summary.row(index),
            "mean_spend": round(float(summary.spend[index]), 4),
            "expected_purchases": round(float(result.expected_purchases[index]), 4),
            "expected_spend": round(float(result.expected_spend[index]), 4),
            "model_clv": round(float(result.clv[index]), 2),
        }
    else:
        customer.p_alive = customer.churn_risk = None
        basis = {"reason": "no transactions"}
    customer.clv_updated_at = customer.updated_at = now
    if customer.imported_clv is not None:
        customer.clv, customer.clv_source = customer.imported_clv, "import"
        customer.clv_basis = {**(customer.clv_basis or {}), "source": "import", "model": basis}
        return "imported"
    if index is None or result is None:
        customer.clv, customer.clv_source, customer.clv_basis = None, None, basis
        return "no_value"
    customer.clv = round(float(result.clv[index]), 2)
    customer.clv_source = "model" if result.method == MODEL else "fallback"
    customer.clv_basis = {"source": customer.clv_source, **basis}
    return "fitted" if result.method == MODEL else "fallback"


def store_values(
    engine: Engine,
    settings: ClvSettings,
    summary: Summary,
    result: Estimate | None,
    fit_id: int | None,
    *,
    keys: dict[int, str],
    only_summarised: bool,
    now: datetime,
) -> dict[str, int]:
    """Write CLV, P(alive), churn risk and rCLV to customers (``keys``: id -> summary key)."""
    position = {key: i for i, key in enumerate(summary.customer_ids)}
    customer_ids = sorted(k for k in keys if not only_summarised or keys[k] in position)
    counts: dict[str, int] = defaultdict(int)
    since = now - timedelta(days=settings.rclv.engagement_window_days)
    for start in range(0, len(customer_ids), CHUNK):
        chunk = customer_ids[start : start + CHUNK]
        with session_scope(engine) as session:
            voice_of = voices(session, chunk, since=since)
            for customer in session.exec(select(Customer).where(col(Customer.id).in_(chunk))).all():
                assert customer.id is not None
                outcome = _apply(customer, position.get(keys[customer.id]), summary, result, fit_id, now)
                counts[outcome] += 1
                voice = voice_of.get(customer.id, Voice())
                _set_rclv(customer, voice, settings.rclv)
                counts["customers"] += 1
                counts["with_voice"] += int(voice.accounts > 0)
    return dict(counts)


def refresh_values(engine: Engine, settings: ClvSettings, *, now: datetime | None = None) -> dict[str, int]:
    """Refit on all stored transactions up to ``now`` and refresh every customer's values."""
    now = now or utcnow()
    with session_scope(engine) as session:
        keys = {cid: str(cid) for cid in session.exec(select(Customer.id)).all() if cid is not None}
        purchases = session.exec(
            select(Transaction.customer_id, Transaction.occurred_at, Transaction.amount).where(
                col(Transaction.occurred_at) <= now
            )
        ).all()
    summary = summarize(((str(c), t, a) for c, t, a in purchases), now, unit_days=settings.time_unit_days)
    result: Estimate | None = None
    fit_id: int | None = None
    if len(summary):
        result = estimate(summary, settings)
        with session_scope(engine) as session:
            fit_id = record_fit(session, result, summary, source="database", settings=settings)
    counts = store_values(engine, settings, summary, result, fit_id, keys=keys, only_summarised=False, now=now)
    counts["transactions"] = summary.transactions
    counts["fit_id"] = fit_id or 0
    counts["model"] = int(result is not None and result.method == MODEL)
    log.info(
        "values refreshed: %d customers (%d fitted, %d imported, %d fallback, %d without value), %d with a voice",
        counts.get("customers", 0),
        counts.get("fitted", 0),
        counts.get("imported", 0),
        counts.get("fallback", 0),
        counts.get("no_value", 0),
        counts.get("with_voice", 0),
    )
    return counts


def apply_file_fit(
    engine: Engine,
    settings: ClvSettings,
    summary: Summary,
    result: Estimate,
    *,
    source: str,
    now: datetime | None = None,
) -> dict[str, int]:
    """Store a fit made from a transactions file; value the customers whose CRM id is in it."""
    now = now or utcnow()
    with session_scope(engine) as session:
        fit_id = record_fit(session, result, summary, source=source, settings=settings)
        wanted = set(summary.customer_ids)
        keys = {
            cid: crm_id
            for cid, crm_id in session.exec(select(Customer.id, Customer.crm_id)).all()
            if cid is not None and crm_id in wanted
        }
    counts = store_values(engine, settings, summary, result, fit_id, keys=keys, only_summarised=True, now=now)
    counts["fit_id"] = fit_id
    return counts
