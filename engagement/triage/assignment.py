"""Auto-assignment inside a team: fair round-robin with a per-agent capacity, skipping agents away."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from db.models import Case, User
from engagement.queue import ACTIVE_STATUSES


class Assigner:
    """Fair round-robin inside a team, with a per-agent capacity of open cases; skips agents away."""

    def __init__(self, session: Session, capacity: int) -> None:
        self.session = session
        self.capacity = capacity
        self.loads: dict[str, dict[str, int]] = {}
        self.last: dict[str, str | None] = {}

    def _team(self, team: str) -> dict[str, int]:
        if team not in self.loads:
            agents = sorted(
                u.name
                for u in self.session.execute(
                    select(User).where(
                        col(User.team) == team,
                        col(User.role) == "agent",
                        col(User.is_away).is_(False),
                        col(User.deactivated_at).is_(None),
                    )
                ).scalars()
            )
            loads = {name: 0 for name in agents}
            if agents:
                held = self.session.execute(
                    select(func.coalesce(col(Case.claimed_by), col(Case.assignee)), func.count())
                    .where(col(Case.status).in_(ACTIVE_STATUSES))
                    .where(or_(col(Case.assignee).in_(agents), col(Case.claimed_by).in_(agents)))
                    .group_by(func.coalesce(col(Case.claimed_by), col(Case.assignee)))
                ).all()
                for name, count in held:
                    if name in loads:
                        loads[name] = int(count)
            self.loads[team] = loads
            last = self.session.execute(
                select(col(Case.assignee))
                .where(col(Case.team) == team, col(Case.assignee).is_not(None))
                .order_by(col(Case.created_at).desc(), col(Case.id).desc())
                .limit(1)
            ).scalar_one_or_none()
            self.last[team] = last
        return self.loads[team]

    def pick(self, team: str) -> str | None:
        loads = self._team(team)
        free = [name for name, load in loads.items() if load < self.capacity]
        if not free:
            return None
        lowest = min(loads[name] for name in free)
        candidates = [name for name in free if loads[name] == lowest]
        last = self.last.get(team)
        after = [name for name in candidates if last is None or name > last]
        chosen = (after or candidates)[0]
        loads[chosen] += 1
        self.last[team] = chosen
        return chosen
