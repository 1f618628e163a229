"""Login and logout: email + password, throttled; a fresh server-side session; CSRF on both forms."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from db.engine import session_scope
from engagement.users import authenticate
from engagement.web import sessions, throttle
from engagement.web.deps import (
    SESSION_ID_KEY,
    CsrfUser,
    State,
    check_csrf_token,
    client_address,
    csrf_token,
)

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
    request: Request,
    state: State,
    *,
    next: str | None,
    error: str | None,
    email: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {
        "csrf": csrf_token(request),
        "next": safe_next(next),
        "error": error,
        "email": email,
        "warning": cookie_warning(request, state),
    }
    return state.templates.TemplateResponse(request, "login.html", context, status_code=status, headers=headers)


def _signed_in(request: Request, state: State) -> bool:
    raw_id = request.session.get(SESSION_ID_KEY)
    if not isinstance(raw_id, str):
        return False
    with session_scope(state.engine) as session:
        row = sessions.resolve(session=session, raw_id=raw_id, now=state.clock(), settings=state.settings.web)
        return row is not None


def _wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{-(-seconds // 60)} minutes"


@router.get("/login")
def login_form(request: Request, state: State, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    if _signed_in(request, state):
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
    now = state.clock()
    address = client_address(request)
    limits = state.settings.web.login_throttle
    keys = (throttle.account_key(email), throttle.address_key(address))
    with session_scope(state.engine) as session:
        refused = throttle.refusal(session=session, keys=keys, now=now, settings=limits)
    if refused is not None:
        # The same answer for every email, real or not, and no password check: a waiting or
        # locked key refuses the right password too.
        wait = refused.retry_after_s(now)
        log.info("sign-in refused (%s): %s", "locked" if refused.locked else "waiting", refused.key)
        error = f"Too many failed sign-ins for this email or from this address. Try again in {_wait_words(wait)}."
        return _login_page(
            request, state, next=next, error=error, email=email, status=429, headers={"Retry-After": str(wait)}
        )
    with session_scope(state.engine) as session:
        user = authenticate(session=session, email=email, password=password) if email and password else None
        uid, name = (user.id, user.name) if user is not None else (None, "")
    if uid is None:
        if email and password:
            with session_scope(state.engine, write=True) as session:
                throttle.purge_forgotten(session=session, now=now, settings=limits)
                for key in keys:
                    throttle.record_failure(session=session, key=key, now=now, settings=limits, address=address)
        log.info("failed login for %r", email[:255])
        return _login_page(request, state, next=next, error="Wrong email or password.", email=email, status=401)
    old_id = request.session.get(SESSION_ID_KEY)
    with session_scope(state.engine, write=True) as session:
        throttle.record_success(session=session, key=keys[0])
        if isinstance(old_id, str):  # whoever signed in before in this browser is signed out
            sessions.revoke_raw(session=session, raw_id=old_id, now=now, reason="replaced")
        raw_id, _row = sessions.start(
            session=session,
            user_id=uid,
            now=now,
            settings=state.settings.web,
            client_address=address,
            user_agent=request.headers.get("user-agent"),
        )
    # A new session on login (no fixation): drop everything, a new random id, a new CSRF token.
    request.session.clear()
    request.session[SESSION_ID_KEY] = raw_id
    csrf_token(request)
    log.info("login: %s", name)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, state: State, user: CsrfUser) -> Response:
    """End this session in the database (a copy of the cookie stops working too), then the cookie."""
    raw_id = request.session.get(SESSION_ID_KEY)
    if isinstance(raw_id, str):
        with session_scope(state.engine) as session:
            sessions.revoke_raw(session=session, raw_id=raw_id, now=state.clock(), reason="logout")
    request.session.clear()
    log.info("logout: %s", user.name)
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home() -> Response:
    return RedirectResponse("/queue", status_code=303)
