"""The triage step: negative, unanswered, recent posts become prioritised, routed cases.

Reads what the other steps wrote (posts, their newest sentiment score, authors, confirmed
identities and customers) and writes ``cases`` and ``case_posts``. Idempotent: running it twice
with the same ``now`` changes nothing; a later run only ages priorities, merges new posts,
reopens threads the author came back to, and closes cases whose thread got a brand reply.

Rules (settings ``[engagement.triage]``):
- negative: P(negative) >= ``negative_threshold``, where reviews blend text and stars
  (``engagement.priority.combined_p_negative``); label ``unsupported_language`` never opens a case;
- unanswered: no ``answered_at``, no brand post in its thread at or after it, no reply of ours;
- recent: created within ``window_hours`` of ``now``.
One case per author and thread (``dedupe_key`` = ``platform:author:thread``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, or_, select, tuple_
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import Author, Case, CasePost, Customer, Identity, Post, Reply, Score, User
from db.types import utcnow
from engagement.priority import ValueFacts, assess, combined_p_negative
from engagement.queue import ACTIVE_STATUSES, CLOSED, DISMISSED, OPEN, audit
from engagement.routing import CaseFacts, route, sla_due, sla_hours
from engagement.settings import EngagementSettings
from engagement.tiers import TierCutoffs, customer_value, tier_cutoffs, tier_for

log = logging.getLogger(__name__)

ACTOR = "triage"
UNSUPPORTED = "unsupported_language"
ANSWERING_REPLY_STATUSES = ("sent", "dry_run", "sending")


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

    @property
    def thread(self) -> str:
        return self.post.conversation_id or self.post.external_id

    @property
    def dedupe_key(self) -> str:
        who = (
            str(self.post.author_id)
            if self.post.author_id is not None
            else f"post-{self.post.external_id}"
        )
        return f"{self.post.platform}:{who}:{self.thread}"[:255]


def dedupe_key_for(post: Post) -> str:
    """``platform:author:thread``: one author's posts in one thread make one case."""
    thread = post.conversation_id or post.external_id
    who = str(post.author_id) if post.author_id is not None else f"post-{post.external_id}"
    return f"{post.platform}:{who}:{thread}"[:255]


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _latest_scores(session: Session, post_ids: Sequence[int]) -> dict[int, Score]:
    """The newest score per post (several models may have scored it)."""
    rows = session.execute(
        select(Score)
        .where(col(Score.post_id).in_(post_ids))
        .order_by(col(Score.scored_at), col(Score.id))
    ).scalars()
    latest: dict[int, Score] = {}
    for score in rows:
        latest[score.post_id] = score  # ordered oldest first, so the newest wins
    return latest


def _customers_for(session: Session, authors: Iterable[Author]) -> dict[int, Customer]:
    """Author id -> linked customer, through a confirmed identity (by platform user id or
    handle)."""
    authors = list(authors)
    if not authors:
        return {}
    platforms = {a.platform for a in authors}
    ids = {a.external_id for a in authors}
    handles = {a.handle.lower().lstrip("@") for a in authors if a.handle}
    conditions = [col(Identity.platform_user_id).in_(ids)]
    if handles:
        conditions.append(col(Identity.handle).in_(handles))
    rows = session.execute(
        select(Identity, Customer)
        .join(Customer, col(Customer.id) == col(Identity.customer_id))
        .where(
            col(Identity.status) == "confirmed",
            col(Identity.platform).in_(platforms),
            or_(*conditions),
        )
        .order_by(col(Identity.confidence).desc(), col(Identity.id))
    ).all()
    by_id: dict[tuple[str, str], Customer] = {}
    by_handle: dict[tuple[str, str], Customer] = {}
    for identity, customer in rows:
        if identity.platform_user_id:
            by_id.setdefault((identity.platform, identity.platform_user_id), customer)
        if identity.handle:
            by_handle.setdefault((identity.platform, identity.handle.lower().lstrip("@")), customer)
    linked: dict[int, Customer] = {}
    for author in authors:
        assert author.id is not None
        found = by_id.get((author.platform, author.external_id))
        if found is None and author.handle:
            found = by_handle.get((author.platform, author.handle.lower().lstrip("@")))
        if found is not None:
            linked[author.id] = found
    return linked


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
            conditions.append(
                tuple_(col(Post.platform), col(Post.conversation_id)).in_(list(threads))
            )
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
            .where(
                col(CasePost.post_id).in_(post_ids), col(Reply.status).in_(ANSWERING_REPLY_STATUSES)
            )
            .group_by(col(CasePost.post_id))
        ).all()
        ours = {int(r[0]): r[1] for r in rows if r[1] is not None}
    for post in posts:
        assert post.id is not None
        times = [t for t in by_parent.get((post.platform, post.external_id), [])]
        if post.conversation_id:
            times += [
                t
                for t in by_thread.get((post.platform, post.conversation_id), [])
                if t >= post.created_at
            ]
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
    session: Session, posts: Sequence[Post], settings: EngagementSettings
) -> list[PostFacts]:
    """Score, author, customer and answered time for each post (a handful of set queries)."""
    post_ids = [p.id for p in posts if p.id is not None]
    scores = _latest_scores(session, post_ids)
    author_ids = {p.author_id for p in posts if p.author_id is not None}
    authors = (
        {
            a.id: a
            for a in session.execute(select(Author).where(col(Author.id).in_(author_ids))).scalars()
        }
        if author_ids
        else {}
    )
    customers = _customers_for(session, authors.values())
    answered = _answered(session, posts)
    facts: list[PostFacts] = []
    for post in posts:
        assert post.id is not None
        score = scores.get(post.id)
        p_text = float(score.p_negative) if score is not None else None
        label = score.label if score is not None else None
        facts.append(
            PostFacts(
                post=post,
                label=label,
                p_text=p_text,
                p_negative=combined_p_negative(p_text, post.rating, settings.triage),
                author=authors.get(post.author_id) if post.author_id is not None else None,
                customer=customers.get(post.author_id) if post.author_id is not None else None,
                answered_at=answered.get(post.id),
            )
        )
    return facts


def _value_facts(fact: PostFacts) -> ValueFacts:
    customer = fact.customer
    followers = fact.author.followers if fact.author is not None else None
    if customer is None:
        return ValueFacts(linked=False, followers=followers)
    return ValueFacts(
        linked=True,
        clv=customer.clv,
        rclv=customer.rclv,
        churn_risk=customer.churn_risk,
        followers=followers,
        customer_name=customer.name,
    )


def _tier(fact: PostFacts, cutoffs: TierCutoffs) -> str:
    customer = fact.customer
    value = customer_value(customer.rclv, customer.clv) if customer is not None else None
    return tier_for(value, cutoffs, linked=customer is not None)


class _Assigner:
    """Fair round-robin inside a team, with a per-agent capacity of open cases; skips agents
    away."""

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


def _price(
    fact_list: Sequence[PostFacts],
    opened_at: datetime,
    cutoffs: TierCutoffs,
    settings: EngagementSettings,
    now: datetime,
) -> tuple[str, float, Any]:
    """Tier, SLA hours and the ``Priority`` of a case from its posts (the most negative one
    counts)."""
    worst = max(fact_list, key=lambda f: f.p_negative or 0.0)
    tier = _tier(worst, cutoffs)
    hours = sla_hours(tier, settings.routing)
    priority = assess(
        facts=_value_facts(worst),
        p_negative=float(worst.p_negative or 0.0),
        created_at=opened_at,
        now=now,
        sla_hours=hours,
        tier=tier,
        settings=settings.triage,
        p_text=worst.p_text,
        rating=worst.post.rating,
    )
    return tier, hours, priority


def _is_candidate(fact: PostFacts, settings: EngagementSettings, counts: dict[str, int]) -> bool:
    if fact.label == UNSUPPORTED:
        counts["unsupported_language"] += 1
        return False
    if fact.p_negative is None:
        counts["unscored"] += 1
        return False
    if fact.p_negative < settings.triage.negative_threshold:
        counts["not_negative"] += 1
        return False
    if fact.answered_at is not None:
        counts["answered"] += 1
        return False
    return True


def _open_cases(
    session: Session,
    settings: EngagementSettings,
    facts: list[PostFacts],
    cutoffs: TierCutoffs,
    assigner: _Assigner | None,
    now: datetime,
    counts: dict[str, int],
) -> None:
    groups: dict[str, list[PostFacts]] = defaultdict(list)
    for fact in facts:
        groups[fact.dedupe_key].append(fact)
    existing = (
        {
            c.dedupe_key: c
            for c in session.execute(
                select(Case).where(col(Case.dedupe_key).in_(list(groups))).with_for_update()
            ).scalars()
        }
        if groups
        else {}
    )
    post_ids = [f.post.id for f in facts]
    attached = (
        set(
            session.execute(
                select(col(CasePost.post_id)).where(col(CasePost.post_id).in_(post_ids))
            ).scalars()
        )
        if post_ids
        else set()
    )
    for key, group in groups.items():
        group.sort(key=lambda f: (f.post.created_at, f.post.id or 0))
        new_posts = [f for f in group if f.post.id not in attached]
        if not new_posts:
            continue
        case = existing.get(key)
        if case is None:
            first = group[0]
            text = " ".join(x for x in (first.post.title, first.post.text) if x)
            customer = first.customer
            tier, _hours, priority = _price(group, first.post.created_at, cutoffs, settings, now)
            decision = route(
                CaseFacts(
                    text=text,
                    platform=first.post.platform,
                    lang=first.post.lang,
                    segment=customer.segment if customer is not None else None,
                    tier=tier,
                    rating=first.post.rating,
                ),
                settings.routing,
            )
            assignee = decision.assignee
            if assignee is None and assigner is not None:
                assignee = assigner.pick(decision.team)
            reasons = dict(
                priority.reasons, rule=decision.rule, route=decision.why, team=decision.team
            )
            case = Case(
                dedupe_key=key,
                post_id=first.post.id or 0,
                author_id=first.post.author_id,
                customer_id=customer.id if customer is not None else None,
                status=OPEN,
                team=decision.team,
                tier=tier,
                priority=priority.priority,
                money_at_risk=priority.money_at_risk,
                reasons=reasons,
                sla_due_at=sla_due(first.post.created_at, tier, settings.routing),
                assignee=assignee,
                platform=first.post.platform,
                lang=first.post.lang,
                last_post_at=group[-1].post.created_at,
                created_at=now,
                updated_at=now,
            )
            session.add(case)
            session.flush()
            audit(
                session,
                case_id=case.id,
                actor=ACTOR,
                action="opened",
                now=now,
                team=case.team,
                rule=decision.rule,
                assignee=assignee,
                priority=case.priority,
            )
            counts["created"] += 1
        else:
            newest = new_posts[-1].post.created_at
            if (
                case.status not in ACTIVE_STATUSES
                and case.status != DISMISSED
                and (case.closed_at is None or newest > case.closed_at)
            ):
                audit(
                    session,
                    case_id=case.id,
                    actor=ACTOR,
                    action="reopened",
                    now=now,
                    previous_status=case.status,
                    post_ids=[f.post.id for f in new_posts],
                )
                case.status = OPEN
                case.close_reason = None
                case.closed_at = None
                counts["reopened"] += 1
            else:
                audit(
                    session,
                    case_id=case.id,
                    actor=ACTOR,
                    action="merged",
                    now=now,
                    post_ids=[f.post.id for f in new_posts],
                )
                counts["merged"] += 1
            if case.last_post_at is None or newest > case.last_post_at:
                case.last_post_at = newest
            case.updated_at = now
            session.add(case)
        for fact in new_posts:
            session.add(CasePost(case_id=case.id or 0, post_id=fact.post.id or 0))
            attached.add(fact.post.id)


def _refresh_cases(
    session: Session,
    settings: EngagementSettings,
    case_ids: Sequence[int],
    cutoffs: TierCutoffs,
    now: datetime,
    counts: dict[str, int],
) -> None:
    """Age priorities, follow CLV changes and close cases whose thread got a brand reply."""
    cases = list(
        session.execute(
            select(Case)
            .where(col(Case.id).in_(case_ids), col(Case.status).in_(ACTIVE_STATUSES))
            .order_by(col(Case.id))
            .with_for_update()
        ).scalars()
    )
    if not cases:
        return
    links = session.execute(
        select(col(CasePost.case_id), Post)
        .join(Post, col(Post.id) == col(CasePost.post_id))
        .where(col(CasePost.case_id).in_([c.id for c in cases]))
    ).all()
    posts_of: dict[int, list[Post]] = defaultdict(list)
    for case_id, post in links:
        posts_of[int(case_id)].append(post)
    all_posts = [p for posts in posts_of.values() for p in posts]
    facts = {f.post.id: f for f in gather_facts(session, all_posts, settings)}
    for case in cases:
        assert case.id is not None
        fact_list = [facts[p.id] for p in posts_of.get(case.id, []) if p.id in facts]
        if not fact_list:
            continue
        if all(f.answered_at is not None for f in fact_list):
            case.status = CLOSED
            case.close_reason = "brand_replied"
            case.closed_at = max(f.answered_at for f in fact_list if f.answered_at is not None)
            case.claimed_by = None
            case.claim_expires_at = None
            case.updated_at = now
            session.add(case)
            audit(
                session,
                case_id=case.id,
                actor=ACTOR,
                action="closed",
                now=now,
                reason="brand_replied",
            )
            counts["closed"] += 1
            continue
        opened = min(f.post.created_at for f in fact_list)
        tier, _hours, priority = _price(fact_list, opened, cutoffs, settings, now)
        reasons = dict(case.reasons or {})
        reasons.update(priority.reasons)
        customer = max(fact_list, key=lambda f: f.p_negative or 0.0).customer
        customer_id = customer.id if customer is not None else case.customer_id
        due = sla_due(opened, tier, settings.routing)
        changed = (
            abs(case.priority - priority.priority) > 1e-6
            or abs(case.money_at_risk - priority.money_at_risk) > 1e-6
            or case.tier != tier
            or case.customer_id != customer_id
            or case.sla_due_at != due
            or reasons != (case.reasons or {})
        )
        if changed:
            case.priority = priority.priority
            case.money_at_risk = priority.money_at_risk
            case.tier = tier
            case.customer_id = customer_id
            case.sla_due_at = due
            case.reasons = reasons
            session.add(case)
            counts["updated"] += 1


def triage(
    engine: Engine, settings: EngagementSettings, *, now: datetime | None = None
) -> dict[str, int]:
    """Run triage once: open/merge cases for new posts, then refresh every active case.

    Commits per chunk (``settings.triage.chunk_size`` posts or cases). Returns counts:
    considered, created, merged, reopened, closed, updated, and why posts were passed over
    (not_negative, answered, unscored, unsupported_language).
    """
    now = now or utcnow()
    counts: dict[str, int] = defaultdict(int)
    since = now - timedelta(hours=settings.triage.window_hours)
    chunk = max(1, settings.triage.chunk_size)
    with session_scope(engine) as session:
        cutoffs = tier_cutoffs(session=session, fractions=settings.triage.tier_fractions)
        post_ids = list(
            session.execute(
                select(col(Post.id))
                .where(
                    col(Post.created_at) >= since,
                    col(Post.created_at) <= now,
                    col(Post.is_brand).is_(False),
                )
                .order_by(col(Post.id))
            ).scalars()
        )
    for ids in _chunks(post_ids, chunk):
        with session_scope(engine, write=True) as session:
            assigner = (
                _Assigner(session, settings.routing.agent_capacity)
                if settings.routing.auto_assign
                else None
            )
            posts = list(
                session.execute(
                    select(Post).where(col(Post.id).in_(ids)).order_by(col(Post.id))
                ).scalars()
            )
            facts = gather_facts(session, posts, settings)
            counts["considered"] += len(facts)
            candidates = [f for f in facts if _is_candidate(f, settings, counts)]
            _open_cases(session, settings, candidates, cutoffs, assigner, now, counts)
    with session_scope(engine) as session:
        case_ids = list(
            session.execute(
                select(col(Case.id))
                .where(col(Case.status).in_(ACTIVE_STATUSES))
                .order_by(col(Case.id))
            ).scalars()
        )
    for ids in _chunks(case_ids, chunk):
        with session_scope(engine, write=True) as session:
            _refresh_cases(session, settings, ids, cutoffs, now, counts)
    for key in ("considered", "created", "merged", "reopened", "closed", "updated"):
        counts.setdefault(key, 0)
    log.info("triage: %s", dict(counts), extra={"step": "triage", "counts": dict(counts)})
    return dict(counts)


__all__ = ["PostFacts", "dedupe_key_for", "gather_facts", "triage"]
