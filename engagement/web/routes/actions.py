"""Form actions on cases: next, claim, release, reply, dismiss, escalate, reassign, label, links.

Every action is a POST with the session's CSRF token, calls the queue (or identities) step and
redirects (post/redirect/get). Queue errors become a 4xx page that says what happened.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from db.engine import session_scope
from db.models import User
from db.types import MAX_ID, utcnow
from engagement import queue
from engagement.actors import actor_for
from engagement.customers import identities
from engagement.queue.labels import relabel
from engagement.web import drafts
from engagement.web.corrections import retriage
from engagement.web.deps import CsrfLead, CsrfUser, State
from engagement.web.ids import DbId
from engagement.web.routes.auth import flash

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

ReasonText = Annotated[str, Form(max_length=500)]


def _to_case(case_id: int) -> Response:
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def _to_queue() -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.post("/queue/next")
def take_next(request: Request, state: State, user: CsrfUser) -> Response:
    case = queue.claim_next(
        state.engine, actor=actor_for(user), team=user.team, lease_minutes=state.settings.routing.lease_minutes
    )
    if case is None:
        flash(request, f"No open cases in team {user.team} right now.")
        return _to_queue()
    assert case.id is not None
    flash(request, f"Case {case.id} is yours until {case.claim_expires_at:%H:%M} UTC.")
    return _to_case(case.id)


@router.post("/cases/{case_id}/claim")
def claim(request: Request, state: State, user: CsrfUser, case_id: DbId) -> Response:
    case = queue.claim(state.engine, case_id, actor=actor_for(user), lease_minutes=state.settings.routing.lease_minutes)
    flash(request, f"Case {case_id} is yours until {case.claim_expires_at:%H:%M} UTC.")
    return _to_case(case_id)


@router.post("/cases/{case_id}/take-over")
def take_over(request: Request, state: State, user: CsrfLead, case_id: DbId) -> Response:
    case = queue.take_over(
        state.engine, case_id, actor=actor_for(user), lease_minutes=state.settings.routing.lease_minutes
    )
    flash(request, f"You took over case {case_id}; it is yours until {case.claim_expires_at:%H:%M} UTC.")
    return _to_case(case_id)


@router.post("/cases/{case_id}/release")
def release(request: Request, state: State, user: CsrfUser, case_id: DbId) -> Response:
    queue.release(state.engine, case_id, actor=actor_for(user))
    flash(request, f"Case {case_id} is back in the queue.")
    return _to_queue()


@router.post("/cases/{case_id}/reply")
def reply(
    request: Request,
    state: State,
    user: CsrfUser,
    case_id: DbId,
    text: Annotated[str, Form(max_length=10_000)] = "",
    template: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not text.strip() and not template:
        raise ValueError("write a reply or pick a template")
    sent = queue.reply(
        state.engine,
        case_id,
        actor=actor_for(user),
        text=text.strip(),
        settings=state.settings.replies,
        lease_minutes=state.settings.routing.lease_minutes,
        # An edited template arrives as text (its {variables} are still filled in).
        template=template if template and not text.strip() else None,
    )
    messages = {
        "sent": f"Reply to case {case_id} posted.",
        "dry_run": f"Reply to case {case_id} recorded (dry run: not posted to the platform).",
        "pending_approval": f"Reply to case {case_id} waits for a lead's approval.",
    }
    if sent.status == "failed":
        flash(request, f"Reply to case {case_id} failed: {sent.error}", "error")
        return _to_case(case_id)
    with session_scope(state.engine, write=True) as session:  # the draft became the reply
        drafts.discard_draft(session, case_id=case_id, user_name=user.name)
    flash(request, messages.get(sent.status, f"Reply to case {case_id}: {sent.status}."))
    return _to_queue()


@router.post("/cases/{case_id}/dismiss")
def dismiss(request: Request, state: State, user: CsrfUser, case_id: DbId, reason: ReasonText = "") -> Response:
    queue.dismiss(state.engine, case_id, actor=actor_for(user), reason=reason)
    flash(request, f"Case {case_id} dismissed.")
    return _to_queue()


@router.post("/cases/{case_id}/escalate")
def escalate(request: Request, state: State, user: CsrfUser, case_id: DbId, reason: ReasonText = "") -> Response:
    queue.escalate(state.engine, case_id, actor=actor_for(user), reason=reason.strip() or None)
    flash(request, f"Case {case_id} escalated to the lead.")
    return _to_queue()


@router.post("/cases/{case_id}/reassign")
def reassign(
    request: Request,
    state: State,
    user: CsrfLead,
    case_id: DbId,
    to: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    with session_scope(state.engine) as session:
        target = session.exec(select(User).where(col(User.name) == to)).first()
        if target is None:
            raise ValueError(f"no user named {to!r}")
        team = target.team
    queue.reassign(state.engine, case_id, actor=actor_for(user), to=to, team=team)
    flash(request, f"Case {case_id} assigned to {to} ({team}).")
    return _to_case(case_id)


@router.post("/replies/{reply_id}/approve")
def approve(request: Request, state: State, user: CsrfLead, reply_id: DbId) -> Response:
    approved = queue.approve_reply(
        state.engine,
        reply_id,
        actor=actor_for(user),
        settings=state.settings.replies,
        lease_minutes=state.settings.routing.lease_minutes,
    )
    flash(request, f"Reply {reply_id} approved: {approved.status}.")
    return _to_case(approved.case_id)


@router.post("/replies/{reply_id}/reject")
def reject(request: Request, state: State, user: CsrfLead, reply_id: DbId, reason: ReasonText = "") -> Response:
    rejected = queue.reject_reply(
        state.engine,
        reply_id,
        actor=actor_for(user),
        reason=reason.strip() or "rejected",
        lease_minutes=state.settings.routing.lease_minutes,
    )
    flash(request, f"Reply {reply_id} sent back to its agent.")
    return _to_case(rejected.case_id)


@router.post("/cases/{case_id}/label")
def label(
    request: Request,
    state: State,
    user: CsrfUser,
    case_id: DbId,
    post_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    new_label: Annotated[str, Form(max_length=32)],
) -> Response:
    done = relabel(state.engine, case_id, post_id=post_id, label=new_label, actor=actor_for(user),
                   settings=state.settings)  # fmt: skip
    after = {"closed": " The case is closed: no post of it is negative now (reopen it any time)."}
    flash(
        request,
        f"Post {post_id} relabelled {done.old_label or 'unscored'} → {done.new_label}."
        + after.get(done.status, f" The case is {done.status}."),
    )
    return _to_case(case_id)


@router.post("/cases/{case_id}/identities/{identity_id}/{decision}")
def decide_identity(
    request: Request,
    state: State,
    user: CsrfUser,
    background: BackgroundTasks,
    case_id: DbId,
    identity_id: DbId,
    decision: str,
) -> Response:
    if decision not in ("confirm", "reject"):
        raise ValueError(f"unknown decision {decision!r}: confirm or reject")
    with session_scope(state.engine, write=True) as session:
        case = queue.lock_case(session, case_id)
        queue.authorize_link_decision(session, actor_for(user), case, identity_id, utcnow())
        if decision == "confirm":
            identities.confirm_identity(session, identity_id, by=user.name)
        else:
            identities.reject_identity(session, identity_id, by=user.name)
    background.add_task(retriage, state.engine, state.settings)
    flash(request, f"Link {identity_id} {decision}ed.")
    return _to_case(case_id)
