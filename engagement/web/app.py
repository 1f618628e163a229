"""The web app factory: pages, JSON API, sessions, CSRF, security headers and error pages."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from swagger_ui_bundle import swagger_ui_path

from db.types import utcnow
from engagement import i18n, queue, settings_store
from engagement.errors import EngagebotError
from engagement.money import Money
from engagement.settings import EngagementSettings
from engagement.web import filters, locale, plain, slack_actions
from engagement.web.deps import CsrfFailed, Forbidden, NotAuthenticated, WebState
from engagement.web.responses import SafeJSONResponse, validation_detail
from engagement.web.routes import (
    account,
    actions,
    admin,
    admin_api,
    admin_pages,
    api,
    auth,
    case_commands,
    docs,
    inbox,
    invite,
    lifecycle,
    pages,
    reports,
    saved_replies,
)
from engagement.web.security import ApiTokens, resolve_session_secret

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
SESSION_COOKIE = "engagebot_session"

# Every answer, /docs included (Swagger UI is served from the app, started by a file), loads
# only our own scripts and styles: post text can never run as code, even if an escaping bug
# slipped through.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/openapi.json",)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _error_page(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        if status == 422:  # the published shape of a 422 (HTTPValidationError): a list, always
            return SafeJSONResponse({"detail": validation_detail([(("body",), message, "value_error")])}, 422)
        return SafeJSONResponse({"detail": message}, status_code=status)
    templates: Jinja2Templates = request.app.state.web.templates
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message}, status_code=status)


def _published_422(response: Response) -> Response:
    """A JSON 422 with ``detail`` as the published list (its other fields kept), else as it is."""
    if response.status_code != 422 or not response.headers.get("content-type", "").startswith("application/json"):
        return response
    body = json.loads(bytes(response.body))
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        body["detail"] = validation_detail([(("body",), body["detail"], "value_error")])
        return SafeJSONResponse(body, status_code=422)
    return response


def _install_error_handlers(app: FastAPI) -> None:
    async def not_authenticated(request: Request, _exc: Exception) -> Response:
        if _wants_json(request):
            return SafeJSONResponse(
                {"detail": "not authenticated: sign in or send 'Authorization: Bearer <token>'"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if _is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        login = "/login" if request.method != "GET" else f"/login?next={_quote(target)}"
        return RedirectResponse(login, status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, Forbidden) else "forbidden"
        return _error_page(request, 403, message)

    async def csrf_failed(request: Request, _exc: Exception) -> Response:
        return _error_page(request, 403, "the form's CSRF token is missing or stale: reload the page and try again")

    async def domain_error(request: Request, exc: Exception) -> Response:
        """A refusal the domain means to show (``EngagebotError``): its status and message."""
        if isinstance(exc, queue.QueueError):
            refused = await inbox.refused_reply(request, exc)
            if refused is not None:
                return _published_422(refused)
        status = int(getattr(exc, "status_code", 400))
        return _error_page(request, status, str(exc).strip("'\""))

    async def bug(request: Request, exc: Exception) -> Response:
        """Anything else is a bug: a 500 with an id to find it in the log, never a 404 or 400."""
        error_id = secrets.token_hex(4)
        log.error("error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
        return _error_page(request, 500, f"something went wrong on our side (error id {error_id}); it is logged")

    async def data_error(request: Request, exc: Exception) -> Response:
        # The database refused a value (a NUL byte, a number out of range): bad input, not a crash.
        log.info("database refused input on %s: %s", request.url.path, str(exc).splitlines()[0])
        return _error_page(request, 400, "the database refused a value in this request (out of range or NUL)")

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems: list[tuple[tuple[str | int, ...], str, str]] = []
        for error in exc.errors():
            loc = tuple(part for part in error.get("loc", ()) if isinstance(part, str | int))
            problems.append((loc, str(error.get("msg", "invalid")), str(error.get("type", "value_error"))))
        if _wants_json(request):
            return SafeJSONResponse({"detail": validation_detail(problems)}, status_code=422)
        described = [
            f"{'.'.join(str(p) for p in loc if p not in ('body', 'query', 'path')) or 'input'}: {msg}"
            for loc, msg, _ in problems
        ]
        return _error_page(request, 422, "invalid input: " + "; ".join(described))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no page at {request.url.path}"
        return _error_page(request, exc.status_code, detail)

    handlers: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        NotAuthenticated: not_authenticated,
        Forbidden: forbidden,
        CsrfFailed: csrf_failed,
        EngagebotError: domain_error,
        Exception: bug,
        RequestValidationError: invalid,
        DataError: data_error,
        StarletteHTTPException: http_error,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/?=&")


def create_app(
    engine: Engine,
    settings: EngagementSettings,
    *,
    extra_routers: Iterable[APIRouter] = (),
    sources: Sequence[Mapping[str, Any]] = (),
    clock: Callable[[], datetime] = utcnow,
    reports_dir: Path = reports.DEFAULT_REPORTS_DIR,
) -> FastAPI:
    """Build the web app on a migrated database.

    ``sources`` are the configured listener sources as plain dicts (name, platform, ...) for the
    settings page (this package does not import the listener); ``extra_routers`` (health,
    metrics) are mounted as they are, with their own auth. Slack's interactivity endpoint is
    always at ``/slack/interactivity`` (it checks Slack's request signature itself). ``clock``
    is the time sessions and sign-in throttling go by (tests pass one they can move).
    """
    web = settings.web
    secret = resolve_session_secret(web)
    settings_store.seed(engine, settings)  # first start: the TOML's rules and brand into the database
    templates = Jinja2Templates(directory=str(HERE / "templates"), context_processors=[locale.template_context])
    # gettext in the templates ({% trans %}, _()): the functions read the language the context
    # processor activated for this request (engagement.i18n); newstyle escapes the variables.
    templates.env.add_extension("jinja2.ext.i18n")
    templates.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    filters.install(templates, amounts=Money.from_settings(settings.money))
    plain.install(templates.env)
    templates.env.globals["poll_seconds"] = web.poll_seconds
    # Every signed-in page says when replies are not posted (issue 25): read once, as the
    # settings are for the app's life.
    templates.env.globals["replies_dry_run"] = settings.replies.dry_run

    app = FastAPI(
        title="engagebot",
        summary="The reply queue: answer the unhappy customers worth the most, first.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        default_response_class=SafeJSONResponse,
    )
    app.state.web = WebState(
        engine=engine,
        settings=settings,
        templates=templates,
        tokens=ApiTokens(secret, max_age_s=web.api_token_max_age_days * 86400),
        sources=[dict(s) for s in sources],
        clock=clock,
    )
    app.state.reports_dir = reports_dir  # the weekly reports served at /reports
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=web.session_max_age_s,
        same_site="lax",
        https_only=web.secure_cookies,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith(("/static/", docs.ASSETS_URL + "/")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    # Swagger UI's files from the swagger-ui-bundle-v2 package: /docs needs no CDN and no network.
    app.mount(docs.ASSETS_URL, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
    for router in (
        auth.router,
        invite.router,
        account.router,
        account.api_router,
        pages.router,
        actions.router,
        case_commands.pages,
        case_commands.api,
        admin.router,
        admin_api.router,
        admin_pages.router,
        api.router,
        docs.router,
        inbox.router,
        inbox.api,
        saved_replies.router,
        saved_replies.api,
        reports.router,
        lifecycle.router,
        lifecycle.api,
    ):
        app.include_router(router)
    # Slack's buttons (claim, snooze, assign): signed by Slack, so no login and no CSRF token.
    app.include_router(slack_actions.router(engine, settings))
    for router in extra_routers:
        app.include_router(router)
    return app
