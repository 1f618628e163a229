"""The JSON API beside the pages: the same queue actions, for integrations (OpenAPI at /docs).

Auth: the session cookie (state-changing calls then need the ``X-CSRF-Token`` header) or
``Authorization: Bearer <token>`` from ``engagebot users token EMAIL``. No auth: 401.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from engagement import queue
from engagement.actors import actor_for
from engagement.web import queue_view
from engagement.web.deps import CsrfUser, CurrentUser, DbSession, State
from engagement.web.ids import DbId, DbOffset
from engagement.web.routes.pages import filters_from_query

router = APIRouter(prefix="/api", tags=["queue"])

Text = Annotated[str | None, Query(max_length=200)]


def _row_dict(row: queue_view.QueueRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "team": row.team,
        "tier": row.tier,
        "priority": row.priority,
        "money_at_risk": row.money_at_risk,
        "reasons": row.reasons,
        "sla_due_at": row.sla_due_at.isoformat() if row.sla_due_at else None,
        "platform": row.platform,
        "lang": row.lang,
        "text": row.text,
        "url": row.url,
        "author_handle": row.author_handle,
        "followers": row.followers,
        "customer_id": row.customer_id,
        "customer_name": row.customer_name,
        "sentiment": row.sentiment,
        "p_negative": row.p_negative,
        "claimed_by": row.claimed_by,
        "claim_expires_at": row.claim_expires_at.isoformat() if row.claim_expires_at else None,
        "assignee": row.assignee,
    }


@router.get("/me")
def me(user: CurrentUser) -> dict[str, Any]:
    """Who the session or token belongs to."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "team": user.team,
    }


@router.get("/cases")
def list_cases(
    session: DbSession,
    user: CurrentUser,
    team: Text = None,
    platform: Text = None,
    tier: Text = None,
    status: Text = None,
    lang: Text = None,
    q: Text = None,
    assigned: Annotated[str | None, Query(max_length=20, description="mine or unassigned")] = None,
    tag: Text = None,
    snoozed: Annotated[bool, Query(description="list the snoozed cases instead")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: DbOffset = 0,
) -> dict[str, Any]:
    """The queue, highest priority first; ``team`` defaults to mine (``all`` for every team).

    Snoozed cases are left out until due (``snoozed=true`` lists them); ``assigned=mine`` lists
    my cases of every team, ``assigned=unassigned`` the ones nobody has; ``q`` finds every word
    (its matches are counted up to 1,000: ``total_is_lower_bound`` says when there are more).
    """
    filters = filters_from_query(
        user,
        team=team,
        platform=platform,
        tier=tier,
        status=status,
        lang=lang,
        q=q,
        assigned=assigned,
        tag=tag,
        snoozed=snoozed,
    )
    page = queue_view.queue_page(session=session, filters=filters, limit=limit, offset=offset)
    return {
        "total": page.total,
        "total_is_lower_bound": page.more_than_total,
        "offset": offset,
        "limit": limit,
        "cases": [_row_dict(r) for r in page.rows],
    }


@router.get("/cases/{case_id}")
def get_case(session: DbSession, user: CurrentUser, case_id: DbId) -> dict[str, Any]:
    """One case with its posts, replies and audit trail."""
    return queue.case_detail(session, case_id)


@router.post("/cases/next")
def next_case(state: State, user: CsrfUser) -> dict[str, Any]:
    """Claim the highest-priority free case of my team; ``case`` is null when the queue is empty."""
    case = queue.claim_next(
        state.engine, actor=actor_for(user), team=user.team, lease_minutes=state.settings.routing.lease_minutes
    )
    return {"case": queue.case_to_dict(case) if case is not None else None}
