"""``engagebot users add|list|token`` and ``engagebot web --help``: one clear line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from db.engine import make_engine
from engagebot.cli import app as cli
from engagebot.commands.web import build_app
from engagebot.config import get_settings

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_users_add_list_and_token(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    added = runner.invoke(
        cli,
        ["users", "add", "ana@example.com", "--name", "Ana", "--role", "lead", "--team", "care",
         "--password", "long enough", "--json"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["role"] == "lead"
    again = runner.invoke(cli, ["users", "add", "ana@example.com", "--name", "Other", "--password", "long enough"])
    assert again.exit_code == 2 and "already exists" in again.output and "Traceback" not in again.output
    bad_role = runner.invoke(
        cli,
        [
            "users",
            "add",
            "x@example.com",
            "--name",
            "X",
            "--role",
            "boss",
            "--password",
            "long enough",
        ],
    )
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    prompted = runner.invoke(cli, ["users", "add", "ben@example.com", "--name", "Ben"], input="secret pw\nsecret pw\n")
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(cli, ["users", "list", "--json"])
    assert [u["name"] for u in json.loads(listed.stdout)] == ["Ana", "Ben"]
    assert "argon2" not in listed.stdout

    no_secret = runner.invoke(cli, ["users", "token", "ana@example.com"])
    assert no_secret.exit_code == 2 and "SESSION_SECRET" in no_secret.output
    monkeypatch.setenv("ENGAGEBOT_ENGAGEMENT__WEB__SESSION_SECRET", "t" * 48)
    token = runner.invoke(cli, ["users", "token", "ana@example.com"])
    assert token.exit_code == 0, token.output
    unknown = runner.invoke(cli, ["users", "token", "who@example.com"])
    assert unknown.exit_code == 2 and "no user" in unknown.output

    settings = get_settings()
    app = build_app(settings, make_engine(db_url))
    client = TestClient(app, base_url="https://testserver")
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token.stdout.strip()}"})
    assert me.status_code == 200 and me.json()["name"] == "Ana"
    assert client.get("/healthz").status_code == 200  # the ops router is mounted beside the app


def test_web_command_help_has_an_example() -> None:
    result = runner.invoke(cli, ["web", "--help"])
    assert result.exit_code == 0
    assert "engagebot web --host" in result.output and "--port" in result.output
