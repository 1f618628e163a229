"""Money at risk and its reasons: value x P(negative) x P(churn), aged toward the SLA."""

from __future__ import annotations

from datetime import timedelta

import pytest
from queue_factories import NOW

from db.models import Customer
from engagement.customers.value import case_reach_value, voice_value
from engagement.settings import RclvSettings, TriageSettings
from engagement.triage.priority import ValueFacts, age_factor, assess, combined_p_negative


def test_money_at_risk_is_rclv_times_p_negative_times_p_churn() -> None:
    settings = TriageSettings()
    result = assess(
        facts=ValueFacts(linked=True, clv=800, rclv=1000, customer_name="Ada"),
        p_negative=0.8,
        created_at=NOW,
        now=NOW,
        sla_hours=1,
        tier="top",
        settings=settings,
    )
    assert result.money_at_risk == pytest.approx(1000 * 0.8 * 0.5)
    assert result.priority == pytest.approx(result.money_at_risk)  # fresh: no aging yet
    reasons = result.reasons
    for key in (
        "rclv",
        "clv",
        "reach_value",
        "p_negative",
        "p_churn",
        "money_at_risk",
        "age_factor",
        "tier",
        "why",
    ):
        assert key in reasons
    assert "Ada" in reasons["why"] and "400 at risk" in reasons["why"]


def test_priority_rises_as_the_post_ages_toward_its_sla() -> None:
    settings = TriageSettings()
    facts = ValueFacts(linked=True, rclv=1000)
    fresh = assess(
        facts=facts,
        p_negative=0.9,
        created_at=NOW,
        now=NOW,
        sla_hours=4,
        tier="high",
        settings=settings,
    )
    due = assess(
        facts=facts,
        p_negative=0.9,
        created_at=NOW - timedelta(hours=4),
        now=NOW,
        sla_hours=4,
        tier="high",
        settings=settings,
    )
    late = assess(
        facts=facts,
        p_negative=0.9,
        created_at=NOW - timedelta(hours=40),
        now=NOW,
        sla_hours=4,
        tier="high",
        settings=settings,
    )
    assert fresh.priority < due.priority < late.priority
    assert due.age_factor == pytest.approx(2.0)
    assert late.age_factor == pytest.approx(1 + settings.aging_cap)  # capped


def test_unlinked_authors_are_worth_their_reach_by_the_one_formula() -> None:
    weights = RclvSettings(base_value=10, value_per_follower=0.02, value_per_engagement=0.5, reach_value_cap=5000)
    assert voice_value(0, 0, weights) == 10
    assert voice_value(1000, 0, weights) == pytest.approx(30)
    assert voice_value(1000, 4, weights) == pytest.approx(32)
    assert voice_value(10_000_000, 0, weights) == 5000
    reach = case_reach_value(None, followers=1000, engagement=4, settings=weights)
    result = assess(
        facts=ValueFacts(linked=False, followers=1000, reach_value=reach),
        p_negative=1.0,
        created_at=NOW,
        now=NOW,
        sla_hours=24,
        tier="unlinked",
        settings=TriageSettings(),
    )
    assert result.reasons["value_source"] == "reach" and result.money_at_risk == pytest.approx(16)
    assert result.reasons["reach_value"] == 32 and "reach value 32 from 1,000 followers" in result.reasons["why"]


def test_a_linked_customers_case_shows_the_reach_value_inside_their_rclv() -> None:
    """The case's "why" and the customer card read one number (12.04 and 3.04 before)."""
    weights = RclvSettings()
    customer = Customer(
        crm_id="c1", name="Ada", clv=900.0, rclv=903.04, rclv_parts={"reach_value": 3.04, "followers": 102}
    )
    assert case_reach_value(customer, followers=102, engagement=2, settings=weights) == 3.04
    unrefreshed = Customer(crm_id="c2", name="Bo", clv=900.0)  # no rCLV yet: the author's own voice
    assert case_reach_value(unrefreshed, followers=102, engagement=2, settings=weights) == pytest.approx(
        voice_value(102, 2, weights)
    )


def test_star_ratings_blend_with_the_text() -> None:
    settings = TriageSettings(rating_weight=0.5)
    assert combined_p_negative(0.2, 1, settings) == pytest.approx(0.5 * 0.2 + 0.5 * 0.95)
    assert combined_p_negative(0.9, 5, settings) == pytest.approx(0.5 * 0.9 + 0.5 * 0.05)
    assert combined_p_negative(None, 2, settings) == pytest.approx(0.85)
    assert combined_p_negative(0.7, None, settings) == pytest.approx(0.7)
    assert combined_p_negative(None, None, settings) is None


def test_churn_figure_is_configurable() -> None:
    facts = ValueFacts(linked=True, rclv=100)
    result = assess(
        facts=facts,
        p_negative=1.0,
        created_at=NOW,
        now=NOW,
        sla_hours=1,
        tier="top",
        settings=TriageSettings(churn_if_unanswered=0.25),
    )
    assert result.money_at_risk == pytest.approx(25)
    assert age_factor(NOW, NOW + timedelta(hours=1), 0, TriageSettings()) == pytest.approx(3.0)
