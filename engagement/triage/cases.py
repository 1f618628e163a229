"""The triage step: negative, unanswered, recent posts become prioritised, routed cases.

Reads what the other steps wrote (posts, their newest sentiment score, authors, confirmed
identities and customers) and writes ``cases`` and ``case_posts``. Idempotent: running it twice
with the same ``now`` changes nothing; a later run only ages priorities, merges new posts,
reopens threads the author came back to, and closes cases whose thread got a brand reply or
whose every post people relabelled as not negative (``close_reason = "relabelled"``). Every write
transaction takes the ``TRIAGE_LOCK`` (``db.claims.serialise``), as does ``retriage_cases``.

Rules (settings ``[engagement.triage]``):
- negative: P(negative) >= ``negative_threshold``, where reviews blend text and stars
  (``engagement.triage.priority.combined_p_negative``);
- or unscorable but important: label ``unsupported_language`` (a language no model covers)
  opens a case only when the author is valuable (``unscored_tiers``, ``unscored_min_value``) or
  it is a review with low stars (``unscored_max_rating``); it reads "sentiment unknown: needs a
  person" and is routed by the rules' ``languages``;
- unanswered: no ``answered_at``, no brand post in its thread at or after it, no reply of ours;
- recent: created within ``window_hours`` of ``now``.
One case per author and thread (``dedupe_key`` = ``platform:author:thread``).

The backlog: on a new install (the first triage, with no case yet) and on request
(``triage --backlog``), posts older than the window but within ``backlog_days`` become cases
too, but only those of valued authors (``backlog_tiers``), at most ``backlog_max`` of them, the
most money first. Without it a brand's first day starts with its worst complaints of last week
already "never triaged". They are tagged ``backlog``, their SLA runs from the moment they enter
the queue (they were late before anyone could answer), and they are announced in one Slack
summary (``engagement.notify.backlog``) instead of one message each.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlmodel import Session, col

from db.claims import serialise
from db.engine import session_scope
from db.models import Case, CasePost, CaseTag, Post, Score
from db.types import utcnow
from engagement.customers.tiers import TierCutoffs, customer_value, tier_cutoffs, tier_for
from engagement.queue import ACTIVE_STATUSES, CaseStatus, audit, transition
from engagement.settings import EngagementSettings
from engagement.settings_store import effective
from engagement.triage.assignment import Assigner
from engagement.triage.facts import PostFacts, dedupe_key_for, gather_facts, value_facts
from engagement.triage.labels import NEGATIVE, UNSUPPORTED_LANGUAGE
from engagement.triage.priority import assess
from engagement.triage.routing import CaseFacts, route, sla_due, sla_hours, validate_rules
from engagement.triage.similar import NewCase, group_similar

log = logging.getLogger(__name__)

ACTOR = "triage"
#: shown wherever a case opened on a post the model could not score (its language) is listed
NEEDS_PERSON = "sentiment unknown: needs a person"
#: the close reason when people relabelled every post of a case as not negative (reopenable)
RELABELLED = "relabelled"
#: the tag of the cases the backlog step opened (``triage --backlog``, a new install)
BACKLOG_TAG = "backlog"
#: ``db.claims.serialise`` key: every write transaction of triage, scheduled or after a
#: relabel in the web app, runs under it, so two triage runs never decide on the same cases
TRIAGE_LOCK = "triage"


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _tier(fact: PostFacts, cutoffs: TierCutoffs) -> str:
    customer = fact.customer
    value = customer_value(customer.rclv, customer.clv) if customer is not None else None
    return tier_for(value, cutoffs, linked=customer is not None)


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
        facts=value_facts(worst),
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


def _needs_person(fact: PostFacts, cutoffs: TierCutoffs, settings: EngagementSettings) -> bool:
    """An unscorable post (its language) still matters when its author is valuable, or when it
    is a review with low stars: a person must read it."""
    triage_settings = settings.triage
    rating = fact.post.rating
    if rating is not None and rating <= triage_settings.unscored_max_rating:
        return True
    customer = fact.customer
    value = customer_value(customer.rclv, customer.clv) if customer is not None else None
    if value is not None and value >= triage_settings.unscored_min_value:
        return True
    return _tier(fact, cutoffs) in triage_settings.unscored_tiers


def _assume_unknown(facts: Sequence[PostFacts], settings: EngagementSettings) -> None:
    """Give unscorable posts without stars the configured P(negative), so they can be priced."""
    for fact in facts:
        if fact.label == UNSUPPORTED_LANGUAGE and fact.p_negative is None:
            fact.p_negative = settings.triage.unscored_p_negative


def _mark_unknown(reasons: dict[str, Any], fact_list: Sequence[PostFacts]) -> dict[str, Any]:
    """Say in the reasons (and the "why" every view shows) that no model read these posts."""
    if fact_list and all(f.label == UNSUPPORTED_LANGUAGE for f in fact_list):
        reasons["sentiment"] = "unknown"
        why = str(reasons.get("why") or "").rstrip(". ")
        if NEEDS_PERSON not in why:
            reasons["why"] = f"{why}; {NEEDS_PERSON}" if why else NEEDS_PERSON
    return reasons


def _is_candidate(fact: PostFacts, settings: EngagementSettings, counts: dict[str, int], cutoffs: TierCutoffs) -> bool:
    if fact.label == UNSUPPORTED_LANGUAGE:
        if not _needs_person(fact, cutoffs, settings):
            counts["unsupported_language"] += 1
            return False
        if fact.answered_at is not None:
            counts["answered"] += 1
            return False
        counts["needs_person"] += 1
        _assume_unknown([fact], settings)
        return True
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
    assigner: Assigner | None,
    now: datetime,
    counts: dict[str, int],
    *,
    backlog: bool = False,
) -> list[Case]:
    """Open a case per author and thread (or merge into its case); returns the cases opened.

    ``backlog`` cases start their SLA now and count as announced: the backlog summary speaks
    for them (a case past its SLA before anyone could see it would only raise false alarms).
    """
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
        set(session.execute(select(col(CasePost.post_id)).where(col(CasePost.post_id).in_(post_ids))).scalars())
        if post_ids
        else set()
    )
    opened: list[tuple[Case, list[PostFacts], dict[str, Any]]] = []
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
            opened_at = now if backlog else first.post.created_at
            tier, _hours, priority = _price(group, opened_at, cutoffs, settings, now)
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
            reasons = _mark_unknown(
                dict(priority.reasons, rule=decision.rule, route=decision.why, team=decision.team), group
            )
            if backlog:
                reasons["backlog"] = True
            case = Case(
                dedupe_key=key,
                post_id=first.post.id or 0,
                author_id=first.post.author_id,
                customer_id=customer.id if customer is not None else None,
                status=CaseStatus.OPEN,
                team=decision.team,
                tier=tier,
                priority=priority.priority,
                money_at_risk=priority.money_at_risk,
                reasons=reasons,
                sla_due_at=sla_due(opened_at, tier, settings.routing),
                assignee=assignee,
                platform=first.post.platform,
                lang=first.post.lang,
                last_post_at=group[-1].post.created_at,
                created_at=now,
                updated_at=now,
                notified_at=now if backlog else None,
            )
            session.add(case)
            opened.append((case, new_posts, {"team": case.team, "rule": decision.rule, "assignee": assignee}))
            attached.update(f.post.id for f in new_posts)
            counts["created"] += 1
            continue
        else:
            newest = new_posts[-1].post.created_at
            if (
                case.status not in ACTIVE_STATUSES
                and case.status != CaseStatus.DISMISSED
                and (case.closed_at is None or newest > case.closed_at)
            ):
                transition(
                    session,
                    case,
                    CaseStatus.OPEN,
                    actor=ACTOR,
                    action="reopened",
                    now=now,
                    previous_status=case.status,
                    post_ids=[f.post.id for f in new_posts],
                )
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
    if opened:
        session.flush()  # one batched INSERT ... RETURNING for the new cases' ids
        for case, posts, detail in opened:
            audit(session, case_id=case.id, actor=ACTOR, action="opened", now=now, priority=case.priority, **detail)
            session.add_all(CasePost(case_id=case.id or 0, post_id=f.post.id or 0) for f in posts)
        texts = [" ".join(x for x in (posts[0].post.title, posts[0].post.text) if x) for _, posts, _ in opened]
        counts["similar"] += group_similar(
            session, [NewCase(case, text) for (case, _, _), text in zip(opened, texts, strict=True)]
        )
    return [case for case, _, _ in opened]


def _refresh_cases(
    session: Session,
    settings: EngagementSettings,
    case_ids: Sequence[int],
    cutoffs: TierCutoffs,
    now: datetime,
    counts: dict[str, int],
) -> None:
    """Age priorities, follow CLV changes, and close cases whose thread got a brand reply or
    whose every post people relabelled as not negative."""
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
    gathered = gather_facts(session, all_posts, settings, now=now)
    _assume_unknown(gathered, settings)
    facts = {f.post.id: f for f in gathered}
    for case in cases:
        assert case.id is not None
        fact_list = [facts[p.id] for p in posts_of.get(case.id, []) if p.id in facts]
        if not fact_list:
            continue
        if all(f.answered_at is not None for f in fact_list):
            transition(
                session,
                case,
                CaseStatus.CLOSED,
                actor=ACTOR,
                action="closed",
                now=now,
                reason="brand_replied",
                closed_at=max(f.answered_at for f in fact_list if f.answered_at is not None),
            )
            counts["closed"] += 1
            continue
        if all(f.labelled_by_person and f.label != NEGATIVE for f in fact_list):
            transition(session, case, CaseStatus.CLOSED, actor=ACTOR, action="closed", now=now, reason=RELABELLED)
            counts["closed"] += 1
            continue
        opened = case.created_at if (case.reasons or {}).get("backlog") else min(f.post.created_at for f in fact_list)
        tier, _hours, priority = _price(fact_list, opened, cutoffs, settings, now)
        reasons = dict(case.reasons or {})
        reasons.update(priority.reasons)
        _mark_unknown(reasons, fact_list)
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


def retriage_cases(
    session: Session, settings: EngagementSettings, case_ids: Sequence[int], *, now: datetime
) -> dict[str, int]:
    """Re-price (or close) these active cases now, in the caller's write transaction.

    For a change a person just made (a relabel): the case must leave or re-rank in the queue
    at once, not at the next scheduled run. Takes the triage lock first, like every write of
    the scheduled step, so the two never interleave.
    """
    serialise(session, TRIAGE_LOCK)
    counts: dict[str, int] = defaultdict(int)
    cutoffs = tier_cutoffs(session=session, fractions=settings.triage.tier_fractions)
    _refresh_cases(session, settings, case_ids, cutoffs, now, counts)
    return dict(counts)


def _candidate_posts(session: Session, settings: EngagementSettings, since: datetime, until: datetime) -> list[int]:
    """Ids of the posts written in [since, until] that could still open or join a case: not
    by the brand, not in a case yet, and with a rating or at least one score at the threshold
    (the newest score decides later)."""
    already = select(col(CasePost.post_id)).where(col(CasePost.post_id) == col(Post.id)).exists()
    negative_somewhere = (
        select(col(Score.id))
        .where(
            col(Score.post_id) == col(Post.id),
            or_(
                col(Score.p_negative) >= settings.triage.negative_threshold,
                col(Score.label) == UNSUPPORTED_LANGUAGE,
            ),
        )
        .exists()
    )
    return list(
        session.execute(
            select(col(Post.id))
            .where(
                col(Post.created_at) >= since,
                col(Post.created_at) <= until,
                col(Post.is_brand).is_(False),
                ~already,
                or_(col(Post.rating).is_not(None), negative_somewhere),
            )
            .order_by(col(Post.id))
        ).scalars()
    )


def _open_backlog(
    engine: Engine, settings: EngagementSettings, cutoffs: TierCutoffs, before: datetime, now: datetime
) -> int:
    """Open the backlog's cases (see the module doc); returns how many were opened."""
    rules = settings.triage
    since = now - timedelta(days=rules.backlog_days)
    if rules.backlog_max <= 0 or since >= before:
        return 0
    skipped: dict[str, int] = defaultdict(int)  # why posts were left out: not the window's counts
    with session_scope(engine, write=True) as session:
        serialise(session, TRIAGE_LOCK)
        ids = _candidate_posts(session, settings, since, before - timedelta(microseconds=1))
        valued: list[PostFacts] = []
        for chunk in _chunks(ids, max(1, rules.chunk_size)):
            posts = list(session.execute(select(Post).where(col(Post.id).in_(chunk))).scalars())
            for fact in gather_facts(session, posts, settings, now=now):
                if _tier(fact, cutoffs) in rules.backlog_tiers and _is_candidate(fact, settings, skipped, cutoffs):
                    valued.append(fact)
        groups: dict[str, list[PostFacts]] = defaultdict(list)
        for fact in valued:
            groups[fact.dedupe_key].append(fact)

        def money(group: list[PostFacts]) -> float:
            customer = group[0].customer
            return (customer_value(customer.rclv, customer.clv) or 0.0) if customer is not None else 0.0

        ranked = sorted(groups.values(), key=lambda g: (-money(g), g[0].post.id or 0))[: rules.backlog_max]
        chosen = [fact for group in ranked for fact in group]
        assigner = Assigner(session, settings.routing.agent_capacity) if settings.routing.auto_assign else None
        opened = _open_cases(session, settings, chosen, cutoffs, assigner, now, skipped, backlog=True)
        for case in opened:
            session.add(CaseTag(case_id=case.id or 0, tag=BACKLOG_TAG))
            audit(session, case_id=case.id, actor=ACTOR, action="tagged", now=now, tag=BACKLOG_TAG)
    return len(opened)


def _new_install(engine: Engine) -> bool:
    """No case was ever opened: the first triage of an install, which takes in the backlog."""
    with session_scope(engine) as session:
        return session.execute(select(col(Case.id)).limit(1)).first() is None


def triage(
    engine: Engine, settings: EngagementSettings, *, now: datetime | None = None, backlog: bool | None = None
) -> dict[str, int]:
    """Run triage once: open/merge cases for new posts, then refresh every active case.

    Commits per chunk (``settings.triage.chunk_size`` posts or cases). Returns counts:
    in_window (posts of the window), considered (those not in a case yet with a rating or a
    negative score; the rest are passed_over), created, merged, reopened, closed, updated, and
    why considered posts were left out (not_negative, answered, unsupported_language); and
    backlog, the cases opened from before the window (``backlog``: True takes it in, False
    never, None on a new install only; see the module doc).
    """
    now = now or utcnow()
    with session_scope(engine) as session:  # the rules admins edit in the app, without a restart
        settings = effective(session, settings)
    validate_rules(settings.routing)
    counts: dict[str, int] = defaultdict(int)
    since = now - timedelta(hours=settings.triage.window_hours)
    chunk = max(1, settings.triage.chunk_size)
    take_backlog = _new_install(engine) if backlog is None else backlog
    with session_scope(engine) as session:
        cutoffs = tier_cutoffs(session=session, fractions=settings.triage.tier_fractions)
        in_window = (
            col(Post.created_at) >= since,
            col(Post.created_at) <= now,
            col(Post.is_brand).is_(False),
        )
        post_ids = _candidate_posts(session, settings, since, now)
        window_total = int(session.execute(select(func.count()).select_from(Post).where(*in_window)).scalar_one())
    counts["in_window"] = window_total
    for ids in _chunks(post_ids, chunk):
        with session_scope(engine, write=True) as session:
            serialise(session, TRIAGE_LOCK)
            assigner = Assigner(session, settings.routing.agent_capacity) if settings.routing.auto_assign else None
            posts = list(session.execute(select(Post).where(col(Post.id).in_(ids)).order_by(col(Post.id))).scalars())
            facts = gather_facts(session, posts, settings, now=now)
            counts["considered"] += len(facts)
            candidates = [f for f in facts if _is_candidate(f, settings, counts, cutoffs)]
            _open_cases(session, settings, candidates, cutoffs, assigner, now, counts)
    if take_backlog:
        counts["backlog"] = _open_backlog(engine, settings, cutoffs, since, now)
    with session_scope(engine) as session:
        case_ids = list(
            session.execute(
                select(col(Case.id)).where(col(Case.status).in_(ACTIVE_STATUSES)).order_by(col(Case.id))
            ).scalars()
        )
    for ids in _chunks(case_ids, chunk):
        with session_scope(engine, write=True) as session:
            serialise(session, TRIAGE_LOCK)
            _refresh_cases(session, settings, ids, cutoffs, now, counts)
    counts["passed_over"] = window_total - counts["considered"]
    for key in ("considered", "created", "merged", "reopened", "closed", "updated", "backlog"):
        counts.setdefault(key, 0)
    log.info("triage: %s", dict(counts), extra={"step": "triage", "counts": dict(counts)})
    return dict(counts)


__all__ = ["BACKLOG_TAG", "PostFacts", "dedupe_key_for", "gather_facts", "triage"]
