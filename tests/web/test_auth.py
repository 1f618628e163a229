"""Sign-in, sessions, roles, CSRF and API tokens: every route but login and static needs a user."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import User
from engagement.settings import EngagementSettings, SlackSettings, WebSettings
from engagement.users import (
    UserError,
    authenticate,
    create_user,
    get_user_by_email,
    set_password,
    verify_password,
)
from engagement.web import create_app
from engagement.web.routes import account, actions, admin, api, auth, docs, pages
from engagement.web.routes.auth import safe_next
from engagement.web.security import ApiTokens

PUBLIC = {"/login", "/healthz", "/readyz", "/metrics"}
ROUTERS = (
    auth.router,
    account.router,
    account.api_router,
    pages.router,
    actions.router,
    admin.router,
    api.router,
    docs.router,
)


def anonymous(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver")


def _concrete(path: str) -> str:
    return (
        path.replace("{case_id}", "1")
        .replace("{reply_id}", "1")
        .replace("{identity_id}", "1")
        .replace("{session_id}", "1")
        .replace("{user_id}", "1")
        .replace("{decision}", "confirm")
    )


def test_every_route_but_login_needs_a_session(app: FastAPI) -> None:
    client = anonymous(app)
    checked = 0
    routes = [r for router in ROUTERS for r in router.routes]
    for route in routes:
        if not isinstance(route, APIRoute) or route.path in PUBLIC or route.path == "/":
            continue
        for method in route.methods:
            response = client.request(method, _concrete(route.path), follow_redirects=False)
            if route.path.startswith("/api/") or route.path == "/openapi.json":
                assert response.status_code == 401, (method, route.path, response.status_code)
                assert "not authenticated" in response.json()["detail"]
            elif method == "GET":
                assert response.status_code == 303, (method, route.path)
                assert response.headers["location"].startswith("/login")
            else:
                assert response.status_code in (303, 401), (method, route.path)
                assert "/login" in response.headers.get("location", "/login")
            checked += 1
    assert checked >= 25


def test_login_redirects_back_and_logout_ends_the_session(app: FastAPI, browser: Callable[..., object]) -> None:
    client = anonymous(app)
    first = client.get("/cases/1", follow_redirects=False)
    assert first.headers["location"] == "/login?next=/cases/1"
    page = client.get(first.headers["location"])
    assert 'name="next" value="/cases/1"' in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post(
        "/login",
        data={
            "email": "ANA@example.com ",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "/cases/1",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/cases/1"
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    assert client.get("/queue").status_code == 200
    csrf = client.get("/queue").text.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/logout", follow_redirects=False).status_code == 403  # no CSRF token
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_wrong_password_and_unknown_user_look_the_same(app: FastAPI) -> None:
    client = anonymous(app)
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    wrong = client.post("/login", data={"email": "ana@example.com", "password": "nope-nope", "csrf_token": token})
    unknown = client.post("/login", data={"email": "who@example.com", "password": "nope-nope", "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.text and "Wrong email or password." in unknown.text


def test_login_form_needs_its_csrf_token(app: FastAPI) -> None:
    client = anonymous(app)
    client.get("/login")
    response = client.post("/login", data={"email": "ana@example.com", "password": "correct horse battery"})
    assert response.status_code == 403
    assert "CSRF" in response.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil", "", None])
def test_next_never_leaves_the_site(target: str | None) -> None:
    assert safe_next(target) == "/queue"


def test_safe_next_keeps_local_paths() -> None:
    assert safe_next("/cases/3?x=1") == "/cases/3?x=1"


def test_roles_are_enforced(browser: Callable[..., object]) -> None:
    agent = browser("ana@example.com")
    lead = browser("lea@example.com")
    admin = browser("adam@example.com")
    assert agent.get("/lead").status_code == 403  # type: ignore[attr-defined]
    assert agent.get("/settings").status_code == 403  # type: ignore[attr-defined]
    assert lead.get("/lead").status_code == 200  # type: ignore[attr-defined]
    assert lead.get("/settings").status_code == 403  # type: ignore[attr-defined]
    assert admin.get("/settings").status_code == 200  # type: ignore[attr-defined]
    assert admin.get("/lead").status_code == 200  # type: ignore[attr-defined]


def test_a_password_change_ends_sessions_and_tokens(
    app: FastAPI, sqlite_engine: Engine, browser: Callable[..., object]
) -> None:
    ana = browser("ana@example.com")
    tokens: ApiTokens = app.state.web.tokens
    with session_scope(sqlite_engine) as session:
        user = get_user_by_email(session=session, email="ana@example.com")
        assert user is not None and user.id is not None
        token = tokens.issue(user_id=user.id, password_hash=user.password_hash)
    api = anonymous(app)
    assert api.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["name"] == "Ana"
    with session_scope(sqlite_engine) as session:
        user = get_user_by_email(session=session, email="ana@example.com")
        assert user is not None
        set_password(session=session, user=user, password="a brand new one")
    assert ana.get("/queue", follow_redirects=False).status_code == 303  # type: ignore[attr-defined]
    assert api.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_api_tokens_work_without_csrf_and_bad_ones_are_refused(app: FastAPI, sqlite_engine: Engine) -> None:
    tokens: ApiTokens = app.state.web.tokens
    with session_scope(sqlite_engine) as session:
        user = get_user_by_email(session=session, email="ben@example.com")
        assert user is not None and user.id is not None
        token = tokens.issue(user_id=user.id, password_hash=user.password_hash)
    api = anonymous(app)
    taken = api.post("/api/cases/next", headers={"Authorization": f"Bearer {token}"})
    assert taken.status_code == 200 and taken.json()["case"]["claimed_by"] == "Ben"
    for bad in (
        token + "x",
        "garbage",
        ApiTokens("another-secret", max_age_s=60).issue(user_id=user.id, password_hash=user.password_hash),
    ):
        assert api.get("/api/me", headers={"Authorization": f"Bearer {bad}"}).status_code == 401


def test_session_cookie_api_calls_need_the_csrf_header(browser: Callable[..., object]) -> None:
    ana = browser("ana@example.com")
    client = ana.client  # type: ignore[attr-defined]
    assert client.post("/api/cases/next").status_code == 403
    ok = client.post("/api/cases/next", headers={"X-CSRF-Token": ana.csrf})  # type: ignore[attr-defined]
    assert ok.status_code == 200 and ok.json()["case"]["claimed_by"] == "Ana"


def test_users_hash_and_validate(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        user = create_user(
            session=session,
            email=" Max@Example.com",
            name="Max",
            password="longenough",
            role="lead",
        )
        assert user.email == "max@example.com"
        assert user.password_hash.startswith("$argon2id$") and "longenough" not in user.password_hash
        assert verify_password(user.password_hash, "longenough")
        assert not verify_password(user.password_hash, "wrong")
        assert not verify_password("not-a-hash", "longenough")
        assert authenticate(session=session, email="MAX@example.com", password="longenough") is not None
        assert authenticate(session=session, email="max@example.com", password="nope") is None
        for kwargs, message in [
            ({"email": "max@example.com", "name": "Other"}, "already exists"),
            ({"email": "max2@example.com", "name": "max"}, "already exists"),
            ({"email": "not-an-email", "name": "X"}, "invalid email"),
            ({"email": "x@example.com", "name": "X", "role": "boss"}, "unknown role"),
            ({"email": "x@example.com", "name": "X", "team": "a team"}, "invalid team"),
            ({"email": "x@example.com", "name": "X", "password": "short"}, "too short"),
        ]:
            args = {"password": "longenough", **kwargs}
            with pytest.raises(UserError, match=message):
                create_user(session=session, **args)  # type: ignore[arg-type]
        assert session.get(User, user.id) is not None


def test_production_refuses_a_placeholder_secret() -> None:
    with pytest.raises(ValueError, match="session_secret"):
        WebSettings(production=True)
    with pytest.raises(ValueError, match="session_secret"):
        WebSettings(production=True, session_secret="changeme")  # type: ignore[arg-type]
    ok = WebSettings(production=True, session_secret="x" * 40)  # type: ignore[arg-type]
    assert ok.session_secret is not None


def test_a_configured_secret_keeps_sessions_across_app_restarts(sqlite_engine: Engine, seeded: object) -> None:
    settings = EngagementSettings(web=WebSettings(session_secret="s" * 48))  # type: ignore[arg-type]
    first = TestClient(create_app(sqlite_engine, settings), base_url="https://testserver")
    token = first.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    first.post(
        "/login",
        data={"email": "ana@example.com", "password": "correct horse battery", "csrf_token": token},
    )
    second = TestClient(create_app(sqlite_engine, settings), base_url="https://testserver", cookies=first.cookies)
    assert second.get("/queue", follow_redirects=False).status_code == 200


def test_slack_interactivity_is_mounted_and_refuses_unsigned_requests(sqlite_engine: Engine, seeded: object) -> None:
    unconfigured = anonymous(create_app(sqlite_engine, EngagementSettings()))
    assert unconfigured.post("/slack/interactivity", data={"payload": "{}"}).status_code == 503
    settings = EngagementSettings(slack=SlackSettings(signing_secret=SecretStr("slack-signing-secret")))
    client = anonymous(create_app(sqlite_engine, settings))
    response = client.post("/slack/interactivity", data={"payload": "{}"}, follow_redirects=False)
    assert response.status_code == 401  # Slack's signature, not a login, guards it


def test_login_page_warns_when_the_secure_cookie_cannot_stick(app: FastAPI) -> None:
    over_lan = TestClient(app, base_url="http://10.0.0.5:8000").get("/login")
    assert "HTTPS only" in over_lan.text
    assert "HTTPS only" not in TestClient(app, base_url="http://127.0.0.1:8000").get("/login").text
    assert "HTTPS only" not in TestClient(app, base_url="https://care.example").get("/login").text
