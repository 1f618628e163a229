"""Reading the queue: filtered lists, counts, one case with its posts, replies and audit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from db.models import AuditEvent, Case, CasePost, Post, Reply
from engagement.queue.state import (
    OPEN,
    CaseNotFound,
)


def _filtered(
    query: Select[Any],
    *,
    team: str | None,
    status: str | Iterable[str] | None,
    platform: str | None,
    tier: str | None,
    lang: str | None,
    search: str | None,
    assignee: str | None,
    claimed_by: str | None,
) -> Select[Any]:
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        query = query.where(col(Case.status).in_(statuses))
    if team is not None:
        query = query.where(col(Case.team) == team)
    if platform is not None:
        query = query.where(col(Case.platform) == platform)
    if tier is not None:
        query = query.where(col(Case.tier) == tier)
    if lang is not None:
        query = query.where(col(Case.lang) == lang)
    if assignee is not None:
        query = query.where(col(Case.assignee) == assignee)
    if claimed_by is not None:
        query = query.where(col(Case.claimed_by) == claimed_by)
    if search:
        pattern = f"%{search.lower()}%"
        matching = (
            select(col(CasePost.case_id))
            .join(Post, col(Post.id) == col(CasePost.post_id))
            .where(func.lower(col(Post.text)).like(pattern))
        )
        query = query.where(col(Case.id).in_(matching))
    return query


def list_cases(
    session: Session,
    *,
    team: str | None = None,
    status: str | Iterable[str] | None = OPEN,
    platform: str | None = None,
    tier: str | None = None,
    lang: str | None = None,
    search: str | None = None,
    assignee: str | None = None,
    claimed_by: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Case]:
    """Cases matching every filter given, highest priority first (``status=None``: any status).

    ``search`` matches any of the case's posts' text, case-insensitively.
    """
    query = _filtered(
        select(Case),
        team=team,
        status=status,
        platform=platform,
        tier=tier,
        lang=lang,
        search=search,
        assignee=assignee,
        claimed_by=claimed_by,
    )
    query = query.order_by(col(Case.priority).desc(), col(Case.id)).limit(limit).offset(offset)
    return list(session.execute(query).scalars().all())


def count_cases(
    session: Session,
    *,
    team: str | None = None,
    status: str | Iterable[str] | None = OPEN,
    platform: str | None = None,
    tier: str | None = None,
    lang: str | None = None,
    search: str | None = None,
    assignee: str | None = None,
    claimed_by: str | None = None,
) -> int:
    """How many cases ``list_cases`` would page through with the same filters."""
    query = _filtered(
        select(func.count()).select_from(Case),
        team=team,
        status=status,
        platform=platform,
        tier=tier,
        lang=lang,
        search=search,
        assignee=assignee,
        claimed_by=claimed_by,
    )
    return int(session.execute(query).scalar_one())


def get_case(session: Session, case_id: int) -> Case:
    """The case, or ``CaseNotFound``."""
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(case_id)
    return case


def case_posts(session: Session, case_id: int) -> list[Post]:
    """The posts merged into a case, oldest first."""
    query = (
        select(Post)
        .join(CasePost, col(CasePost.post_id) == col(Post.id))
        .where(col(CasePost.case_id) == case_id)
        .order_by(col(Post.created_at), col(Post.id))
    )
    return list(session.execute(query).scalars().all())


def case_replies(session: Session, case_id: int) -> list[Reply]:
    """Replies written on a case, oldest first (with status and any error)."""
    query = select(Reply).where(col(Reply.case_id) == case_id).order_by(col(Reply.id))
    return list(session.execute(query).scalars().all())


def case_audit(session: Session, case_id: int) -> list[AuditEvent]:
    """The case's audit trail, oldest first."""
    query = select(AuditEvent).where(col(AuditEvent.case_id) == case_id).order_by(col(AuditEvent.id))
    return list(session.execute(query).scalars().all())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def case_to_dict(case: Case) -> dict[str, Any]:
    """A case as plain JSON-ready data (the CLI's ``--json`` and the JSON API use this shape)."""
    return {
        "id": case.id,
        "status": case.status,
        "team": case.team,
        "tier": case.tier,
        "platform": case.platform,
        "lang": case.lang,
        "priority": case.priority,
        "money_at_risk": case.money_at_risk,
        "reasons": case.reasons,
        "why": (case.reasons or {}).get("why"),
        "sla_due_at": _iso(case.sla_due_at),
        "assignee": case.assignee,
        "claimed_by": case.claimed_by,
        "claim_expires_at": _iso(case.claim_expires_at),
        "snoozed_until": _iso(case.snoozed_until),
        "post_id": case.post_id,
        "author_id": case.author_id,
        "customer_id": case.customer_id,
        "close_reason": case.close_reason,
        "last_error": case.last_error,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "closed_at": _iso(case.closed_at),
    }


def case_detail(session: Session, case_id: int) -> dict[str, Any]:
    """A case with its posts, replies and audit trail, JSON-ready (the case page and ``--json``)."""
    case = get_case(session, case_id)
    data = case_to_dict(case)
    data["posts"] = [
        {
            "id": p.id,
            "platform": p.platform,
            "external_id": p.external_id,
            "text": p.text,
            "url": p.url,
            "rating": p.rating,
            "created_at": _iso(p.created_at),
        }
        for p in case_posts(session, case_id)
    ]
    data["replies"] = [
        {
            "id": r.id,
            "status": r.status,
            "text": r.text,
            "author": r.author,
            "error": r.error,
            "platform_reply_id": r.platform_reply_id,
            "approved_by": r.approved_by,
            "sent_at": _iso(r.sent_at),
        }
        for r in case_replies(session, case_id)
    ]
    data["audit"] = [
        {"actor": e.actor, "action": e.action, "detail": e.detail, "at": _iso(e.created_at)}
        for e in case_audit(session, case_id)
    ]
    return data
