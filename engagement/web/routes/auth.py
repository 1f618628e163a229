"""Login and logout: email + password, a fresh signed session, CSRF on both forms."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from db.engine import session_scope
from engagement.users import authenticate
from engagement.web.deps import (
    SESSION_STAMP_KEY,
    SESSION_USER_KEY,
    CsrfUser,
    State,
    check_csrf_token,
    csrf_token,
)
from engagement.web.security import password_stamp

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only same-site paths (no ``//host`` or scheme): an open redirect would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/queue"
    return target


def flash(request: Request, message: str, level: str = "info") -> None:
    messages = list(request.session.get("flash", []))
    messages.append([level, message])
    request.session["flash"] = messages[-5:]


def cookie_warning(request: Request, state: State) -> str | None:
    """Why a browser would drop the session cookie here (Secure cookie over plain http), if so."""
    local = request.url.hostname in ("localhost", "127.0.0.1", "::1", "testserver")
    if state.settings.web.secure_cookies and request.url.scheme != "https" and not local:
        return (
            "This server sends its session cookie over HTTPS only, so signing in over plain http "
            "will not stick. Open it over HTTPS, or on a trusted network set "
            "ENGAGEBOT_ENGAGEMENT__WEB__SECURE_COOKIES=false."
        )
    return None


def _login_page(
    request: Request, state: State, *, next: str | None, error: str | None, email: str, status: int = 200
) -> Response:
    context = {
        "csrf": csrf_token(request),
        "next": safe_next(next),
        "error": error,
        "email": email,
        "warning": cookie_warning(request, state),
    }
    return state.templates.TemplateResponse(request, "login.html", context, status_code=status)


@router.get("/login")
def login_form(request: Request, state: State, next: str | None = None) -> Response:
    if isinstance(request.session.get(SESSION_USER_KEY), int):
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, state, next=next, error=None, email="")


@router.post("/login")
def login(
    request: Request,
    state: State,
    email: Annotated[str, Form(max_length=255)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token_field: Annotated[str | None, Form(alias="csrf_token")] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    check_csrf_token(request, csrf_token_field)
    with session_scope(state.engine) as session:
        user = authenticate(session=session, email=email, password=password) if email and password else None
        if user is None:
            log.info("failed login for %r", email[:255])
            return _login_page(request, state, next=next, error="Wrong email or password.", email=email, status=401)
        uid, stamp, name = user.id, password_stamp(user.password_hash), user.name
    # A new session on login (no fixation): drop everything, then a new CSRF token.
    request.session.clear()
    request.session[SESSION_USER_KEY] = uid
    request.session[SESSION_STAMP_KEY] = stamp
    csrf_token(request)
    log.info("login: %s", name)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, user: CsrfUser) -> Response:
    request.session.clear()
    log.info("logout: %s", user.name)
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home() -> Response:
    return RedirectResponse("/queue", status_code=303)
