"""Working a case together: presence heartbeats, server-side drafts, the reply preview, the live
event stream, and the page a refused send answers with (a lead's take-over is in ``actions``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from db.engine import session_scope
from db.models import User
from db.types import utcnow
from engagement import queue
from engagement.actors import actor_for
from engagement.commands import Claim, perform
from engagement.queue import drafts
from engagement.web import collisions, live, presence
from engagement.web.deps import CsrfUser, CurrentUser, DbSession, State, WebState, current_user
from engagement.web.ids import DbId
from engagement.web.reply_preview import preview_reply
from engagement.web.routes.pages import render_case_page

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["inbox"])


class HeartbeatIn(BaseModel):
    activity: str = Field(default="viewing", description="viewing | replying")


class DraftIn(BaseModel):
    text: str = Field(default="", max_length=drafts.DRAFT_MAX)


class PreviewIn(BaseModel):
    text: str = Field(default="", max_length=drafts.DRAFT_MAX)


def presence_view(state: WebState, user: User, case_id: int) -> dict[str, Any]:
    """Who else is on the case, who holds it since when, and whether it was taken from me."""
    with session_scope(state.engine) as session:
        case = queue.get_case(session, case_id)
        hold = collisions.current_hold(session, case)
        others = presence.present(session, case_id=case_id, besides=user.name)
        taken = collisions.taken_from(session, case, user.name)
    return {
        "case_id": case_id,
        "status": case.status,
        "holder": hold.holder if hold else None,
        "held_since": hold.since.isoformat(timespec="seconds") if hold and hold.since else None,
        "held_until": hold.until.isoformat(timespec="seconds") if hold and hold.until else None,
        "held_by_other": hold is not None and hold.holder != user.name,
        "mine": hold is not None and hold.holder == user.name,
        "others": [{"user": p.user_name, "activity": p.activity, "sentence": p.sentence} for p in others],
        "taken_over": {"by": taken.by, "at": taken.at.isoformat(timespec="seconds")} if taken else None,
    }


def _heartbeat(state: WebState, user: User, case_id: int, activity: str) -> dict[str, Any]:
    with session_scope(state.engine, write=True) as session:
        queue.get_case(session, case_id)
        presence.heartbeat(session, case_id=case_id, user_name=user.name, activity=activity)
    return presence_view(state, user, case_id)


@router.post("/cases/{case_id}/presence")
def heartbeat_page(state: State, user: CsrfUser, case_id: DbId, body: HeartbeatIn) -> dict[str, Any]:
    """The case page's heartbeat (every few seconds); answers with who else is there."""
    return _heartbeat(state, user, case_id, body.activity)


@router.post("/cases/{case_id}/presence/leave")
def leave_page(state: State, user: CsrfUser, case_id: DbId) -> Response:
    """Sent by the page as it closes (``navigator.sendBeacon``), so others see the person leave at once."""
    with session_scope(state.engine, write=True) as session:
        presence.leave(session, case_id=case_id, user_name=user.name)
    return Response(status_code=204)


@router.put("/cases/{case_id}/draft")
def save_draft_page(state: State, user: CsrfUser, case_id: DbId, body: DraftIn) -> dict[str, Any]:
    """Keep what the person typed (debounced by the page); empty text drops the draft."""
    return _save_draft(state, user, case_id, body.text)


#: A claim with less than this left is renewed when its holder's draft is saved: someone still
#: typing is still working the case, and a 15-minute lease must not lapse under their hands.
RENEW_WHEN_LEFT = timedelta(minutes=5)


def renew_while_writing(state: WebState, user: User, case_id: int, now: datetime | None = None) -> datetime | None:
    """Renew ``user``'s own claim when it runs out within ``RENEW_WHEN_LEFT`` (the ``Claim``
    command renews one's own claim, audited as ``renewed``); the new end, or None when nothing
    was renewed (not theirs, expired already, or time enough left)."""
    now = now or utcnow()
    with session_scope(state.engine) as session:
        case = queue.get_case(session, case_id)
        if not queue.lease_active(case, now) or case.claimed_by != user.name or case.claim_expires_at is None:
            return None
        if case.claim_expires_at - now >= RENEW_WHEN_LEFT:
            return None
    outcome = perform(state.engine, actor_for(user), case_id, Claim(), settings=state.settings, now=now)
    return outcome.case.claim_expires_at


def _save_draft(state: WebState, user: User, case_id: int, text: str) -> dict[str, Any]:
    with session_scope(state.engine, write=True) as session:
        queue.get_case(session, case_id)
        kept = drafts.save_draft(session, case_id=case_id, user_name=user.name, text=text)
        row = drafts.load_draft(session, case_id=case_id, user_name=user.name) if kept else None
        saved_at = row.updated_at.isoformat(timespec="seconds") if row is not None else None
    renewed = renew_while_writing(state, user, case_id) if text.strip() else None
    return {
        "case_id": case_id,
        "saved": kept,
        "saved_at": saved_at,
        "claim_renewed_until": renewed.isoformat(timespec="seconds") if renewed else None,
    }


@router.post("/cases/{case_id}/preview")
def preview_page(state: State, session: DbSession, user: CurrentUser, case_id: DbId, body: PreviewIn) -> dict[str, Any]:
    """The reply as it would be sent, its length on the platform and any refusal (read-only)."""
    case = queue.get_case(session, case_id)
    return preview_reply(session, case, text=body.text, agent=user.name, settings=state.settings.replies).as_dict()


@router.get("/cases/{case_id}/presence")
def presence_page(state: State, user: CurrentUser, case_id: DbId) -> dict[str, Any]:
    """Who else is on the case now (the polling fallback when the event stream fails)."""
    return presence_view(state, user, case_id)


@router.get("/events")
async def events(
    request: Request,
    state: State,
    user: CurrentUser,
    case: Annotated[int | None, Query(ge=1)] = None,
) -> StreamingResponse:
    """Server-sent events: ``change`` when the queue, a case or (with ``case``) its presence moves."""
    engine, name = state.engine, user.name

    async def read_marker() -> live.Marker:
        return await run_in_threadpool(lambda: live.change_marker(engine, case_id=case, user_name=name))

    return StreamingResponse(
        live.change_stream(read_marker, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# --- the same for API clients (bearer token or session + X-CSRF-Token) ---


@api.get("/cases/{case_id}/presence")
def presence_api(state: State, user: CurrentUser, case_id: DbId) -> dict[str, Any]:
    """Who else is on the case, who holds it since when, and whether a lead took it from me."""
    return presence_view(state, user, case_id)


@api.post("/cases/{case_id}/presence")
def heartbeat_api(state: State, user: CsrfUser, case_id: DbId, body: HeartbeatIn) -> dict[str, Any]:
    """Say I am viewing or replying to the case (expires after 30 s without another)."""
    return _heartbeat(state, user, case_id, body.activity)


@api.get("/cases/{case_id}/draft")
def get_draft_api(session: DbSession, user: CurrentUser, case_id: DbId) -> dict[str, Any]:
    """My saved draft on the case (``text`` empty when none)."""
    queue.get_case(session, case_id)
    row = drafts.load_draft(session, case_id=case_id, user_name=user.name)
    return {
        "case_id": case_id,
        "text": row.text if row else "",
        "saved_at": row.updated_at.isoformat(timespec="seconds") if row else None,
    }


@api.put("/cases/{case_id}/draft")
def save_draft_api(state: State, user: CsrfUser, case_id: DbId, body: DraftIn) -> dict[str, Any]:
    """Save my draft on the case; empty text removes it."""
    return _save_draft(state, user, case_id, body.text)


@api.post("/cases/{case_id}/preview")
def preview_api(state: State, session: DbSession, user: CurrentUser, case_id: DbId, body: PreviewIn) -> dict[str, Any]:
    """Fill the variables and count the reply as the platform does; ``ok`` false says why not."""
    case = queue.get_case(session, case_id)
    return preview_reply(session, case, text=body.text, agent=user.name, settings=state.settings.replies).as_dict()


_REPLY_PATH = re.compile(r"^/(api/)?cases/(\d{1,19})/reply$")


async def refused_reply(request: Request, exc: Exception) -> Response | None:
    """A send the queue refused (held by someone else, too long, an unknown variable): the API
    answers JSON with the reason, who holds the case and since when; the page comes back with the
    typed text in the box (also saved as the person's draft) and says what happened. None for
    any other request, which then gets the ordinary error page."""
    match = _REPLY_PATH.match(request.url.path)
    if request.method != "POST" or match is None:
        return None
    case_id = int(match.group(2))
    state: WebState = request.app.state.web
    status = int(getattr(exc, "status_code", 409))
    with session_scope(state.engine) as session:
        try:
            case = queue.get_case(session, case_id)
        except queue.CaseNotFound:
            return None
        hold = collisions.current_hold(session, case)
    if match.group(1):
        body = collisions.conflict_body(case, hold, str(exc))
        variable = getattr(exc, "variable", None)
        if variable is not None:
            body["reason"], body["variable"] = "unknown_variable", variable
        elif hasattr(exc, "check"):
            body["reason"] = "too_long"
            body.update(length=exc.check.length, limit=exc.check.limit, unit=exc.check.unit)
        elif hold is None:
            body["reason"] = type(exc).__name__
        return JSONResponse(body, status_code=status)
    user = current_user(request, state)
    form = await request.form()
    text = form.get("text")
    text = text if isinstance(text, str) else ""
    if text.strip():
        with session_scope(state.engine, write=True) as session:
            drafts.save_draft(session, case_id=case_id, user_name=user.name, text=text)
    if hold is not None and hold.holder != user.name:
        since = f" since {hold.since:%H:%M} UTC" if hold.since else ""
        message = f"{hold.holder} holds this case{since} (until {hold.until:%H:%M} UTC): {exc}."
    else:
        message = f"{exc}."
    with session_scope(state.engine) as session:
        return render_case_page(
            request, state, session, user, case_id, status_code=status, conflict=message, reply_text=text
        )
