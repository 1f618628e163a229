"""What triage knows of a post: its current score, author, customer, reach value and when it was answered.

A handful of set queries per chunk of posts (no per-post round trips). The score, the customer
behind the author and the reach value each come from their one shared rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, tuple_
from sqlmodel import Session, col

from db.models import Author, CasePost, Customer, Post, Reply
from db.models.posts import HUMAN_CORRECTION_MODEL_ID
from db.scores import current_scores
from db.types import utcnow
from db.vocab import ReplyStatus
from engagement.customers.identities import customers_for_authors
from engagement.customers.value import author_engagement, case_reach_value
from engagement.settings import EngagementSettings
from engagement.triage.labels import UNSUPPORTED_LANGUAGE
from engagement.triage.priority import ValueFacts, combined_p_negative

#: Replies that answer the post: posted, or being posted. A reply that was not sent (dry run,
#: no credentials, refused) answered nobody, so the post must still open or keep its case.
ANSWERING_REPLY_STATUSES = (ReplyStatus.SENT, ReplyStatus.SENDING)


@dataclass
class PostFacts:
    """One post with everything triage needs to judge and price it."""

    post: Post
    label: str | None
    p_text: float | None
    p_negative: float | None
    author: Author | None
    customer: Customer | None
    answered_at: datetime | None
    reach_value: float = 0.0
    labelled_by_person: bool = False

    @property
    def thread(self) -> str:
        return self.post.conversation_id or self.post.external_id

    @property
    def dedupe_key(self) -> str:
        who = str(self.post.author_id) if self.post.author_id is not None else f"post-{self.post.external_id}"
        return f"{self.post.platform}:{who}:{self.thread}"[:255]


def dedupe_key_for(post: Post) -> str:
    """``platform:author:thread``: one author's posts in one thread make one case."""
    thread = post.conversation_id or post.external_id
    who = str(post.author_id) if post.author_id is not None else f"post-{post.external_id}"
    return f"{post.platform}:{who}:{thread}"[:255]


def _answered(session: Session, posts: Sequence[Post]) -> dict[int, datetime]:
    """Post id -> when the brand (or we) answered it: its own ``answered_at``, a brand post in its
    thread at or after it, a brand post replying to it, or a reply we sent on a case holding it."""
    answered: dict[int, datetime] = {}
    for post in posts:
        if post.answered_at is not None:
            assert post.id is not None
            answered[post.id] = post.answered_at
    threads = {(p.platform, p.conversation_id) for p in posts if p.conversation_id}
    ext = {(p.platform, p.external_id) for p in posts}
    brand: list[tuple[str, str | None, str | None, str, datetime]] = []
    if threads or ext:
        conditions = []
        if threads:
            conditions.append(tuple_(col(Post.platform), col(Post.conversation_id)).in_(list(threads)))
        conditions.append(tuple_(col(Post.platform), col(Post.in_reply_to_id)).in_(list(ext)))
        brand = [
            (r[0], r[1], r[2], r[3], r[4])
            for r in session.execute(
                select(
                    col(Post.platform),
                    col(Post.conversation_id),
                    col(Post.in_reply_to_id),
                    col(Post.external_id),
                    col(Post.created_at),
                ).where(col(Post.is_brand).is_(True), or_(*conditions))
            ).all()
        ]
    by_thread: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    by_parent: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for platform, conversation, parent, _ext_id, created in brand:
        if conversation:
            by_thread[(platform, conversation)].append(created)
        if parent:
            by_parent[(platform, parent)].append(created)
    post_ids = [p.id for p in posts if p.id is not None]
    ours: dict[int, datetime] = {}
    if post_ids:
        rows = session.execute(
            select(
                col(CasePost.post_id),
                func.min(func.coalesce(col(Reply.sent_at), col(Reply.created_at))),
            )
            .join(Reply, col(Reply.case_id) == col(CasePost.case_id))
            .where(col(CasePost.post_id).in_(post_ids), col(Reply.status).in_(ANSWERING_REPLY_STATUSES))
            .group_by(col(CasePost.post_id))
        ).all()
        ours = {int(r[0]): r[1] for r in rows if r[1] is not None}
    for post in posts:
        assert post.id is not None
        times = [t for t in by_parent.get((post.platform, post.external_id), [])]
        if post.conversation_id:
            times += [t for t in by_thread.get((post.platform, post.conversation_id), []) if t >= post.created_at]
        if post.id in ours:
            mine = ours[post.id]
            if mine.tzinfo is None:  # SQLite hands back naive times from an aggregate
                mine = mine.replace(tzinfo=UTC)
            if mine >= post.created_at:
                times.append(mine)
        if times:
            first = min(times)
            answered[post.id] = min(first, answered.get(post.id, first))
    return answered


def gather_facts(
    session: Session, posts: Sequence[Post], settings: EngagementSettings, *, now: datetime | None = None
) -> list[PostFacts]:
    """Score, author, customer, reach value and answered time for each post (a handful of set
    queries). The score, customer and reach value come from the one rule of each
    (``db.scores``, ``customers_for_authors``, ``case_reach_value``)."""
    post_ids = [p.id for p in posts if p.id is not None]
    scores = current_scores(session, post_ids)
    author_ids = {p.author_id for p in posts if p.author_id is not None}
    authors = (
        {a.id: a for a in session.execute(select(Author).where(col(Author.id).in_(author_ids))).scalars()}
        if author_ids
        else {}
    )
    customers = customers_for_authors(session, list(authors))
    rclv = settings.clv.rclv
    now = now or utcnow()
    engagement = author_engagement(session, list(authors), since=now - timedelta(days=rclv.engagement_window_days))
    answered = _answered(session, posts)
    facts: list[PostFacts] = []
    for post in posts:
        assert post.id is not None
        score = scores.get(post.id)
        label = score.label if score is not None else None
        # A language the model does not cover has no text evidence (its probabilities are 0).
        p_text = float(score.p_negative) if score is not None and label != UNSUPPORTED_LANGUAGE else None
        author = authors.get(post.author_id) if post.author_id is not None else None
        customer = customers.get(post.author_id) if post.author_id is not None else None
        facts.append(
            PostFacts(
                post=post,
                label=label,
                labelled_by_person=score is not None and score.model_id == HUMAN_CORRECTION_MODEL_ID,
                p_text=p_text,
                p_negative=combined_p_negative(p_text, post.rating, settings.triage),
                author=author,
                customer=customer,
                answered_at=answered.get(post.id),
                reach_value=case_reach_value(
                    customer,
                    followers=author.followers if author is not None else None,
                    engagement=engagement.get(author.id or -1) if author is not None else None,
                    settings=rclv,
                ),
            )
        )
    return facts


def value_facts(fact: PostFacts) -> ValueFacts:
    """What the post's author is worth, as ``priority.assess`` prices it (triage and the report)."""
    customer = fact.customer
    followers = fact.author.followers if fact.author is not None else None
    if customer is None:
        return ValueFacts(linked=False, followers=followers, reach_value=fact.reach_value)
    return ValueFacts(
        linked=True,
        clv=customer.clv,
        rclv=customer.rclv,
        churn_risk=customer.churn_risk,
        followers=followers,
        reach_value=fact.reach_value,
        customer_name=customer.name,
    )
