"""Read side of the case page: the post in its thread, the author, the customer card, history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from db.models import (
    AuditEvent,
    Author,
    Case,
    CasePost,
    Customer,
    Identity,
    LabelCorrection,
    Post,
    Reply,
    Score,
    Transaction,
    User,
)
from db.vocab import ReplyStatus
from engagement import queue
from engagement.queue import drafts, limits, templates
from engagement.queue.answerable import answerability
from engagement.queue.conversation import conversation
from engagement.queue.reply_transitions import RETRYABLE
from engagement.settings import EngagementSettings
from engagement.web import collisions, plain, presence
from engagement.web.queue_view import latest_scores

THREAD_LIMIT = 40
HISTORY_LIMIT = 30


@dataclass
class PostView:
    post: Post
    author: Author | None
    score: Score | None
    in_case: bool = False
    role: str = ""  # in the conversation: parent, earlier, case or reply
    is_brand: bool = False


@dataclass
class PurchaseSummary:
    count: int
    total: float
    first: datetime | None
    last: datetime | None

    @property
    def average(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass
class CustomerCard:
    customer: Customer
    identities: list[Identity]
    purchases: PurchaseSummary
    earlier_posts: list[PostView]


@dataclass
class CaseDetail:
    case: Case
    post: Post
    author: Author | None
    score: Score | None
    case_posts: list[PostView]
    thread: list[PostView]
    customer: CustomerCard | None
    suggested_identities: list[tuple[Identity, Customer]]
    replies: list[Reply]
    audit: list[AuditEvent]
    corrections: list[LabelCorrection]
    teammates: list[User] = field(default_factory=list)


def _post_views(session: Session, rows: list[tuple[Post, Author | None]], in_case: set[int]) -> list[PostView]:
    scores = latest_scores(session=session, post_ids=[p.id for p, _ in rows if p.id is not None])
    return [PostView(post=p, author=a, score=scores.get(p.id or -1), in_case=(p.id in in_case)) for p, a in rows]


def _purchases(session: Session, customer_id: int) -> PurchaseSummary:
    count, total, first, last = session.exec(
        select(
            func.count(col(Transaction.id)),
            func.coalesce(func.sum(Transaction.amount), 0.0),
            func.min(Transaction.occurred_at),
            func.max(Transaction.occurred_at),
        ).where(col(Transaction.customer_id) == customer_id)
    ).one()
    return PurchaseSummary(count=int(count), total=float(total), first=first, last=last)


def _customer_posts(session: Session, identities: list[Identity], exclude: set[int]) -> list[PostView]:
    """Posts by any account confirmed as the customer's, newest first, with their sentiment."""
    author_ids = {i.author_id for i in identities if i.status == "confirmed" and i.author_id is not None}
    if not author_ids:
        return []
    rows = session.exec(
        select(Post, Author)
        .join(Author, col(Author.id) == col(Post.author_id))
        .where(col(Post.author_id).in_(author_ids))
        .where(col(Post.id).not_in(exclude or {-1}))
        .order_by(col(Post.created_at).desc())
        .limit(HISTORY_LIMIT)
    ).all()
    return _post_views(session, [(p, a) for p, a in rows], set())


def _suggestions(session: Session, author: Author | None) -> list[tuple[Identity, Customer]]:
    """Suggested (undecided) links between this author and customers, most likely first."""
    if author is None or author.id is None:
        return []
    rows = session.exec(
        select(Identity, Customer)
        .join(Customer, col(Customer.id) == col(Identity.customer_id))
        .where(col(Identity.author_id) == author.id, col(Identity.status) == "suggested")
        .order_by(col(Identity.confidence).desc())
    ).all()
    return [(i, c) for i, c in rows]


def case_detail(*, session: Session, case_id: int) -> CaseDetail:
    """Everything the case page shows; raises ``queue.CaseNotFound``."""
    case = queue.get_case(session, case_id)
    post = session.get(Post, case.post_id)
    if post is None:  # pragma: no cover - foreign key keeps this from happening
        raise queue.CaseNotFound(case_id)
    author = session.get(Author, post.author_id) if post.author_id is not None else None
    member_rows = session.exec(
        select(Post, Author)
        .join(CasePost, col(CasePost.post_id) == col(Post.id))
        .outerjoin(Author, col(Author.id) == col(Post.author_id))
        .where(col(CasePost.case_id) == case_id)
        .order_by(col(Post.created_at))
    ).all()
    in_case = {p.id for p, _ in member_rows if p.id is not None} | {post.id or -1}
    case_posts = _post_views(session, [(p, a) for p, a in member_rows] or [(post, author)], in_case)
    # The case's opening post leads the conversation: its parent chain is "the post it answers".
    members = [post, *(p for p, _ in member_rows if p.id != post.id)]
    entries = conversation(session, members)[:THREAD_LIMIT]
    thread = _post_views(session, [(e.post, e.author) for e in entries], in_case)
    for view, entry in zip(thread, entries, strict=True):
        view.role, view.is_brand = entry.role.value, entry.is_brand
    score = latest_scores(session=session, post_ids=[post.id or -1]).get(post.id or -1)

    card: CustomerCard | None = None
    if case.customer_id is not None:
        customer = session.get(Customer, case.customer_id)
        if customer is not None:
            identities = list(session.exec(select(Identity).where(col(Identity.customer_id) == customer.id)).all())
            card = CustomerCard(
                customer=customer,
                identities=identities,
                purchases=_purchases(session, case.customer_id),
                earlier_posts=_customer_posts(session, identities, in_case),
            )
    replies = queue.case_replies(session, case_id)
    audit = list(reversed(queue.case_audit(session, case_id)))
    corrections = list(
        session.exec(
            select(LabelCorrection)
            .where(col(LabelCorrection.post_id).in_(list(in_case)))
            .order_by(col(LabelCorrection.created_at).desc())
        ).all()
    )
    teammates = list(session.exec(select(User).order_by(col(User.team), col(User.name))).all())
    return CaseDetail(
        case=case,
        post=post,
        author=author,
        score=score,
        case_posts=case_posts,
        thread=thread,
        customer=card,
        suggested_identities=_suggestions(session, author),
        replies=replies,
        audit=audit,
        corrections=corrections,
        teammates=teammates,
    )


def sentiment_history(card: CustomerCard | None) -> list[dict[str, Any]]:
    """The customer's earlier posts as (when, label, P(negative)), oldest first: the trend strip."""
    if card is None:
        return []
    points = [
        {
            "when": v.post.created_at,
            "label": v.score.label,
            "p_negative": v.score.p_negative,
            "post_id": v.post.id,
        }
        for v in card.earlier_posts
        if v.score is not None
    ]
    return sorted(points, key=lambda p: p["when"])


def answered_by(detail: CaseDetail) -> str | None:
    """Who sent the reply that answered the case: the newest reply the platform took. A dry-run
    or not-sent reply answered nobody, so it never names its author here (issue 25)."""
    for reply in sorted(detail.replies, key=lambda r: r.created_at, reverse=True):
        if reply.status == ReplyStatus.SENT:
            return reply.author
    return None


def unsent_replies(detail: CaseDetail) -> set[int]:
    """Ids of replies that never reached the platform (not sent, failed, legacy dry run): the
    page shows them as "not sent" with Retry and "Answered elsewhere"."""
    return {r.id for r in detail.replies if r.id is not None and r.status in RETRYABLE}


def first_post_at(detail: CaseDetail) -> datetime | None:
    """When the customer first spoke in this case (the answer time is counted from here)."""
    times = [v.post.created_at for v in detail.case_posts] or [detail.post.created_at]
    return min(times)


def page_extras(session: Session, detail: CaseDetail, user: User, settings: EngagementSettings) -> dict[str, Any]:
    """What the case page adds around the case: presence, hold, draft, saved replies, plain words."""
    case = detail.case
    assert case.id is not None
    hold = collisions.current_hold(session, case)
    draft = drafts.load_draft(session, case_id=case.id, user_name=user.name)
    purchases = detail.customer.purchases.count if detail.customer else 0
    customer = detail.customer.customer if detail.customer else None
    return {
        "hold": hold,
        "held_by_other": hold is not None and hold.holder != user.name,
        "others": presence.present(session, case_id=case.id, besides=user.name),
        "taken_over": collisions.taken_from(session, case, user.name),
        "draft": draft.text if draft else "",
        "saved_replies": templates.saved_replies(session, team=case.team, settings=settings.replies, lang=case.lang),
        "variables": templates.VARIABLES,
        "lease_minutes": settings.routing.lease_minutes,
        "answerable": answerability(case.platform or detail.post.platform, settings.replies),
        "unsent": unsent_replies(detail),
        "limit": limits.LIMITS.get(case.platform or detail.post.platform),
        "limit_unit": limits.UNITS.get(case.platform or detail.post.platform, limits.DEFAULT_UNIT),
        "outcome": plain.outcome_sentence(
            status=case.status,
            close_reason=case.close_reason,
            closed_at=case.closed_at,
            first_post_at=first_post_at(detail),
            answered_by=answered_by(detail),
        ),
        "value_facts": plain.customer_value_facts(customer) if customer else [],
        "p_alive_text": plain.p_alive_text(customer.p_alive if customer else None, purchases),
        "churn_text": plain.churn_text(customer.churn_risk if customer else None, purchases),
    }
