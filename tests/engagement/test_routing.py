"""Routing rules: first match wins, every condition kind, the default team, SLAs, explain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from queue_factories import NOW

from engagement.settings import RoutingRule, RoutingSettings
from engagement.triage.routing import CaseFacts, explain, route, sla_due, validate_rules

SETTINGS = RoutingSettings(
    default_team="care",
    rules=[
        RoutingRule(name="vip", team="vip-desk", tiers=["top"], assignee="grace"),
        RoutingRule(name="refunds", team="billing", keywords=["refund", "charged twice"]),
        RoutingRule(name="spanish", team="es", languages=["es"]),
        RoutingRule(
            name="app-crash",
            team="mobile",
            platforms=["appstore", "googleplay"],
            max_rating=2,
            regex=r"crash(es|ed)?",
        ),
        RoutingRule(name="enterprise", team="accounts", segments=["enterprise"]),
    ],
)


@pytest.mark.parametrize(
    ("facts", "team", "rule"),
    [
        (CaseFacts(text="I want a refund now", tier="top"), "vip-desk", "vip"),  # first match wins
        (CaseFacts(text="I was Charged twice!", tier="standard"), "billing", "refunds"),
        (CaseFacts(text="refunding is hard", tier="standard"), "care", None),  # whole words only
        (CaseFacts(text="vuelo cancelado", lang="es-MX"), "es", "spanish"),
        (
            CaseFacts(text="app crashed on login", platform="appstore", rating=1),
            "mobile",
            "app-crash",
        ),
        (CaseFacts(text="app crashed on login", platform="appstore", rating=4), "care", None),
        (CaseFacts(text="app crashed on login", platform="x"), "care", None),
        (CaseFacts(text="slow support", segment="enterprise"), "accounts", "enterprise"),
        (CaseFacts(text="meh"), "care", None),
    ],
)
def test_routes(facts: CaseFacts, team: str, rule: str | None) -> None:
    decision = route(facts, SETTINGS)
    assert (decision.team, decision.rule) == (team, rule)


def test_assignee_comes_with_the_rule() -> None:
    assert route(CaseFacts(text="x", tier="top"), SETTINGS).assignee == "grace"


def test_explain_says_why_for_each_rule() -> None:
    decision = explain(CaseFacts(text="app crashed", platform="googleplay", rating=2), SETTINGS)
    assert decision.rule == "app-crash"
    assert [c.rule for c in decision.checks] == ["vip", "refunds", "spanish", "app-crash"]
    assert decision.checks[1].conditions == {"keywords": False}
    assert "matched 'crashed'" in decision.why and "rating 2 <= 2" in decision.why
    assert explain(CaseFacts(text="hello"), SETTINGS).why.startswith("no rule matched -> default team 'care'")


def test_sla_by_tier_and_bad_regex_named() -> None:
    assert sla_due(NOW, "top", SETTINGS) == NOW + timedelta(hours=1)
    assert sla_due(NOW, "nonexistent", SETTINGS) == NOW + timedelta(hours=24)
    with pytest.raises(ValueError, match="routing rule 'broken'"):
        validate_rules(RoutingSettings(rules=[RoutingRule(name="broken", team="t", regex="(")]))
