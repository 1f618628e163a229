"""What ``engagebot status`` and the metrics read from the database: backlogs, runs, leader.

Every figure comes from the database, not from one process's memory, so any worker (or the
web app) reports the same numbers for the whole deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from db.engine import session_scope
from db.jobs import mark_dead_runs, process_gone
from db.models import Case, JobRun, Outbox, Post, QuarantinedRecord, SchedulerLease, Score
from db.types import utcnow
from db.vocab import ACTIVE_STATUSES, OutboxChannel, OutboxStatus
from engagebot.redaction import redact
from engagement.queue.sla import overdue
from listener.credentials import credential_problem, setting_to_fix


@dataclass
class Backlog:
    """Work waiting in the database, the sizes an operator watches."""

    posts: int = 0
    unscored_posts: int = 0
    scored_posts: int = 0
    open_cases: int = 0
    open_cases_by_tier: dict[str, int] = field(default_factory=dict)
    sla_breaches: int = 0
    outbox_pending: int = 0
    outbox_failed: int = 0
    quarantined_records: int = 0
    posts_by_source: dict[str, int] = field(default_factory=dict)


@dataclass
class LastRun:
    """The newest run of one job (and source), with the error if it failed."""

    job: str
    source: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    counts: dict[str, Any]
    error: str | None
    heartbeat_at: datetime | None = None
    process: str | None = None


@dataclass
class Leader:
    holder: str
    expires_at: datetime


@dataclass
class LaneBacklog:
    """One lane's waiting work (``engagebot.ops.lanes``): how much, and how long the oldest has waited."""

    lane: str
    waiting: int
    oldest_seconds: float | None
    what: str


def backlog(session: Session, *, now: datetime | None = None) -> Backlog:
    """Count posts, scores, open cases, breaches, outbox and quarantine in one pass each.

    Open cases are the queue's own ``ACTIVE_STATUSES`` (``pending_approval`` included), the one
    definition the queue page, lead view, Slack and ``/metrics`` share.
    """
    now = now or utcnow()
    by_source = {
        str(source): int(n)
        for source, n in session.execute(select(col(Post.source), func.count()).group_by(col(Post.source)))
    }
    scored = session.execute(select(func.count(func.distinct(Score.post_id)))).scalar_one()
    by_tier = {
        str(tier or "none"): int(n)
        for tier, n in session.execute(
            select(col(Case.tier), func.count()).where(col(Case.status).in_(ACTIVE_STATUSES)).group_by(col(Case.tier))
        )
    }
    breaches = session.execute(select(func.count()).where(overdue(now)).select_from(Case)).scalar_one()
    outbox = {
        str(status): int(n)
        for status, n in session.execute(
            select(col(Outbox.status), func.count())
            .where(col(Outbox.status) != "sent", col(Outbox.channel) == OutboxChannel.SLACK)
            .group_by(col(Outbox.status))
        )
    }
    quarantined = session.execute(select(func.count()).select_from(QuarantinedRecord)).scalar_one()
    posts = sum(by_source.values())
    return Backlog(
        posts=posts,
        unscored_posts=max(posts - int(scored), 0),
        scored_posts=int(scored),
        open_cases=sum(by_tier.values()),
        open_cases_by_tier=by_tier,
        sla_breaches=int(breaches),
        outbox_pending=outbox.get("pending", 0),
        outbox_failed=outbox.get("failed", 0),
        quarantined_records=int(quarantined),
        posts_by_source=by_source,
    )


def last_runs(session: Session) -> list[LastRun]:
    """The newest run of every (job, source), newest first."""
    newest = select(func.max(JobRun.id).label("id")).group_by(col(JobRun.job), col(JobRun.source)).subquery()
    rows = session.scalars(
        select(JobRun).join(newest, col(JobRun.id) == newest.c.id).order_by(col(JobRun.started_at).desc())
    ).all()
    return [_last_run(row) for row in rows]


def recent_errors(session: Session, *, limit: int = 5) -> list[LastRun]:
    """The newest failed runs, whatever their job."""
    rows = session.scalars(
        select(JobRun).where(col(JobRun.status) == "failed").order_by(col(JobRun.id).desc()).limit(limit)
    ).all()
    return [_last_run(row) for row in rows]


def _last_run(row: JobRun) -> LastRun:
    seconds = (row.finished_at - row.started_at).total_seconds() if row.finished_at else None
    return LastRun(
        job=row.job,
        source=row.source,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        seconds=round(seconds, 3) if seconds is not None else None,
        counts=dict(row.counts or {}),
        error=None if row.error is None else redact(row.error),  # a step's error may quote a secret
        heartbeat_at=row.heartbeat_at,
        process=row.process,
    )


def lanes(session: Session, *, now: datetime | None = None) -> list[LaneBacklog]:
    """What waits in each lane that has a queue in the database, and the age of its oldest item.

    Scoring: posts without any score, by when they were collected. Notify: pending messages,
    by when they were queued (a message waiting out a back-off counts: it is still undelivered).
    An age that keeps growing while the count stays is a stalled lane.
    """
    now = now or utcnow()
    scored = select(col(Score.post_id)).where(col(Score.post_id) == col(Post.id)).exists()
    unscored, oldest_post = session.execute(select(func.count(), func.min(col(Post.collected_at))).where(~scored)).one()
    pending, oldest_message = session.execute(
        select(func.count(), func.min(col(Outbox.created_at))).where(
            col(Outbox.status) == OutboxStatus.PENDING, col(Outbox.channel) == OutboxChannel.SLACK
        )
    ).one()

    def age(oldest: datetime | None) -> float | None:
        return round(max((now - oldest).total_seconds(), 0.0), 1) if oldest is not None else None

    return [
        LaneBacklog("intake", int(unscored), age(oldest_post), "posts waiting for a score"),
        LaneBacklog("notify", int(pending), age(oldest_message), "Slack messages not yet delivered"),
    ]


def leaders(session: Session, *, now: datetime | None = None) -> list[Leader]:
    """The current scheduler leader: a lease still renewed, by a process not known to be dead.

    A leader killed with ``kill -9`` leaves its row; once its lease has run out unrenewed (or
    its process is gone from this host), naming it would say a dead process schedules.
    """
    now = now or utcnow()
    rows = session.scalars(select(SchedulerLease)).all()
    return [
        Leader(row.holder, row.expires_at)
        for row in rows
        if row.expires_at >= now and not process_gone(row.holder.rpartition(":")[0])
    ]


def collect_credentials(session: Session, platform_of: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Per platform, the sources whose newest collect run failed for a missing, expired or
    refused credential: the setting to fix and the error (``listener.credentials``).
    A later successful run clears it: only the newest run of each source counts.
    ``platform_of``: source name -> platform, from the settings (unknown names keep their own)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for run in last_runs(session):
        if run.job != "collect" or run.status != "failed" or run.source is None:
            continue
        platform = platform_of.get(run.source, run.source)
        problem = credential_problem(run.error)
        if problem is not None:
            found.setdefault(platform, []).append(
                {
                    "source": run.source,
                    "setting": setting_to_fix(platform, problem),
                    "problem": problem,
                    "since": run.started_at,
                }
            )
    return found


def status_report(engine: Engine, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything ``engagebot status`` shows, as plain data (``--json`` prints exactly this).

    Runs whose process died (no heartbeat for ``db.jobs.DEAD_AFTER_SECONDS``) are marked
    ``died`` first, so a job killed long ago never shows as running.
    """
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        mark_dead_runs(session, now=now)
    with session_scope(engine) as session:
        return {
            "time": now,
            "leader": [asdict(x) for x in leaders(session, now=now)],
            "backlog": asdict(backlog(session, now=now)),
            "lanes": [asdict(x) for x in lanes(session, now=now)],
            "jobs": [asdict(x) for x in last_runs(session)],
            "errors": [asdict(x) for x in recent_errors(session)],
        }
