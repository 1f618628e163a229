"""Route dependencies: the engine, the signed-in user (session or API token), roles and CSRF."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlmodel import Session

from db.engine import session_scope
from db.models import User
from db.types import utcnow
from db.vocab import LEAD_ROLES
from engagement.settings import EngagementSettings
from engagement.web import sessions
from engagement.web.security import (
    CSRF_FORM_FIELD,
    CSRF_HEADER,
    CSRF_SESSION_KEY,
    ApiTokens,
    csrf_matches,
    new_csrf_token,
)

# The signed cookie holds the session's random id; the database row behind it decides.
SESSION_ID_KEY = "sid"


@dataclass
class WebState:
    """What every request needs, built once by ``create_app`` and kept on ``app.state.web``."""

    engine: Engine
    settings: EngagementSettings
    templates: Jinja2Templates
    tokens: ApiTokens
    sources: list[dict[str, Any]] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)
    # The time as sessions and sign-in throttling see it: tests pass a clock they move.
    clock: Callable[[], datetime] = utcnow


class NotAuthenticated(Exception):
    """No valid session or API token: pages redirect to /login, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but the role does not allow this (403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token (403)."""


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


State = Annotated[WebState, Depends(web_state)]


def db_session(state: State) -> Iterator[Session]:
    """A read session per request (writes go through ``session_scope(..., write=True)``)."""
    with session_scope(state.engine) as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = new_csrf_token()
        request.session[CSRF_SESSION_KEY] = token
    return token


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def client_address(request: Request) -> str | None:
    """The caller's address (behind a proxy: as uvicorn's ``--proxy-headers`` resolved it)."""
    return request.client.host if request.client is not None else None


def current_user(request: Request, state: State) -> User:
    """The signed-in user from a live server-side session, or from an API bearer token.

    Bearer tokens are stateless and signed (``engagebot users token``); they end when they
    expire or the password changes. Cookies carry a session id whose database row must be
    live: not ended (logout, password change, admin), not idle too long, not too old.
    """
    token = _bearer(request)
    with session_scope(state.engine) as session:
        if token is not None:
            parsed = state.tokens.user_id(token)
            if parsed is None:
                raise NotAuthenticated
            user = session.get(User, parsed[0])
            if (
                user is None
                or user.deactivated_at is not None
                or not state.tokens.stamp_matches(parsed[1], user.password_hash)
            ):
                raise NotAuthenticated
            request.state.via_token = True
            request.state.session_row_id = None
            request.state.language = user.language  # the pages' language (engagement.web.locale)
            return user
        raw_id = request.session.get(SESSION_ID_KEY)
        if not isinstance(raw_id, str) or not raw_id:
            raise NotAuthenticated
        row = sessions.resolve(session=session, raw_id=raw_id, now=state.clock(), settings=state.settings.web)
        user = session.get(User, row.user_id) if row is not None else None
        if row is None or user is None or user.deactivated_at is not None:
            request.session.clear()
            raise NotAuthenticated
        request.state.via_token = False
        request.state.session_row_id = row.id
        request.state.language = user.language
        return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_lead(user: CurrentUser) -> User:
    if user.role not in LEAD_ROLES:
        raise Forbidden("this needs the lead or admin role")
    return user


def require_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise Forbidden("this needs the admin role")
    return user


LeadUser = Annotated[User, Depends(require_lead)]
AdminUser = Annotated[User, Depends(require_admin)]


def check_csrf_token(request: Request, given: str | None) -> None:
    expected = request.session.get(CSRF_SESSION_KEY)
    if not csrf_matches(expected if isinstance(expected, str) else None, given):
        raise CsrfFailed


async def submitted_csrf_token(request: Request) -> str | None:
    """The token echoed in the ``X-CSRF-Token`` header (HTMX, API) or the form field."""
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        given = value if isinstance(value, str) else None
    return given


async def csrf_protect(request: Request, user: CurrentUser) -> User:
    """The signed-in user, after refusing a state-changing request without the CSRF token.

    Requests authenticated by a bearer token carry no ambient credentials, so they need none;
    everything riding on the session cookie must echo the token in a header (HTMX, API) or a
    form field (plain forms). Authentication is checked first, so a stranger gets 401, not 403.
    """
    if getattr(request.state, "via_token", False):
        return user
    check_csrf_token(request, await submitted_csrf_token(request))
    return user


CsrfUser = Annotated[User, Depends(csrf_protect)]


def csrf_lead(user: CsrfUser) -> User:
    if user.role not in LEAD_ROLES:
        raise Forbidden("this needs the lead or admin role")
    return user


CsrfLead = Annotated[User, Depends(csrf_lead)]
