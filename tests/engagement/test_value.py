"""Refreshing CLV, P(alive) and rCLV from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import select

from db.engine import session_scope
from db.models import Author, Customer, Identity, Post
from db.models.customers import ClvFit
from engagement.customers.crm_import import import_customers, import_transactions
from engagement.customers.identities import link_authors
from engagement.customers.value import refresh_values, voice_value
from engagement.settings import ClvSettings, EngagementSettings, RclvSettings

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def simulate_bgnbd(n: int, seed: int = 7) -> list[tuple[str, date, float]]:
    """Purchases of n customers drawn from the BG/NBD story (Poisson buying, dropout after each)."""
    rng = np.random.default_rng(seed)
    start = date(2025, 1, 1)
    horizon_days = (NOW.date() - start).days
    purchases: list[tuple[str, date, float]] = []
    for i in range(n):
        rate = rng.gamma(0.8, 1 / 6.0)  # purchases per day
        drop = rng.beta(1.0, 4.0)
        mean_spend = rng.gamma(4.0, 15.0)
        day = int(rng.integers(0, 60))
        while day <= horizon_days + 30:  # some purchases fall after NOW and must be ignored
            purchases.append(
                (
                    f"C{i}",
                    start + timedelta(days=day),
                    round(float(rng.gamma(6.0, mean_spend / 6.0)), 2),
                )
            )
            if rng.random() < drop:
                break
            day += 1 + int(rng.exponential(1 / rate))
    return purchases


def load(engine: Engine, tmp_path: Path, n: int, *, clv: dict[int, float] | None = None, extra: int = 0) -> None:
    clv = clv or {}
    rows = "".join(f"C{i},Customer {i},c{i}@example.com,{clv.get(i, '')}\n" for i in range(n + extra))
    (tmp_path / "crm.csv").write_text("crm_id,name,email,clv\n" + rows, encoding="utf-8")
    import_customers(engine, tmp_path / "crm.csv")
    tx = "".join(f"{c},{d.isoformat()},{a}\n" for c, d, a in simulate_bgnbd(n))
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\n" + tx, encoding="utf-8")
    assert import_transactions(engine, tmp_path / "tx.csv").rejected == []


def customers(engine: Engine) -> dict[str, Customer]:
    with session_scope(engine) as session:
        return {c.crm_id: c for c in session.exec(select(Customer)).all()}


def test_refresh_fits_bgnbd_and_gamma_gamma_and_imported_clv_wins(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, 150, clv={0: 1234.5}, extra=1)  # C150 has no transactions
    counts = refresh_values(engine, ClvSettings(), now=NOW)
    assert counts["model"] == 1 and counts["customers"] == 151
    assert (counts["fitted"], counts["imported"], counts["no_value"]) == (149, 1, 1)
    rows = customers(engine)
    with session_scope(engine) as session:
        fit = session.exec(select(ClvFit)).one()
    assert fit.method == "bgnbd+gammagamma" and fit.customers == 150 and fit.reason is None
    assert set(fit.params) >= {
        "r",
        "alpha",
        "a",
        "b",
        "p",
        "q",
        "gamma",
        "horizon_days",
        "annual_discount_rate",
    }
    assert fit.calibration_end == NOW.replace(hour=0)

    fitted = [c for c in rows.values() if c.clv_source == "model"]
    assert len(fitted) == 149
    for c in fitted:
        assert c.clv is not None and c.clv >= 0
        assert c.p_alive is not None and 0 < c.p_alive <= 1
        assert c.churn_risk == pytest.approx(1 - c.p_alive, abs=1e-6)
        assert c.clv_fit_id == fit.id and c.clv_updated_at == NOW
        assert c.clv_basis is not None and {
            "x",
            "t_x",
            "T",
            "zbar",
            "expected_purchases",
            "fit_id",
        } <= set(c.clv_basis)
        assert c.rclv == pytest.approx(c.clv) and c.rclv_parts is not None and c.rclv_parts["reach_value"] == 0
    # A customer who keeps buying is worth more than one who bought once long ago.
    by_x = sorted(fitted, key=lambda c: c.clv_basis["x"] if c.clv_basis else 0)
    assert np.mean([c.clv for c in by_x[-20:]]) > np.mean([c.clv for c in by_x[:20]])

    imported = rows["C0"]
    assert (imported.clv, imported.clv_source) == (1234.5, "import")
    assert imported.p_alive is not None  # the churn signal still comes from the model
    assert imported.clv_basis is not None and imported.clv_basis["model"]["fit_id"] == fit.id

    nobody = rows["C150"]
    assert nobody.clv is None and nobody.p_alive is None and nobody.rclv == 0
    assert nobody.clv_basis == {"reason": "no transactions"}

    again = refresh_values(engine, ClvSettings(), now=NOW)
    assert {c.crm_id: c.clv for c in customers(engine).values()} == {c.crm_id: c.clv for c in rows.values()}
    assert again["fit_id"] == counts["fit_id"] + 1


def test_too_few_customers_fall_back_to_mean_spend_and_say_why(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load(engine, tmp_path, 8)
    with caplog.at_level(logging.WARNING, logger="engagement.customers.value"):
        counts = refresh_values(engine, ClvSettings(min_customers=30), now=NOW)
    assert counts["model"] == 0 and counts["fallback"] == 8
    assert "fewer than min_customers=30" in caplog.text
    with session_scope(engine) as session:
        fit = session.exec(select(ClvFit)).one()
    assert fit.method == "fallback_mean_spend" and "8 customers" in (fit.reason or "")
    for c in customers(engine).values():
        assert c.clv_source == "fallback" and c.p_alive is None and c.churn_risk is None
        assert c.clv is not None and c.clv >= 0
        assert c.clv_basis is not None and c.clv_basis["method"] == "fallback_mean_spend"
        expected = c.clv_basis["mean_spend"] * c.clv_basis["expected_purchases"]
        assert c.clv <= expected + 0.01  # discounting only lowers it


def test_rclv_adds_the_value_of_the_customers_voice(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text("crm_id,name,clv,x_handle\nC1,Loud Customer,1000,loud\nC2,Quiet,50,\n")
    import_customers(engine, tmp_path / "crm.csv")
    with session_scope(engine) as session:
        author = Author(platform="x", external_id="42", handle="loud", followers=10_000)
        session.add(author)
        session.flush()
        for days_ago, engagement in (
            (1, 30),
            (10, 10),
            (200, 999),
        ):  # the last one is outside the window
            session.add(
                Post(
                    platform="x",
                    external_id=f"p{days_ago}",
                    source="t",
                    text="meh",
                    author_id=author.id,
                    created_at=NOW - timedelta(days=days_ago),
                    engagement=engagement,
                )
            )
    link_authors(engine)
    settings = ClvSettings(rclv=RclvSettings(value_per_follower=0.02, value_per_engagement=0.5, reach_value_cap=5000))
    refresh_values(engine, settings, now=NOW)
    rows = customers(engine)
    loud = rows["C1"]
    assert loud.rclv == pytest.approx(1000 + 10 + 0.02 * 10_000 + 0.5 * 40)  # base_value 10: a voice at all
    assert loud.rclv_parts is not None
    parts = loud.rclv_parts
    assert (
        parts["clv"],
        parts["reach_value"],
        parts["followers"],
        parts["engagement"],
        parts["posts"],
    ) == (
        1000,
        230,
        10_000,
        40,
        2,
    )
    assert parts["weights"]["value_per_follower"] == 0.02 and "rclv = clv + min" in parts["formula"]
    assert rows["C2"].rclv == 50
    with session_scope(engine) as session:  # only confirmed links count
        link = session.exec(select(Identity).where(Identity.customer_id == loud.id)).one()
        link.status = "rejected"
    refresh_values(engine, settings, now=NOW)
    assert customers(engine)["C1"].rclv == 1000


def test_voice_value_formula() -> None:
    weights = RclvSettings(base_value=10, value_per_follower=0.02, value_per_engagement=0.5, reach_value_cap=300)
    assert voice_value(0, 0, weights) == 10
    assert voice_value(None, None, weights) == 10
    assert voice_value(1000, 10, weights) == pytest.approx(35.0)
    assert voice_value(1_000_000, 0, weights) == 300  # capped
    assert voice_value(1000, 10, ClvSettings(rclv=weights)) == pytest.approx(35.0)
    assert voice_value(-5, -1, weights) == 10
    assert voice_value(1000, 10, RclvSettings(base_value=0)) == pytest.approx(25.0)


def test_without_transactions_imported_clv_still_gets_its_rclv(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text("crm_id,clv\nC1,300\nC2,\n", encoding="utf-8")
    import_customers(engine, tmp_path / "crm.csv")
    counts = refresh_values(engine, ClvSettings(), now=NOW)
    assert (counts["imported"], counts["no_value"], counts["fit_id"], counts["model"]) == (1, 1, 0, 0)
    rows = customers(engine)
    assert (rows["C1"].clv, rows["C1"].rclv, rows["C1"].clv_source) == (300, 300, "import")
    assert rows["C1"].p_alive is None and rows["C2"].clv is None and rows["C2"].rclv == 0


def test_purchases_after_now_are_not_seen(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, 60)
    after = sum(1 for _, day, _ in simulate_bgnbd(60) if day > NOW.date())
    assert after > 0
    counts = refresh_values(engine, ClvSettings(), now=NOW)
    assert counts["transactions"] == len(simulate_bgnbd(60)) - after


def test_removed_triage_reach_settings_move_to_rclv_with_a_warning() -> None:
    """``[engagement.triage]`` reach keys were merged into ``[engagement.clv.rclv]``."""
    with pytest.warns(FutureWarning, match=r"engagement\.triage\.\w+ was removed.*clv\.rclv") as warned:
        moved = EngagementSettings(triage={"reach_base_value": 25, "reach_value_cap": 900})
    assert sorted(str(w.message).split(" was ")[0] for w in warned) == [
        "engagement.triage.reach_base_value",
        "engagement.triage.reach_value_cap",
    ]
    assert (moved.clv.rclv.base_value, moved.clv.rclv.reach_value_cap) == (25, 900)
    assert not hasattr(moved.triage, "reach_base_value")
    with pytest.raises(ValidationError, match=r"conflicts with engagement\.clv\.rclv\.value_per_follower"):
        EngagementSettings(triage={"value_per_follower": 0.5}, clv={"rclv": {"value_per_follower": 0.02}})
