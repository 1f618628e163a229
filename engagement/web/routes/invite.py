"""``/invite/{token}``: a person added without a password chooses one and is signed in.

The token is the whole credential, so the page says nothing about the account until the token
checks out, a wrong or spent token gets one answer, and the session starts the same way a
sign-in does (a fresh server-side session, a new CSRF token).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from db.engine import session_scope
from engagement.errors import EngagebotError
from engagement.invites import open_invite, redeem_invite
from engagement.users import MIN_PASSWORD_LENGTH
from engagement.web import sessions
from engagement.web.deps import SESSION_ID_KEY, State, check_csrf_token, client_address, csrf_token

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(min_length=16, max_length=128)]


def _page(request: Request, state: State, token: str, *, error: str | None, status: int = 200) -> Response:
    with session_scope(state.engine) as session:
        try:
            _invite, user = open_invite(session, token, now=state.clock())
            who: dict[str, str] | None = {"name": user.name, "email": user.email}
        except EngagebotError as exc:
            who, error, status = None, str(exc), exc.status_code
    context = {"csrf": csrf_token(request), "who": who, "error": error, "token": token, "min": MIN_PASSWORD_LENGTH}
    return state.templates.TemplateResponse(request, "invite.html", context, status_code=status)


@router.get("/invite/{token}")
def invite_form(request: Request, state: State, token: Token) -> Response:
    return _page(request, state, token, error=None)


@router.post("/invite/{token}")
def accept_invite(
    request: Request,
    state: State,
    token: Token,
    password: Annotated[str, Form(max_length=1024)] = "",
    confirm: Annotated[str, Form(max_length=1024)] = "",
    csrf_token_field: Annotated[str | None, Form(alias="csrf_token")] = None,
) -> Response:
    check_csrf_token(request, csrf_token_field)
    now = state.clock()
    try:
        with session_scope(state.engine, write=True) as session:
            user = redeem_invite(session, token, password=password, confirm=confirm, now=now)
            assert user.id is not None
            raw_id, _row = sessions.start(
                session=session,
                user_id=user.id,
                now=now,
                settings=state.settings.web,
                client_address=client_address(request),
                user_agent=request.headers.get("user-agent"),
            )
            name = user.name
    except EngagebotError as exc:
        return _page(request, state, token, error=str(exc), status=exc.status_code)
    request.session.clear()
    request.session[SESSION_ID_KEY] = raw_id
    csrf_token(request)
    log.info("invite accepted: %s", name)
    return RedirectResponse("/queue", status_code=303)
