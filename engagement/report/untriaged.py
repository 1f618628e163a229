"""Negative posts no case was opened for (older than the triage window, or from before
engagebot ran), priced with triage's own rules so the report counts every week the same way."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from db.models import Case, CasePost, JobRun, Post, Score
from engagement.customers.tiers import TierCutoffs, customer_value, tier_for
from engagement.report.rows import UntriagedRow
from engagement.settings import EngagementSettings
from engagement.triage.facts import PostFacts, gather_facts, value_facts
from engagement.triage.priority import assess

_CHUNK = 500


def first_triage_run(*, session: Session) -> datetime | None:
    """When engagebot first triaged: posts older than this minus the window were never seen fresh."""
    value: datetime | None = session.scalar(select(func.min(col(JobRun.started_at))).where(col(JobRun.job) == "triage"))
    return value


def _price_untriaged(fact: PostFacts, cutoffs: TierCutoffs, settings: EngagementSettings) -> tuple[str, float]:
    """Tier and money at risk of a post as triage would have priced it had it opened a case."""
    customer = fact.customer
    value = value_facts(fact)
    tier = tier_for(
        customer_value(customer.rclv, customer.clv) if customer is not None else None,
        cutoffs,
        linked=customer is not None,
    )
    created = fact.post.created_at
    priced = assess(
        facts=value,
        p_negative=float(fact.p_negative or 0.0),
        created_at=created,
        now=created,
        sla_hours=1.0,
        tier=tier,
        settings=settings.triage,
        p_text=fact.p_text,
        rating=fact.post.rating,
    )
    return tier, priced.money_at_risk


def load_untriaged(
    start: datetime,
    end: datetime,
    *,
    session: Session,
    settings: EngagementSettings,
    cutoffs: TierCutoffs,
) -> list[UntriagedRow]:
    """Negative posts written in [start, end) that no case was opened for, one per author and
    thread (the most negative), priced as triage prices a case.

    "Negative" and "answered" are triage's own rules (``triage.facts.gather_facts``: the current
    score, a review's stars, brand replies in the thread), so this money is the same measure
    as the cases' money, whatever the age of the post.
    """
    threshold = settings.triage.negative_threshold
    in_case = or_(
        select(col(CasePost.post_id)).where(col(CasePost.post_id) == col(Post.id)).exists(),
        select(col(Case.id)).where(col(Case.post_id) == col(Post.id)).exists(),
    )
    negative_somewhere = (
        select(col(Score.id)).where(col(Score.post_id) == col(Post.id), col(Score.p_negative) >= threshold).exists()
    )
    ids: list[int] = [
        post_id
        for post_id in session.scalars(
            select(col(Post.id))
            .where(
                col(Post.created_at) >= start,
                col(Post.created_at) < end,
                col(Post.is_brand).is_(False),
                ~in_case,
                or_(col(Post.rating).is_not(None), negative_somewhere),
            )
            .order_by(col(Post.id))
        ).all()
        if post_id is not None
    ]
    worst: dict[str, PostFacts] = {}
    for offset in range(0, len(ids), _CHUNK):
        chunk = ids[offset : offset + _CHUNK]
        posts = list(session.scalars(select(Post).where(col(Post.id).in_(chunk)).order_by(col(Post.id))).all())
        for fact in gather_facts(session, posts, settings):
            if fact.label == "unsupported_language" or fact.p_negative is None or fact.p_negative < threshold:
                continue
            held = worst.get(fact.dedupe_key)
            if held is None or (fact.p_negative or 0.0) > (held.p_negative or 0.0):
                worst[fact.dedupe_key] = fact
    with_case: set[str] = set()
    keys = sorted(worst)
    for offset in range(0, len(keys), _CHUNK):
        chunk_keys = keys[offset : offset + _CHUNK]
        with_case |= set(session.scalars(select(col(Case.dedupe_key)).where(col(Case.dedupe_key).in_(chunk_keys))))
    first_run = first_triage_run(session=session)
    seen_from = first_run - timedelta(hours=settings.triage.window_hours) if first_run is not None else None
    rows = []
    for key, fact in worst.items():
        if key in with_case:
            continue  # that author's thread is a case already: its money is the case's
        tier, money = _price_untriaged(fact, cutoffs, settings)
        post = fact.post
        assert post.id is not None
        rows.append(
            UntriagedRow(
                post_id=post.id,
                posted_at=post.created_at,
                platform=post.platform,
                tier=tier,
                money_at_risk=money,
                customer_id=fact.customer.id if fact.customer is not None else None,
                handle=fact.author.handle if fact.author is not None else None,
                answered_at=fact.answered_at,
                text=f"{post.title}\n{post.text}" if post.title else post.text,
                url=post.url,
                before_engagebot=seen_from is None or post.created_at < seen_from,
            )
        )
    rows.sort(key=lambda row: (row.posted_at, row.post_id))
    return rows
