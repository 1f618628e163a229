"""What "overdue" means, said once: an active case whose SLA due time has passed.

The lead view's overdue count and breach list, the SLA breach alert, the queue's red rows and
the status metrics all ask this question; when each wrote its own comparison (``<`` here, ``<=``
there, active statuses or not) the alert and the lead view disagreed about the same team.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlmodel import Session, col

from db.models import Case
from db.vocab import ACTIVE_STATUSES


def is_overdue(due: datetime | None, now: datetime) -> bool:
    """Past its SLA (a case without one never is)."""
    return due is not None and due < now


def overdue(now: datetime) -> ColumnElement[bool]:
    """The SQL condition for an overdue case: active, and due before ``now``."""
    return and_(col(Case.status).in_(ACTIVE_STATUSES), col(Case.sla_due_at) < now)


def overdue_by_team(session: Session, now: datetime) -> dict[str, int]:
    """How many cases each team has overdue now (teams with none are absent)."""
    rows = session.execute(select(col(Case.team), func.count()).where(overdue(now)).group_by(col(Case.team))).all()
    return {str(team): int(n) for team, n in rows}
