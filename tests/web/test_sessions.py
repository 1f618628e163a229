"""Server-side sessions: logout, a password change and an admin end them at once; idle and
absolute timeouts; a fresh id at sign-in; a person sees (and ends) their own sessions."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select
from web_factories import Browser, Clock, csrf_of, seed

from db.engine import session_scope
from db.models import AuditEvent, WebSession
from engagement.settings import EngagementSettings, WebSettings
from engagement.users import get_user_by_email, set_password
from engagement.web import create_app
from engagement.web.sessions import token_hash


def _copy(browser: Browser, app: FastAPI) -> TestClient:
    """Another client holding the same cookie (a stolen or copied cookie)."""
    return TestClient(app, base_url="https://testserver", cookies=dict(browser.client.cookies))


def _app(engine: Engine, clock: Clock, **web: object) -> FastAPI:
    return create_app(engine, EngagementSettings(web=WebSettings(**web)), clock=clock)  # type: ignore[arg-type]


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
def test_a_cookie_copied_before_logout_gets_401(engine: Engine) -> None:
    seed(engine)
    app = _app(engine, Clock())
    ana = Browser(app).login("ana@example.com")
    stolen = _copy(ana, app)
    assert stolen.get("/api/me").json()["name"] == "Ana"
    assert ana.post("/logout").headers["location"] == "/login"
    refused = stolen.get("/api/me")
    assert refused.status_code == 401 and "not authenticated" in refused.json()["detail"]
    page = stolen.get("/queue", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert stolen.post("/api/cases/next", headers={"X-CSRF-Token": ana.csrf}).status_code == 401
    with session_scope(engine) as session:
        row = session.exec(select(WebSession)).one()
        assert row.revoked_reason == "logout" and row.revoked_at is not None


def test_the_database_keeps_only_a_hash_of_the_session_id(sqlite_engine: Engine, seeded: object) -> None:
    app = _app(sqlite_engine, Clock())
    ana = Browser(app).login("ana@example.com")
    with session_scope(sqlite_engine) as session:
        row = session.exec(select(WebSession)).one()
    assert len(row.token_hash) == 64 and row.token_hash not in ana.client.cookies.get("engagebot_session", "")
    # the hash, as a session id, is not a session: a leaked table cannot be replayed as a cookie
    with session_scope(sqlite_engine) as session:
        rehashed = select(WebSession).where(WebSession.token_hash == token_hash(row.token_hash))
        assert session.exec(rehashed).first() is None


def test_sign_in_starts_a_fresh_session_and_ends_the_one_before(sqlite_engine: Engine, seeded: object) -> None:
    """Session fixation: a cookie planted before sign-in never becomes the victim's session."""
    app = _app(sqlite_engine, Clock())
    attacker = Browser(app).login("ben@example.com")
    victim = _copy(attacker, app)  # the attacker's cookie, planted in the victim's browser
    signed_in = victim.post(
        "/login",
        data={"email": "ana@example.com", "password": "correct horse battery", "csrf_token": attacker.csrf},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert victim.get("/api/me").json()["name"] == "Ana"
    assert attacker.get("/api/me").status_code == 401  # the planted session ended, and is not Ana's
    with session_scope(sqlite_engine) as session:
        rows = session.exec(select(WebSession).order_by(WebSession.id)).all()  # type: ignore[arg-type]
    assert [r.revoked_reason for r in rows] == ["replaced", None]
    assert rows[0].token_hash != rows[1].token_hash


def test_idle_timeout_and_absolute_lifetime(sqlite_engine: Engine, seeded: object) -> None:
    clock = Clock()
    app = _app(sqlite_engine, clock, session_idle_timeout_s=600, session_max_age_s=3600)
    idle = Browser(app).login("ana@example.com")
    busy = Browser(app).login("ben@example.com")
    for _ in range(5):  # Ben makes a request every 9 minutes: 45 minutes, never idle for 10
        clock.advance(minutes=9)
        assert busy.get("/api/me").status_code == 200
    assert idle.get("/api/me").status_code == 401  # Ana was idle for 45 minutes
    clock.advance(minutes=9)
    assert busy.get("/api/me").status_code == 200  # 54 minutes
    clock.advance(minutes=9)  # 63 minutes after sign-in: past the absolute lifetime, however busy
    assert busy.get("/api/me").status_code == 401
    assert busy.get("/queue", follow_redirects=False).headers["location"].startswith("/login")


def test_a_password_change_ends_every_other_session_at_once(sqlite_engine: Engine, seeded: object) -> None:
    app = _app(sqlite_engine, Clock())
    laptop = Browser(app).login("ana@example.com")
    phone = Browser(app).login("ana@example.com")
    changed = laptop.post(
        "/account/password",
        {"current": "correct horse battery", "new": "a much newer secret", "confirm": "a much newer secret"},
    )
    assert changed.status_code == 303
    assert laptop.get("/api/me").status_code == 200  # the session that changed it stays
    assert phone.get("/api/me").status_code == 401
    assert Browser(app).try_login("ana@example.com", "correct horse battery").status_code == 401
    assert Browser(app).try_login("ana@example.com", "a much newer secret").status_code == 303
    wrong = laptop.post("/account/password", {"current": "nope", "new": "x" * 12, "confirm": "x" * 12})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text


def test_guessing_the_current_password_counts_as_failed_sign_ins(sqlite_engine: Engine, seeded: object) -> None:
    """Someone at an unlocked screen cannot guess the password through the change form."""
    clock = Clock()
    app = _app(sqlite_engine, clock)
    ben = Browser(app).login("ben@example.com")
    for n in range(10):
        clock.advance(seconds=61)
        guess = ben.post("/account/password", {"current": f"guess-{n}", "new": "y" * 12, "confirm": "y" * 12})
        assert guess.status_code == 400 and "current password is wrong" in guess.text
    clock.advance(seconds=61)
    right = {"current": "correct horse battery", "new": "y" * 12, "confirm": "y" * 12}
    refused = ben.post("/account/password", right)
    assert refused.status_code == 400 and "too many wrong passwords" in refused.text
    assert Browser(app, address="10.9.9.9").try_login("ben@example.com", "correct horse battery").status_code == 429
    clock.advance(minutes=16)
    assert ben.post("/account/password", right).status_code == 303


def test_set_password_outside_the_web_ends_all_sessions(sqlite_engine: Engine, seeded: object) -> None:
    app = _app(sqlite_engine, Clock())
    ana = Browser(app).login("ana@example.com")
    with session_scope(sqlite_engine) as session:
        user = get_user_by_email(session=session, email="ana@example.com")
        assert user is not None
        assert set_password(session=session, user=user, password="reset by an admin") == 1
    assert ana.get("/api/me").status_code == 401


def test_an_admin_ends_someone_elses_sessions_and_it_is_audited(sqlite_engine: Engine, seeded: object) -> None:
    app = _app(sqlite_engine, Clock())
    ana, ana_phone = Browser(app).login("ana@example.com"), Browser(app).login("ana@example.com")
    admin = Browser(app).login("adam@example.com")
    page = admin.get("/admin/security")
    assert page.status_code == 200 and page.text.count(">Ana<") == 2
    with session_scope(sqlite_engine) as session:
        rows = session.exec(select(WebSession).order_by(WebSession.id)).all()  # type: ignore[arg-type]
        first, ana_id = rows[0].id, rows[0].user_id
    assert admin.post(f"/admin/sessions/{first}/end").status_code == 303
    assert ana.get("/api/me").status_code == 401 and ana_phone.get("/api/me").status_code == 200
    assert admin.post(f"/admin/users/{ana_id}/end-sessions").status_code == 303
    assert ana_phone.get("/api/me").status_code == 401
    assert admin.get("/api/me").status_code == 200
    with session_scope(sqlite_engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "sessions_ended")).all()
        assert [(e.actor, e.detail["sessions"]) for e in events] == [("Adam", 1), ("Adam", 1)]
    ben = Browser(app).login("ben@example.com")
    assert ben.post(f"/admin/users/{ana_id}/end-sessions").status_code == 403
    assert ben.get("/admin/security").status_code == 403


def test_a_person_sees_and_ends_their_own_sessions(sqlite_engine: Engine, seeded: object) -> None:
    app = _app(sqlite_engine, Clock())
    laptop = Browser(app).login("ana@example.com")
    phone = Browser(app).login("ana@example.com")
    Browser(app).login("ben@example.com")
    mine = laptop.get("/api/me/sessions").json()
    assert len(mine) == 2 and [s["current"] for s in mine].count(True) == 1
    assert {"id", "created_at", "last_seen_at", "ends_at", "client_address", "user_agent"} <= set(mine[0])
    assert "token_hash" not in mine[0]
    other = next(s["id"] for s in mine if not s["current"])
    page = laptop.get("/account")
    assert page.status_code == 200 and "this one" in page.text and f"/account/sessions/{other}/end" in page.text
    ended = laptop.client.post(f"/api/me/sessions/{other}/end", headers={"X-CSRF-Token": laptop.csrf})
    assert ended.status_code == 204
    assert phone.get("/api/me").status_code == 401
    assert len(laptop.get("/api/me/sessions").json()) == 1
    with session_scope(sqlite_engine) as session:
        live = session.exec(select(WebSession).where(WebSession.revoked_at.is_(None))).all()  # type: ignore[union-attr]
    foreign = [r.id for r in live if r.id not in {s["id"] for s in mine}]
    assert len(foreign) == 1  # Ben's: someone else's session is "not found", like one that never was
    refused = laptop.client.post(f"/api/me/sessions/{foreign[0]}/end", headers={"X-CSRF-Token": laptop.csrf})
    assert refused.status_code == 404
    assert laptop.client.post(f"/api/me/sessions/{other}/end", headers={"X-CSRF-Token": laptop.csrf}).status_code == 404


def test_sign_out_everywhere_else(sqlite_engine: Engine, seeded: object) -> None:
    app = _app(sqlite_engine, Clock())
    here, there, elsewhere = (Browser(app).login("ana@example.com") for _ in range(3))
    done = here.post("/account/sessions/end-others")
    assert done.status_code == 303
    assert "2 sessions ended" in here.get("/account").text
    assert here.get("/api/me").status_code == 200
    assert there.get("/api/me").status_code == 401 and elsewhere.get("/api/me").status_code == 401


def test_api_tokens_still_work_and_end_with_the_password(sqlite_engine: Engine, seeded: object) -> None:
    app = _app(sqlite_engine, Clock())
    with session_scope(sqlite_engine) as session:
        user = get_user_by_email(session=session, email="ben@example.com")
        assert user is not None and user.id is not None
        token = app.state.web.tokens.issue(user_id=user.id, password_hash=user.password_hash)
    api = TestClient(app, base_url="https://testserver")
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/me", headers=auth).json()["name"] == "Ben"
    assert api.get("/api/me/sessions", headers=auth).json() == []
    ben = Browser(app).login("ben@example.com")
    assert len(api.get("/api/me/sessions", headers=auth).json()) == 1
    ben.post("/account/password", {"current": "correct horse battery", "new": "n" * 12, "confirm": "n" * 12})
    assert api.get("/api/me", headers=auth).status_code == 401


def test_login_page_redirects_only_a_live_session(sqlite_engine: Engine, seeded: object) -> None:
    clock = Clock()
    app = _app(sqlite_engine, clock, session_idle_timeout_s=600)
    ana = Browser(app).login("ana@example.com")
    assert ana.get("/login", follow_redirects=False).status_code == 303
    clock.advance(minutes=11)
    page = ana.get("/login", follow_redirects=False)
    assert page.status_code == 200 and csrf_of(page.text)


def test_cli_password_and_end_sessions_sign_a_person_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from db.engine import make_engine
    from db.migrate import upgrade
    from engagebot.cli import app as cli

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = make_engine(url)
    upgrade(engine)
    seed(engine)
    app = _app(engine, Clock())
    runner = CliRunner()
    ana = Browser(app).login("ana@example.com")
    ended = runner.invoke(cli, ["users", "end-sessions", "ana@example.com"])
    assert ended.exit_code == 0 and "1 web session(s) ended" in ended.output
    assert ana.get("/api/me").status_code == 401
    ana = Browser(app).login("ana@example.com")
    changed = runner.invoke(cli, ["users", "password", "ana@example.com", "--password", "set by the operator"])
    assert changed.exit_code == 0 and "1 web session(s) ended" in changed.output, changed.output
    assert ana.get("/api/me").status_code == 401
    assert Browser(app).try_login("ana@example.com", "set by the operator").status_code == 303
    short = runner.invoke(cli, ["users", "password", "ana@example.com", "--password", "short"])
    assert short.exit_code == 2 and "too short" in short.output and "Traceback" not in short.output
    unknown = runner.invoke(cli, ["users", "end-sessions", "who@example.com"])
    assert unknown.exit_code == 2 and "no user" in unknown.output
