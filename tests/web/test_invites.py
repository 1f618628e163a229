"""One-time sign-in links: ``users add`` with no terminal prints one; ``/invite/{token}`` uses it once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner
from web_factories import Clock, csrf_of

from db.engine import make_engine, session_scope
from engagebot.cli import app as cli
from engagement.invites import create_invite, unusable_password
from engagement.settings import EngagementSettings
from engagement.users import create_user, get_user_by_email
from engagement.web import create_app

runner = CliRunner()
LINK = re.compile(r"https?://\S+/invite/([\w-]+)")


def _accept(client: TestClient, token: str, password: str, confirm: str | None = None) -> object:
    page = client.get(f"/invite/{token}")
    assert page.status_code == 200, page.text
    return client.post(
        f"/invite/{token}",
        data={"password": password, "confirm": confirm or password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def test_users_add_in_a_script_prints_a_link_that_signs_in_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENGAGEBOT_ENGAGEMENT__PUBLIC_URL", "https://care.example.com")
    added = runner.invoke(cli, ["users", "add", "jonas@example.com", "--name", "Jonas", "--team", "dach"])
    assert added.exit_code == 0, added.output
    assert "Aborted" not in added.output
    match = LINK.search(added.output)
    assert match and match.group(0).startswith("https://care.example.com/invite/"), added.output
    token = match.group(1)

    engine = make_engine(url)
    client = TestClient(create_app(engine, EngagementSettings()), base_url="https://testserver")
    assert client.get("/queue", follow_redirects=False).status_code in (302, 303, 401)
    page = client.get(f"/invite/{token}")
    assert "Welcome, Jonas" in page.text and "jonas@example.com" in page.text
    differ = client.post(
        f"/invite/{token}",
        data={"password": "long enough", "confirm": "other", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert differ.status_code == 400 and "differ" in differ.text
    done = _accept(client, token, "jonas-secret-1")
    assert done.status_code == 303 and done.headers["location"] == "/queue"  # type: ignore[attr-defined]
    me = client.get("/api/me")
    assert me.status_code == 200 and me.json()["name"] == "Jonas" and me.json()["team"] == "dach"

    again = TestClient(create_app(engine, EngagementSettings()), base_url="https://testserver").get(f"/invite/{token}")
    assert again.status_code == 404 and "does not work" in again.text  # once only
    login = TestClient(create_app(engine, EngagementSettings()), base_url="https://testserver")
    form = login.get("/login")
    signed = login.post(
        "/login",
        data={"email": "jonas@example.com", "password": "jonas-secret-1", "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303, "the chosen password signs in from then on"

    as_json = runner.invoke(cli, ["users", "add", "p@example.com", "--name", "Priya", "--invite", "--json"])
    assert as_json.exit_code == 0 and "/invite/" in as_json.stdout


def test_expired_replaced_and_guessed_links_do_not_work(sqlite_engine: Engine) -> None:
    clock = Clock()
    with session_scope(sqlite_engine) as session:
        user = create_user(session=session, email="a@example.com", name="A", password=unusable_password())
        old = create_invite(session, user, now=clock.now)
        new = create_invite(session, user, now=clock.now)
        expiring = create_invite(
            session, create_user(session=session, email="b@example.com", name="B", password=unusable_password()),
            now=clock.now, hours=1,
        )  # fmt: skip
    client = TestClient(create_app(sqlite_engine, EngagementSettings(), clock=clock), base_url="https://testserver")
    assert client.get(f"/invite/{old}").status_code == 404, "a newer invite replaces the old one"
    assert client.get(f"/invite/{'x' * 43}").status_code == 404
    assert client.get(f"/invite/{new}").status_code == 200
    clock.advance(hours=2)
    assert client.get(f"/invite/{expiring}").status_code == 404
    short = _accept(client, new, "short")
    assert short.status_code == 400 and "too short" in short.text  # type: ignore[attr-defined]
    with session_scope(sqlite_engine) as session:
        found = get_user_by_email(session=session, email="a@example.com")
        assert found is not None and "argon2" in found.password_hash
