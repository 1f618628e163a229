"""My account: the sessions I am signed in with (end any of them) and a password change."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from db.engine import session_scope
from db.models import User, WebSession
from engagement import i18n
from engagement.errors import BadInput, NotFound
from engagement.users import end_sessions, set_password, verify_password
from engagement.web import locale, sessions, throttle
from engagement.web.deps import CsrfUser, CurrentUser, State
from engagement.web.ids import DbId
from engagement.web.routes.auth import flash
from engagement.web.routes.pages import base_context

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/me", tags=["account"])


class SessionPublic(BaseModel):
    """One of my live sign-ins (never its id in the cookie: only the row number)."""

    id: int
    current: bool
    created_at: datetime
    last_seen_at: datetime
    ends_at: datetime
    client_address: str | None
    user_agent: str | None


def _current_row(request: Request) -> int | None:
    row_id = getattr(request.state, "session_row_id", None)
    return row_id if isinstance(row_id, int) else None


def my_sessions(request: Request, state: State, user: User) -> list[SessionPublic]:
    assert user.id is not None
    current = _current_row(request)
    with session_scope(state.engine) as session:
        rows = sessions.active(session=session, now=state.clock(), settings=state.settings.web, user_id=user.id)
    return [
        SessionPublic(
            id=r.id,
            current=r.id == current,
            created_at=r.created_at,
            last_seen_at=r.last_seen_at,
            ends_at=r.idle_expires_at,
            client_address=r.client_address,
            user_agent=r.user_agent,
        )
        for r in rows
    ]


def _end_mine(state: State, user: User, session_id: int) -> None:
    """End one of my own sessions; someone else's is 'not found', like one that never was."""
    with session_scope(state.engine) as session:
        row = session.get(WebSession, session_id)
        if row is None or row.user_id != user.id or row.revoked_at is not None:
            raise NotFound(f"no live session {session_id} of yours")
        sessions.revoke(session=session, row=row, now=state.clock(), reason="user")


@api_router.get("/sessions", response_model=list[SessionPublic])
def api_sessions(request: Request, state: State, user: CurrentUser) -> list[SessionPublic]:
    """My live web sessions, most recently used first (``current``: the one making this call)."""
    return my_sessions(request, state, user)


@api_router.post("/sessions/{session_id}/end", status_code=204)
def api_end_session(state: State, user: CsrfUser, session_id: DbId) -> Response:
    """End one of my web sessions (sign that browser out at once)."""
    _end_mine(state, user, session_id)
    return Response(status_code=204)


@router.get("/account")
def account_page(request: Request, state: State, user: CurrentUser) -> Response:
    context = {
        **base_context(request, user),
        "sessions": my_sessions(request, state, user),
        "idle_minutes": state.settings.web.session_idle_timeout_s // 60,
        "max_hours": round(state.settings.web.session_max_age_s / 3600, 1),
    }
    return state.templates.TemplateResponse(request, "account.html", context)


@router.post("/account/sessions/{session_id}/end")
def end_session(request: Request, state: State, user: CsrfUser, session_id: DbId) -> Response:
    _end_mine(state, user, session_id)
    flash(request, locale.tr(request, "That session has ended."))
    return RedirectResponse("/account", status_code=303)


@router.post("/account/sessions/end-others")
def end_other_sessions(request: Request, state: State, user: CsrfUser) -> Response:
    assert user.id is not None
    with session_scope(state.engine) as session:
        ended = end_sessions(
            session=session, user_id=user.id, reason="user", keep_session_id=_current_row(request), now=state.clock()
        )
    message = locale.ntr(
        request,
        "Signed out everywhere else (%(num)d session ended).",
        "Signed out everywhere else (%(num)d sessions ended).",
        ended,
    )
    flash(request, message % {"num": ended})
    return RedirectResponse("/account", status_code=303)


@router.post("/account/language")
def set_language(
    request: Request, state: State, user: CsrfUser, language: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    """The language of my pages; empty: follow my browser (then the brand's language)."""
    if language and language not in i18n.LANGUAGES:
        raise BadInput(f"unknown language {language!r}: choose one of {', '.join(i18n.LANGUAGES)}")
    with session_scope(state.engine, write=True) as session:
        me = session.get(User, user.id)
        assert me is not None
        me.language = language or None
        session.add(me)
    request.state.language = language or None  # the confirmation below is already in it
    flash(request, locale.tr(request, "Language saved."))
    return RedirectResponse("/account", status_code=303)


@router.post("/account/password")
def change_password(
    request: Request,
    state: State,
    user: CsrfUser,
    current: Annotated[str, Form(max_length=1024)] = "",
    new: Annotated[str, Form(max_length=1024)] = "",
    confirm: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """A new password ends every other session and every API token of mine; this one stays."""
    if new != confirm:
        raise BadInput("the new password and its confirmation differ")
    # The current password is guessed like a sign-in (someone at an unlocked screen): same counter.
    now, key = state.clock(), throttle.account_key(user.email)
    limits = state.settings.web.login_throttle
    with session_scope(state.engine) as session:
        if throttle.refusal(session=session, keys=[key], now=now, settings=limits) is not None:
            raise BadInput("too many wrong passwords for this account: try again later")
        me = session.get(User, user.id)
        right = me is not None and verify_password(me.password_hash, current)
    if not right:
        with session_scope(state.engine, write=True) as session:
            throttle.record_failure(session=session, key=key, now=now, settings=limits, address=None)
        raise BadInput("the current password is wrong")
    with session_scope(state.engine) as session:
        me = session.get(User, user.id)
        assert me is not None
        # A too-short password raises UserError, a ValueError: the app answers 400 with its message.
        ended = set_password(session=session, user=me, password=new, keep_session_id=_current_row(request))
    log.info("password changed: %s (%d other sessions ended)", user.name, ended)
    message = locale.ntr(
        request,
        "Password changed; %(num)d other session ended, API tokens revoked.",
        "Password changed; %(num)d other sessions ended, API tokens revoked.",
        ended,
    )
    flash(request, message % {"num": ended})
    return RedirectResponse("/account", status_code=303)
