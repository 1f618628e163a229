"""Reading the queue: filtered lists, counts, one case with its posts, replies and audit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, or_, select
from sqlmodel import Session, col

from db.models import AuditEvent, Case, CaseNote, CasePost, CaseTag, Post, Reply
from db.search import SearchMethod, case_matches
from db.types import utcnow
from db.vocab import ACTIVE_STATUSES, CaseStatus
from engagement.queue.state import CaseNotFound


@dataclass(frozen=True)
class CaseFilter:
    """Every filter of the queue's listings, in one place (web, API, CLI and exports use it).

    ``status=None``: any status. ``mine``: assigned to or claimed by that person.
    ``unassigned``: no assignee and nobody holding it. ``snoozed``: ``hide`` (the open list:
    snoozed cases leave it until due), ``only`` (what is snoozed now) or ``any``.
    ``search`` holds every word in any of the case's posts (full-text index; ``search_method
    ="like"`` is the old substring scan, kept as the benchmark's baseline).
    """

    team: str | None = None
    status: str | Iterable[str] | None = CaseStatus.OPEN
    platform: str | None = None
    tier: str | None = None
    lang: str | None = None
    search: str | None = None
    assignee: str | None = None
    claimed_by: str | None = None
    mine: str | None = None
    unassigned: bool = False
    tag: str | None = None
    snoozed: Literal["hide", "only", "any"] = "hide"
    now: datetime | None = None
    search_method: SearchMethod = "fulltext"

    def apply(self, query: Select[Any], *, dialect: str) -> Select[Any]:
        """``query`` (over ``cases``) narrowed by every filter given."""
        if self.status is not None:
            statuses = [self.status] if isinstance(self.status, str) else list(self.status)
            query = query.where(col(Case.status).in_(statuses))
        for column, value in (
            (Case.team, self.team),
            (Case.platform, self.platform),
            (Case.tier, self.tier),
            (Case.lang, self.lang),
            (Case.assignee, self.assignee),
            (Case.claimed_by, self.claimed_by),
        ):
            if value is not None:
                query = query.where(col(column) == value)
        if self.mine is not None:
            query = query.where(or_(col(Case.assignee) == self.mine, col(Case.claimed_by) == self.mine))
        if self.unassigned:
            query = query.where(col(Case.assignee).is_(None), col(Case.claimed_by).is_(None))
        if self.tag:
            tagged = select(col(CaseTag.case_id)).where(col(CaseTag.tag) == self.tag.strip().lower())
            query = query.where(col(Case.id).in_(tagged))
        now = self.now or utcnow()
        if self.snoozed == "hide":
            query = query.where(or_(col(Case.snoozed_until).is_(None), col(Case.snoozed_until) <= now))
        elif self.snoozed == "only":
            query = query.where(col(Case.snoozed_until) > now)
        if self.search:
            query = query.where(case_matches(self.search, dialect=dialect, method=self.search_method))
        return query


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def list_cases(session: Session, *, limit: int = 50, offset: int = 0, **filters: Any) -> list[Case]:
    """Cases matching every filter given (``CaseFilter``'s fields), highest priority first."""
    query = CaseFilter(**filters).apply(select(Case), dialect=_dialect(session))
    query = query.order_by(col(Case.priority).desc(), col(Case.id)).limit(limit).offset(offset)
    return list(session.execute(query).scalars().all())


def count_cases(session: Session, *, cap: int | None = None, **filters: Any) -> int:
    """How many cases ``list_cases`` would page through with the same filters.

    ``cap``: stop counting past this many and return ``cap + 1`` (read: "more than cap").
    A search for a common word matches most cases; counting them all would cost more than the
    page itself, and "1,000+" tells an agent as much.
    """
    dialect = _dialect(session)
    if cap is None:
        query = CaseFilter(**filters).apply(select(func.count()).select_from(Case), dialect=dialect)
        return int(session.execute(query).scalar_one())
    some = CaseFilter(**filters).apply(select(col(Case.id)), dialect=dialect).limit(cap + 1).subquery()
    return int(session.execute(select(func.count()).select_from(some)).scalar_one())


def get_case(session: Session, case_id: int) -> Case:
    """The case, or ``CaseNotFound``."""
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(case_id)
    return case


def similar_cases(session: Session, case: Case) -> list[Case]:
    """The other active cases of ``case``'s similar group (near-identical text, other authors;
    grouped by ``engagement.triage.similar``), most money at risk first."""
    if case.similar_group is None:
        return []
    return list(
        session.execute(
            select(Case)
            .where(
                col(Case.similar_group) == case.similar_group,
                col(Case.id) != case.id,
                col(Case.status).in_(ACTIVE_STATUSES),
            )
            .order_by(col(Case.money_at_risk).desc(), col(Case.id))
        ).scalars()
    )


def same_author(case: Case, others: Iterable[Case]) -> list[Case]:
    """Those of ``others`` posted by ``case``'s author: the only ones that may be dismissed as its
    duplicates. A similar case of another author is another customer's complaint, and gets its
    own reply (``bulk reply``), never a dismissal by default."""
    if case.author_id is None:
        return []
    return [c for c in others if c.author_id == case.author_id]


def opening_texts(session: Session, cases: Iterable[Case]) -> dict[int, str]:
    """Case id -> the text of the post that opened it (title first, for Reddit), one query."""
    by_post = {c.post_id: c.id for c in cases if c.id is not None}
    if not by_post:
        return {}
    rows = session.execute(
        select(col(Post.id), col(Post.title), col(Post.text)).where(col(Post.id).in_(list(by_post)))
    ).all()
    return {by_post[pid]: " ".join(x for x in (title, text) if x) for pid, title, text in rows if by_post[pid]}


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
        "similar_group": case.similar_group,
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
    data["tags"] = list(
        session.execute(select(col(CaseTag.tag)).where(col(CaseTag.case_id) == case_id).order_by(col(CaseTag.tag)))
        .scalars()
        .all()
    )
    data["notes"] = [
        {"author": n.author, "text": n.text, "mentions": n.mentions, "at": _iso(n.created_at)}
        for n in session.execute(
            select(CaseNote).where(col(CaseNote.case_id) == case_id).order_by(col(CaseNote.id))
        ).scalars()
    ]
    data["similar"] = [c.id for c in similar_cases(session, case)]
    return data
