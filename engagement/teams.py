"""Teams as the app sees them: who is in each, who leads it, and where nobody works.

A team exists wherever something names it: a person's team, a routing rule, the default
team, an open case. A team that rules route to (or that holds open cases) but has no agent is
the commonest way a new install goes wrong: cases nobody can claim (another team's agent
gets a 403) and no one to assign them to. ``teams`` says so, for the admin API, the Teams page,
the go-live checklist and ``engagebot doctor``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from db.models import Case, User
from db.vocab import ACTIVE_STATUSES
from engagement.settings import RoutingSettings


@dataclass
class Team:
    """One team: its people, its rules, its open cases and what is wrong with it."""

    name: str
    agents: list[str] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)
    away: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    open_cases: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "agents": self.agents,
            "leads": self.leads,
            "away": self.away,
            "rules": self.rules,
            "open_cases": self.open_cases,
            "warnings": self.warnings,
        }


def teams(session: Session, routing: RoutingSettings) -> list[Team]:
    """Every team named anywhere, by name, with a warning where it has rules or open cases but
    no agent who is not away."""
    found: dict[str, Team] = {}

    def team(name: str) -> Team:
        return found.setdefault(name, Team(name=name))

    people = session.execute(select(User).where(col(User.deactivated_at).is_(None))).scalars().all()
    for user in people:
        entry = team(user.team)
        if user.role == "agent":
            (entry.away if user.is_away else entry.agents).append(user.name)
        else:
            entry.leads.append(user.name)
    for rule in routing.rules:
        team(rule.team).rules.append(rule.name)
    team(routing.default_team).rules.append("(default team)")
    rows = session.execute(
        select(col(Case.team), func.count()).where(col(Case.status).in_(list(ACTIVE_STATUSES))).group_by(col(Case.team))
    ).all()
    for name, count in rows:
        team(str(name)).open_cases = int(count)
    for entry in found.values():
        if entry.agents:
            continue
        why = []
        if entry.rules:
            why.append(f"routing rules send cases here ({', '.join(entry.rules)})")
        if entry.open_cases:
            why.append(f"{entry.open_cases} open case{'s' if entry.open_cases != 1 else ''}")
        if why:
            away = f" ({', '.join(entry.away)} away)" if entry.away else ""
            entry.warnings.append(f"team {entry.name} has no agent{away}: " + "; ".join(why))
    return [found[name] for name in sorted(found)]
