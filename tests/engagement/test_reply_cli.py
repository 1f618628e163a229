"""The CLI refuses what the web app and the API refuse: unknown {variables} by name, X's limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import queue_factories as f
from typer.testing import CliRunner

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Reply, User
from engagebot.cli import app

NOW = "2026-11-20T12:00:00+00:00"


def test_queue_reply_refuses_unknown_variables_and_long_x_replies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    engine = make_engine(url)
    upgrade(engine)
    ada = f.author(engine, handle="ada", followers=20_000)
    f.post(engine, author_id=ada, text="Where is my refund? Charged twice!")
    with session_scope(engine) as session:
        session.add(User(email="amy@example.com", name="amy", role="lead", team="default", password_hash="x"))
    runner = CliRunner()
    assert runner.invoke(app, ["triage", "--now", NOW]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["queue", "list", "--json"]).stdout)
    case_id = str(listed["cases"][0]["id"])

    typo = runner.invoke(app, ["queue", "reply", case_id, "--agent", "amy", "--text", "Hi {firstname}"])
    assert typo.exit_code == 2 and "unknown variable {firstname}" in typo.output
    long = runner.invoke(app, ["queue", "reply", case_id, "--agent", "amy", "--text", "a" * 300])
    assert long.exit_code == 2 and "x takes at most 280" in long.output
    with session_scope(engine) as session:
        assert session.query(Reply).count() == 0  # nothing was written, let alone sent
    done = runner.invoke(app, ["queue", "reply", case_id, "--agent", "amy", "--text", "Hi {first_name}", "--json"])
    assert (
        done.exit_code == 1 and json.loads(done.stdout)["reply"]["text"] == "Hi Ada"
    )
    engine.dispose()
