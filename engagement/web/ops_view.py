"""Read side of the lead and settings pages: team load, SLA breaches, throughput, job runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, SecretStr
from sqlalchemy import case as when
from sqlalchemy import func, literal_column
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from db.models import AuditEvent, Case, JobRun, Post, SourceCursor, User
from db.types import utcnow
from db.vocab import AuditVerb
from engagement.queue.sla import overdue
from engagement.web.queue_view import ACTIVE_STATUSES, QueueRow, rows_for_cases


@dataclass
class TeamLoad:
    team: str
    open: int
    claimed: int
    pending_approval: int
    escalated: int
    overdue: int
    money_at_risk: float


@dataclass
class TierCount:
    tier: str
    cases: int
    money_at_risk: float


@dataclass
class AgentThroughput:
    agent: str
    replied: int
    dismissed: int
    escalated: int
    claimed: int


@dataclass
class LeadView:
    teams: list[TeamLoad]
    tiers: list[TierCount]
    agents: list[AgentThroughput]
    breaches: list[QueueRow]
    escalations: list[QueueRow]
    since: datetime


#: audit actions that finish a case by answering it (the reply rows' own events are not counted).
#: A dry-run reply answered nobody (issue 25), so ``reply_dry_run`` rows of older builds are not
#: counted; closing a case as answered elsewhere (by phone, in the platform's app) is.
ANSWERED_ACTIONS = (AuditVerb.REPLY_SENT, AuditVerb.ANSWERED_ELSEWHERE)


def agent_throughput(*, session: Session, since: datetime) -> list[AgentThroughput]:
    """Cases each person replied to, dismissed or escalated since ``since``, and their claims.

    Counts distinct cases, not audit rows (a reply writes ``reply_submitted`` then
    ``reply_sent``), and only actors who are users: the ``triage`` step and ``system`` jobs
    write audit rows too, but they are not agents.
    """
    kind = when(
        (col(AuditEvent.action).in_(ANSWERED_ACTIONS), "replied"),
        (col(AuditEvent.action) == "dismissed", "dismissed"),
        (col(AuditEvent.action) == "escalated", "escalated"),
        (col(AuditEvent.action) == "claimed", "claimed"),
        else_="other",
    )
    rows = session.execute(
        sa_select(col(AuditEvent.actor), kind, func.count(func.distinct(col(AuditEvent.case_id))), func.count())
        .where(col(AuditEvent.created_at) >= since, col(AuditEvent.actor).in_(select(User.name)))
        .group_by(col(AuditEvent.actor), kind)
    ).all()
    per: dict[str, dict[str, tuple[int, int]]] = {}
    for actor, what, n_cases, n_events in rows:
        per.setdefault(str(actor), {})[str(what)] = (int(n_cases), int(n_events))
    agents = [
        AgentThroughput(
            agent=actor,
            replied=acts.get("replied", (0, 0))[0],
            dismissed=acts.get("dismissed", (0, 0))[0],
            escalated=acts.get("escalated", (0, 0))[0],
            claimed=acts.get("claimed", (0, 0))[1],
        )
        for actor, acts in per.items()
    ]
    agents.sort(key=lambda a: (-a.replied, a.agent))
    return agents


def lead_view(*, session: Session, days: int = 7, team: str | None = None) -> LeadView:
    now = utcnow()
    since = now - timedelta(days=days)
    active = col(Case.status).in_(ACTIVE_STATUSES)
    overdue_now = when((overdue(now), 1), else_=0)
    team_rows = session.execute(
        sa_select(
            col(Case.team),
            func.sum(when((col(Case.status) == "open", 1), else_=0)),
            func.sum(when((col(Case.status) == "claimed", 1), else_=0)),
            func.sum(when((col(Case.status) == "pending_approval", 1), else_=0)),
            func.sum(when((col(Case.status) == "escalated", 1), else_=0)),
            func.sum(overdue_now),
            func.coalesce(func.sum(Case.money_at_risk), 0.0),
        )
        .where(active)
        .group_by(col(Case.team))
        .order_by(col(Case.team))
    ).all()
    teams = [
        TeamLoad(t, int(o or 0), int(c or 0), int(p or 0), int(e or 0), int(d or 0), float(m or 0))
        for t, o, c, p, e, d, m in team_rows
    ]
    # a literal, not a bind parameter: PostgreSQL must see the same expression in GROUP BY
    tier_or_unlinked = func.coalesce(col(Case.tier), literal_column("'unlinked'"))
    tier_q = select(
        tier_or_unlinked,
        func.count(),
        func.coalesce(func.sum(Case.money_at_risk), 0.0),
    ).where(active)
    if team:
        tier_q = tier_q.where(col(Case.team) == team)
    tiers = [TierCount(str(t), int(n), float(m)) for t, n, m in session.exec(tier_q.group_by(tier_or_unlinked)).all()]
    tiers.sort(key=lambda t: -t.money_at_risk)
    agents = agent_throughput(session=session, since=since)
    breach_q = select(Case).where(overdue(now))  # the same rule as the SLA breach alert
    escalated_q = select(Case).where(col(Case.status) == "escalated")
    if team:
        breach_q = breach_q.where(col(Case.team) == team)
        escalated_q = escalated_q.where(col(Case.team) == team)
    # Money at risk first: the $8,000 top-tier case leads, however young its breach.
    by_money = (col(Case.money_at_risk).desc(), col(Case.sla_due_at), col(Case.id))
    breaches = rows_for_cases(session=session, cases=session.exec(breach_q.order_by(*by_money).limit(25)).all())
    escalations = rows_for_cases(session=session, cases=session.exec(escalated_q.order_by(*by_money).limit(25)).all())
    return LeadView(teams=teams, tiers=tiers, agents=agents, breaches=breaches, escalations=escalations, since=since)


@dataclass
class SourceStatus:
    name: str
    config: dict[str, Any]
    last_run: JobRun | None
    last_error: JobRun | None
    cursor_updated_at: datetime | None
    posts: int


def source_statuses(*, session: Session, configured: list[dict[str, Any]]) -> list[SourceStatus]:
    """Configured sources (and any seen only in the database) with their latest runs."""
    names: dict[str, dict[str, Any]] = {str(c.get("name")): c for c in configured if c.get("name")}
    for name in session.exec(select(JobRun.source).where(col(JobRun.source).is_not(None)).distinct()).all():
        names.setdefault(str(name), {})
    cursors = {c.source: c.updated_at for c in session.exec(select(SourceCursor)).all()}
    for name in cursors:
        names.setdefault(name, {})
    post_counts = dict(session.exec(select(Post.source, func.count()).group_by(col(Post.source))).all())
    out = []
    for name, config in sorted(names.items()):
        last = session.exec(
            select(JobRun).where(col(JobRun.source) == name).order_by(col(JobRun.started_at).desc()).limit(1)
        ).first()
        error = session.exec(
            select(JobRun)
            .where(col(JobRun.source) == name, col(JobRun.status) == "failed")
            .order_by(col(JobRun.started_at).desc())
            .limit(1)
        ).first()
        out.append(
            SourceStatus(
                name=name,
                config=config,
                last_run=last,
                last_error=error,
                cursor_updated_at=cursors.get(name),
                posts=int(post_counts.get(name, 0)),
            )
        )
    return out


def recent_runs(*, session: Session, limit: int = 30) -> list[JobRun]:
    return list(session.exec(select(JobRun).order_by(col(JobRun.started_at).desc()).limit(limit)).all())


def users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.team), col(User.role), col(User.name))).all())


def public_settings(model: BaseModel) -> dict[str, Any]:
    """A settings section as plain data with every secret replaced by 'set' / 'not set'."""

    def clean(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return "set" if value.get_secret_value() else "not set"
        if isinstance(value, BaseModel):
            return {k: clean(getattr(value, k)) for k in type(value).model_fields}
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    out = clean(model)
    assert isinstance(out, dict)
    return out
