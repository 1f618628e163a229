"""Routing: which team (and optionally who) gets a case, and its SLA; first matching rule wins.

Rules live in ``[engagement.routing]`` of the settings file. Every condition a rule names must
match; a list condition matches when any item does. ``explain`` says, rule by rule, what matched
and what did not, which is what ``engagebot rules test "text"`` prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from engagement.errors import BadInput
from engagement.settings import RoutingRule, RoutingSettings


@dataclass(frozen=True)
class CaseFacts:
    """What a rule can look at."""

    text: str
    platform: str | None = None
    lang: str | None = None
    segment: str | None = None
    tier: str | None = None
    rating: int | None = None


@dataclass(frozen=True)
class RuleCheck:
    """One rule's verdict: matched or not, and the condition results that decided it."""

    rule: str
    matched: bool
    conditions: dict[str, bool] = field(default_factory=dict)
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """The decision: team, optional assignee, the rule that won (None = default) and why."""

    team: str
    assignee: str | None
    rule: str | None
    why: str
    checks: tuple[RuleCheck, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "assignee": self.assignee,
            "rule": self.rule,
            "why": self.why,
            "checks": [
                {
                    "rule": c.rule,
                    "matched": c.matched,
                    "conditions": c.conditions,
                    "detail": c.detail,
                }
                for c in self.checks
            ],
        }


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _keyword_hit(text: str, keywords: list[str]) -> str | None:
    lowered = text.lower()
    for word in keywords:
        needle = word.lower().strip()
        if not needle:
            continue
        if re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", lowered):
            return word
    return None


def check_rule(rule: RoutingRule, facts: CaseFacts) -> RuleCheck:
    """Evaluate every condition the rule names (so ``explain`` can show all of them)."""
    conditions: dict[str, bool] = {}
    detail: dict[str, str] = {}

    def in_list(name: str, wanted: list[str], actual: str | None) -> None:
        if wanted:
            ok = actual is not None and actual.lower() in {w.lower() for w in wanted}
            conditions[name] = ok
            detail[name] = f"{actual!r} {'in' if ok else 'not in'} {wanted}"

    in_list("platform", rule.platforms, facts.platform)
    lang = facts.lang.split("-")[0] if facts.lang else None
    in_list("language", rule.languages, lang)
    in_list("segment", rule.segments, facts.segment)
    in_list("tier", rule.tiers, facts.tier)
    if rule.keywords:
        hit = _keyword_hit(facts.text, rule.keywords)
        conditions["keywords"] = hit is not None
        detail["keywords"] = f"found {hit!r}" if hit else f"none of {rule.keywords}"
    if rule.regex:
        found = _compiled(rule.regex).search(facts.text)
        conditions["regex"] = found is not None
        detail["regex"] = f"matched {found.group(0)!r}" if found else f"no match for /{rule.regex}/"
    if rule.max_rating is not None:
        ok = facts.rating is not None and facts.rating <= rule.max_rating
        conditions["max_rating"] = ok
        detail["max_rating"] = f"rating {facts.rating} {'<=' if ok else 'not <='} {rule.max_rating}"
    if rule.min_rating is not None:
        ok = facts.rating is not None and facts.rating >= rule.min_rating
        conditions["min_rating"] = ok
        detail["min_rating"] = f"rating {facts.rating} {'>=' if ok else 'not >='} {rule.min_rating}"
    return RuleCheck(rule=rule.name, matched=all(conditions.values()), conditions=conditions, detail=detail)


def explain(facts: CaseFacts, settings: RoutingSettings) -> Route:
    """Route with the full trace: every rule up to the winner, and why it won."""
    checks: list[RuleCheck] = []
    for rule in settings.rules:
        check = check_rule(rule, facts)
        checks.append(check)
        if check.matched:
            parts = "; ".join(check.detail.values()) or "no conditions (catch-all)"
            why = f"rule {rule.name!r} -> team {rule.team!r}: {parts}"
            return Route(
                team=rule.team,
                assignee=rule.assignee,
                rule=rule.name,
                why=why,
                checks=tuple(checks),
            )
    why = f"no rule matched -> default team {settings.default_team!r}"
    return Route(team=settings.default_team, assignee=None, rule=None, why=why, checks=tuple(checks))


def route(facts: CaseFacts, settings: RoutingSettings) -> Route:
    """The team (and optional assignee) for a case; first matching rule wins, else the default
    team."""
    return explain(facts, settings)


def validate_rules(settings: RoutingSettings) -> None:
    """Fail at start-up, naming the rule, when a regular expression does not compile."""
    for rule in settings.rules:
        if rule.regex:
            try:
                re.compile(rule.regex)
            except re.error as exc:
                raise BadInput(f"routing rule {rule.name!r}: bad regex {rule.regex!r}: {exc}") from exc


def sla_hours(tier: str | None, settings: RoutingSettings) -> float:
    """Hours to first reply for a tier (``sla_hours`` setting, else ``default_sla_hours``)."""
    if tier is not None and tier in settings.sla_hours:
        return float(settings.sla_hours[tier])
    return float(settings.default_sla_hours)


def sla_due(opened_at: datetime, tier: str | None, settings: RoutingSettings) -> datetime:
    """When the first reply is due: the first post's time plus the tier's SLA."""
    return opened_at + timedelta(hours=sla_hours(tier, settings))
