"""BG/NBD and Gamma-Gamma against the published CDNOW figures and against lifetimes."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter

from engagement.customers.clv import FitError, Summary, bgnbd, gammagamma, holdout, summarize
from engagement.customers.clv.datasets import read_cdnow
from engagement.customers.clv.lifetime import ClvModel, customer_values

CALIBRATION_END = date(1997, 9, 30)  # the end of week 39
HOLDOUT_END = date(1998, 6, 30)  # the end of week 78


@pytest.fixture
def cdnow(shared: Path) -> Path:
    return shared / "data" / "cdnow"


@pytest.fixture
def sample(cdnow: Path) -> Summary:
    """The 1/10th sample summarised by our code from the raw transactions file."""
    return summarize(read_cdnow(cdnow / "CDNOW_sample.txt"), CALIBRATION_END, holdout_end=HOLDOUT_END)


def test_summary_rebuilt_from_raw_transactions_matches_the_published_summary(sample: Summary, cdnow: Path) -> None:
    with (cdnow / "cdnow_customers_summary_with_transactions.csv").open() as handle:
        published = {row["ID"]: row for row in csv.DictReader(handle)}
    assert len(sample) == len(published) == 2357
    position = {cid: i for i, cid in enumerate(sample.customer_ids)}
    for cid, row in published.items():
        i = position[cid]
        assert sample.frequency[i] == int(row["x"])  # same-day purchases merged, first one excluded
        assert sample.recency[i] == pytest.approx(float(row["t_x"]), abs=0.005)  # file rounds to 2 decimals
        assert sample.age[i] == pytest.approx(float(row["T"]), abs=0.005)
        assert sample.monetary[i] == pytest.approx(float(row["zbar"]), abs=0.006)
    assert int((sample.frequency > 0).sum()) == 946


def test_bgnbd_gives_the_published_parameters_and_agrees_with_lifetimes(sample: Summary) -> None:
    fitted = bgnbd.fit(sample.frequency, sample.recency, sample.age)
    # Fader, Hardie & Lee (2005): r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4
    assert round(fitted.r, 3) == 0.243
    assert round(fitted.alpha, 3) == 4.414
    assert round(fitted.a, 3) == 0.793
    assert round(fitted.b, 3) == 2.426
    assert round(fitted.log_likelihood, 1) == -9582.4

    reference = BetaGeoFitter().fit(sample.frequency, sample.recency, sample.age)
    theirs = reference.params_
    for ours, name in ((fitted.r, "r"), (fitted.alpha, "alpha"), (fitted.a, "a"), (fitted.b, "b")):
        assert ours == pytest.approx(float(theirs[name]), rel=1e-4)
    at_theirs = bgnbd.BgNbdParams(*(float(theirs[k]) for k in ("r", "alpha", "a", "b")))
    their_ll = float(bgnbd.log_likelihood(at_theirs, sample.frequency, sample.recency, sample.age).sum())
    assert fitted.log_likelihood >= their_ll - 1e-6  # ours is at least as good a maximum

    x, t_x, T = sample.frequency, sample.recency, sample.age
    np.testing.assert_allclose(
        bgnbd.expected_purchases(fitted, 39.0, x, t_x, T),
        reference.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T),
        rtol=1e-4,
    )
    np.testing.assert_allclose(
        bgnbd.p_alive(fitted, x, t_x, T),
        reference.conditional_probability_alive(x, t_x, T),
        rtol=1e-4,
    )
    np.testing.assert_allclose(
        bgnbd.expected_purchases_new(fitted, np.array([10.0, 39.0, 78.0])),
        reference.expected_number_of_purchases_up_to_time(np.array([10.0, 39.0, 78.0])),
        rtol=1e-4,
    )


def test_bgnbd_conditional_expectation_of_the_papers_example_customer() -> None:
    # The worked example of Fader, Hardie & Lee's BG/NBD notes: x=2, t_x=30.43, T=38.86
    # expects 1.226 purchases in the next 39 weeks under the published parameters.
    published = bgnbd.BgNbdParams(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    assert float(bgnbd.expected_purchases(published, 39.0, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=0.0005)
    assert float(bgnbd.p_alive(published, 0, 0.0, 38.86)) == 1.0


def test_gamma_gamma_gives_the_published_parameters_and_agrees_with_lifetimes(
    sample: Summary,
) -> None:
    fitted = gammagamma.fit(sample.frequency, sample.monetary)
    # Fader & Hardie (2013): p=6.25, q=3.74, gamma=15.44 on the 946 repeat buyers
    assert round(fitted.p, 2) == 6.25
    assert round(fitted.q, 2) == 3.74
    assert round(fitted.gamma, 2) == 15.44

    repeat = sample.frequency > 0
    reference = GammaGammaFitter().fit(sample.frequency[repeat], sample.monetary[repeat])
    for ours, name in ((fitted.p, "p"), (fitted.q, "q"), (fitted.gamma, "v")):
        assert ours == pytest.approx(float(reference.params_[name]), rel=1e-4)
    np.testing.assert_allclose(
        gammagamma.expected_spend(fitted, sample.frequency[repeat], sample.monetary[repeat]),
        reference.conditional_expected_average_profit(sample.frequency[repeat], sample.monetary[repeat]),
        rtol=1e-4,
    )


def test_discounted_clv_agrees_with_lifetimes(sample: Summary) -> None:
    model = ClvModel(
        bgnbd.fit(sample.frequency, sample.recency, sample.age),
        gammagamma.fit(sample.frequency, sample.monetary),
    )
    bg = BetaGeoFitter().fit(sample.frequency, sample.recency, sample.age)
    gg = GammaGammaFitter().fit(sample.frequency[sample.frequency > 0], sample.monetary[sample.frequency > 0])
    series = [pd.Series(v) for v in (sample.frequency, sample.recency, sample.age, sample.monetary)]
    theirs = gg.customer_lifetime_value(bg, *series, time=12, discount_rate=0.01, freq="W").to_numpy()
    # lifetimes steps in months of 4.345 weeks and discounts 1% a month.
    month = 4.345 * 7
    ours = customer_values(
        model,
        sample,
        horizon_days=12 * month,
        annual_discount_rate=1.01 ** (365.25 / month) - 1,
        step_days=month,
    )
    np.testing.assert_allclose(ours.clv, theirs, rtol=1e-3)
    assert ours.clv.sum() > 0


def test_holdout_check_weeks_40_to_78(sample: Summary) -> None:
    fitted = bgnbd.fit(sample.frequency, sample.recency, sample.age)
    report = holdout.check(fitted, sample)
    assert report.length == pytest.approx(39.0)
    assert report.actual_total == 1882  # repeat purchase days of the 2,357 customers in weeks 40-78
    # The conditional forecast tracks the holdout loosely (BG/NBD under-forecasts CDNOW a little).
    assert abs(report.total_error_pct) < 20
    assert report.mean_absolute_error < 1.0
    assert report.correlation > 0.5


def test_full_master_file_summarises_all_customers(cdnow: Path) -> None:
    summary = summarize(read_cdnow(cdnow / "CDNOW_master.txt"), CALIBRATION_END)
    assert len(summary) == 23570


def test_fits_refuse_bad_input_and_report_divergence() -> None:
    with pytest.raises(ValueError, match="t_x <= T"):
        bgnbd.fit([1], [5.0], [2.0])
    with pytest.raises(ValueError, match="no customer"):
        gammagamma.fit([0, 0], [0.0, 0.0])
    # Nobody ever came back: dropout cannot be estimated at all.
    with pytest.raises(FitError, match="nobody made a repeat purchase"):
        bgnbd.fit([0] * 50, [0.0] * 50, list(np.linspace(1, 30, 50)))
    # Two repeat buyers among fifty: the likelihood runs off instead of settling.
    x = np.r_[np.zeros(48), [1.0, 1.0]]
    age = np.linspace(1, 30, 50)
    with pytest.raises(FitError, match="ran off"):
        bgnbd.fit(x, np.where(x > 0, age / 2, 0.0), age)


def test_summary_merges_same_day_purchases_and_ignores_later_customers() -> None:
    purchases = [
        ("a", date(2025, 1, 1), 10.0),
        ("a", date(2025, 1, 1), 5.0),  # same day: one transaction of 15
        ("a", date(2025, 1, 15), 20.0),
        ("a", date(2025, 2, 5), 40.0),  # after the calibration end: holdout
        ("b", date(2025, 2, 1), 7.0),  # first purchase after calibration: not a customer yet
    ]
    summary = summarize(purchases, date(2025, 1, 29), holdout_end=date(2025, 3, 1))
    assert summary.customer_ids == ["a"]
    assert summary.frequency.tolist() == [1.0]
    assert summary.recency.tolist() == [2.0]
    assert summary.age.tolist() == [4.0]
    assert summary.monetary.tolist() == [20.0]
    assert summary.spend.tolist() == [17.5]
    assert summary.holdout_purchases is not None and summary.holdout_purchases.tolist() == [1.0]
