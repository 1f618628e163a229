"""The JSON API beside the pages: the same queue actions, for integrations (OpenAPI at /docs).

Auth: the session cookie (state-changing calls then need the ``X-CSRF-Token`` header) or
``Authorization: Bearer <token>`` from ``engagebot users token EMAIL``. No auth: 401.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlmodel import col, select

from db.engine import session_scope
from db.models import User
from db.types import MAX_ID
from engagement import queue
from engagement.actors import actor_for
from engagement.queue.labels import LABELS, relabel
from engagement.web import queue_view
from engagement.web.deps import CsrfLead, CsrfUser, CurrentUser, DbSession, State
from engagement.web.ids import DbId, DbOffset
from engagement.web.routes.pages import filters_from_query

router = APIRouter(prefix="/api", tags=["queue"])

Text = Annotated[str | None, Query(max_length=200)]


class ReplyIn(BaseModel):
    text: str = Field(
        default="",
        max_length=10_000,
        description="the reply; may be empty when a template is given",
    )
    template: str | None = Field(default=None, max_length=100, description="a saved reply's name")


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=500)


class ReassignIn(BaseModel):
    to: str = Field(min_length=1, max_length=255, description="the user name of the new assignee")


class LabelIn(BaseModel):
    post_id: int = Field(ge=1, le=MAX_ID)
    label: str = Field(description=f"one of {', '.join(LABELS)}")


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


@router.post("/cases/{case_id}/claim")
def claim(state: State, user: CsrfUser, case_id: DbId) -> dict[str, Any]:
    return queue.case_to_dict(
        queue.claim(state.engine, case_id, actor=actor_for(user), lease_minutes=state.settings.routing.lease_minutes)
    )


@router.post("/cases/{case_id}/take-over")
def take_over(state: State, user: CsrfLead, case_id: DbId) -> dict[str, Any]:
    """A lead takes over a case another person holds (audited; the holder is told)."""
    case = queue.take_over(
        state.engine, case_id, actor=actor_for(user), lease_minutes=state.settings.routing.lease_minutes
    )
    return queue.case_to_dict(case)


@router.post("/cases/{case_id}/release")
def release(state: State, user: CsrfUser, case_id: DbId) -> dict[str, Any]:
    return queue.case_to_dict(queue.release(state.engine, case_id, actor=actor_for(user)))


@router.post("/cases/{case_id}/reply")
def reply(state: State, user: CsrfUser, case_id: DbId, body: ReplyIn) -> dict[str, Any]:
    """Reply to a case I hold (dry-run unless replies are turned on); returns the reply."""
    if not body.text.strip() and not body.template:
        raise ValueError("write a reply or give a template")
    sent = queue.reply(
        state.engine,
        case_id,
        actor=actor_for(user),
        text=body.text.strip(),
        settings=state.settings.replies,
        lease_minutes=state.settings.routing.lease_minutes,
        template=body.template if body.template and not body.text.strip() else None,
    )
    return _reply_dict(sent)


@router.post("/cases/{case_id}/dismiss")
def dismiss(state: State, user: CsrfUser, case_id: DbId, body: ReasonIn) -> dict[str, Any]:
    return queue.case_to_dict(queue.dismiss(state.engine, case_id, actor=actor_for(user), reason=body.reason))


@router.post("/cases/{case_id}/escalate")
def escalate(state: State, user: CsrfUser, case_id: DbId, body: ReasonIn) -> dict[str, Any]:
    case = queue.escalate(state.engine, case_id, actor=actor_for(user), reason=body.reason.strip() or None)
    return queue.case_to_dict(case)


@router.post("/cases/{case_id}/reassign")
def reassign(state: State, user: CsrfLead, case_id: DbId, body: ReassignIn) -> dict[str, Any]:
    """Assign a case to another user (lead or admin only)."""
    with session_scope(state.engine) as session:
        target = session.exec(select(User).where(col(User.name) == body.to)).first()
        if target is None:
            raise ValueError(f"no user named {body.to!r}")
        team = target.team
    return queue.case_to_dict(queue.reassign(state.engine, case_id, actor=actor_for(user), to=body.to, team=team))


@router.post("/cases/{case_id}/label")
def label(state: State, user: CsrfUser, case_id: DbId, body: LabelIn) -> dict[str, Any]:
    """Correct a post's sentiment label (stored for training). The case follows at once: it
    closes (``relabelled``) when no post of it is negative any more, reopens or re-prices when
    one is; ``case_status`` says which."""
    done = relabel(state.engine, case_id, post_id=body.post_id, label=body.label, actor=actor_for(user),
                   settings=state.settings)  # fmt: skip
    return {
        "id": done.correction_id,
        "post_id": done.post_id,
        "old_label": done.old_label,
        "new_label": done.new_label,
        "corrected_by": user.name,
        "case_id": case_id,
        "case_status": done.status,
        "close_reason": done.close_reason,
    }


def _reply_dict(reply: Any) -> dict[str, Any]:
    return {
        "id": reply.id,
        "case_id": reply.case_id,
        "status": reply.status,
        "text": reply.text,
        "error": reply.error,
        "approved_by": reply.approved_by,
        "platform_reply_id": reply.platform_reply_id,
    }


@router.post("/replies/{reply_id}/approve")
def approve_reply(state: State, user: CsrfLead, reply_id: DbId) -> dict[str, Any]:
    """Approve a reply waiting for a lead; it is posted at once (lead or admin only)."""
    approved = queue.approve_reply(
        state.engine,
        reply_id,
        actor=actor_for(user),
        settings=state.settings.replies,
        lease_minutes=state.settings.routing.lease_minutes,
    )
    return _reply_dict(approved)


@router.post("/replies/{reply_id}/reject")
def reject_reply(state: State, user: CsrfLead, reply_id: DbId, body: ReasonIn) -> dict[str, Any]:
    """Send a waiting reply back to its agent (lead or admin only)."""
    rejected = queue.reject_reply(
        state.engine,
        reply_id,
        actor=actor_for(user),
        reason=body.reason.strip() or "rejected",
        lease_minutes=state.settings.routing.lease_minutes,
    )
    return _reply_dict(rejected)
