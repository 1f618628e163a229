"""Cases in every status and claim state, written straight to the database, for the state-machine
and policy tests (the steps under test then act on them)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Author, Case, CasePost, Customer, Identity, Post, Reply
from engagement.actors import Actor
from engagement.queue.policy import ClaimState

NOW_OFFSET = timedelta(minutes=10)
AGENT = Actor(name="Ana", role="agent", team="care")
LEAD = Actor(name="Lea", role="lead", team="care")
ADMIN = Actor(name="Adam", role="admin", team="care")
HOLDER = "Ben"
_keys = itertools.count(1)


def make_case(
    engine: Engine, *, status: str, now: datetime, team: str = "care", claimed_by: str | None = None
) -> dict[str, int]:
    """One case with one post, its author's CRM link and a suggested link, and a reply row.

    Returns the ids: case, post, reply, crm_link, suggested_link.
    """
    key = next(_keys)
    with session_scope(engine) as session:
        author = Author(platform="x", external_id=f"a{key}", handle=f"h{key}", display_name=f"Person {key}")
        session.add(author)
        session.flush()
        post = Post(
            platform="x",
            external_id=f"p{key}",
            source="test",
            text="lost my bag",
            author_id=author.id,
            created_at=now - timedelta(hours=1),
        )
        session.add(post)
        session.flush()
        lease = now + NOW_OFFSET if claimed_by else None
        case = Case(
            dedupe_key=f"x:{key}",
            post_id=post.id or 0,
            author_id=author.id,
            status=status,
            team=team,
            claimed_by=claimed_by,
            claim_expires_at=lease,
            closed_at=now if status in ("replied", "dismissed", "closed") else None,
        )
        session.add(case)
        session.flush()
        session.add(CasePost(case_id=case.id or 0, post_id=post.id or 0))
        reply = Reply(
            case_id=case.id or 0,
            post_id=post.id or 0,
            text="Sorry!",
            author=HOLDER,
            status="pending_approval" if status == "pending_approval" else "draft",
            idempotency_key=f"k{key}",
        )
        customer = Customer(crm_id=f"crm-{key}", name=f"Person {key}")
        other = Customer(crm_id=f"crm-{key}-b", name=f"Namesake {key}")
        session.add_all([customer, other])
        session.flush()
        crm = Identity(
            customer_id=customer.id or 0, platform="x", handle=f"h{key}", author_id=author.id, method="crm_import"
        )
        suggested = Identity(
            customer_id=other.id or 0,
            platform="x",
            handle=f"h{key}-alt",
            author_id=author.id,
            method="suggested",
            status="suggested",
            confidence=0.7,
        )
        session.add_all([reply, crm, suggested])
        session.flush()
        return {
            "case": case.id or 0,
            "post": post.id or 0,
            "reply": reply.id or 0,
            "crm_link": crm.id or 0,
            "suggested_link": suggested.id or 0,
        }


def case_in(engine: Engine, state: ClaimState, actor: Actor, *, own_team: bool, now: datetime) -> dict[str, int]:
    """A case that looks like ``state`` to ``actor`` (free cases of the actor's team or another)."""
    team = "care" if own_team else "billing"
    if state is ClaimState.FREE:
        return make_case(engine, status="open", team=team, now=now)
    if state is ClaimState.MINE:
        return make_case(engine, status="claimed", team=team, claimed_by=actor.name, now=now)
    if state is ClaimState.OTHERS:
        return make_case(engine, status="claimed", team=team, claimed_by=HOLDER, now=now)
    if state is ClaimState.WAITING:
        return make_case(engine, status="pending_approval", team=team, now=now)
    return make_case(engine, status="dismissed", team=team, now=now)
