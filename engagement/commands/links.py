"""Deciding who a customer is: confirming or rejecting an author's customer link.

One command for the case page, the API and ``engagebot identities confirm|reject``: the policy
(agents decide only suggestions on their team's cases; CRM links and decided ones need a lead),
the decision, its audit row, and the re-pricing of the author's active cases in the same
transaction, because who the customer is changes the money at risk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from db.engine import session_scope
from db.models import Case, Identity
from db.types import MAX_ID, utcnow
from db.vocab import ACTIVE_STATUSES, AuditVerb
from engagement.actors import Actor
from engagement.customers import identities
from engagement.errors import BadInput, NotFound
from engagement.queue.policy import authorize_link, authorize_link_decision
from engagement.queue.state import audit, lock_case
from engagement.settings import EngagementSettings
from engagement.triage.cases import retriage_cases


def decide_link(
    engine: Engine,
    actor: Actor,
    identity_id: int,
    decision: Literal["confirm", "reject"] | str,
    *,
    settings: EngagementSettings,
    case_id: int | None = None,
    now: datetime | None = None,
) -> Identity:
    """Confirm or reject link ``identity_id`` as ``actor`` (on case ``case_id`` when decided from
    a case: the link must be that case's author's); returns the link after."""
    if decision not in ("confirm", "reject"):
        raise BadInput(f"unknown decision {decision!r}: confirm or reject")
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        if case_id is not None:
            case = lock_case(session, case_id)
            identity = authorize_link_decision(session, actor, case, identity_id, now)
        else:
            found = session.get(Identity, identity_id) if 1 <= identity_id <= MAX_ID else None
            if found is None:
                raise NotFound(f"no identity link {identity_id} (engagebot identities list)")
            authorize_link(actor, found)
            identity = found
        decided = (identities.confirm_identity if decision == "confirm" else identities.reject_identity)(
            session, identity_id, actor.name
        )
        verb = AuditVerb.LINK_CONFIRMED if decision == "confirm" else AuditVerb.LINK_REJECTED
        cases = author_cases(session, identity.author_id)
        for one in dict.fromkeys([*([case_id] if case_id is not None else []), *cases]):
            audit(session, case_id=one, actor=actor.name, action=verb, now=now, identity_id=identity_id,
                  customer_id=identity.customer_id)  # fmt: skip
        retriage_cases(session, settings, cases, now=now)
        session.flush()
        session.expunge(decided)
        return decided


def author_cases(session: Session, author_id: int | None) -> list[int]:
    """The active cases of one author (all of them change when the author's customer does)."""
    if author_id is None:
        return []
    rows = session.exec(
        select(Case.id).where(col(Case.author_id) == author_id, col(Case.status).in_(ACTIVE_STATUSES))
    ).all()
    return [row for row in rows if row is not None]
