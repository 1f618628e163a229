"""The CLI end to end on SQLite: triage, queue next/claim/reply/dismiss with --json, rules test, notify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import queue_factories as f
from typer.testing import CliRunner

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import User
from engagebot.cli import app

NOW = "2026-11-20T12:00:00+00:00"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    (tmp_path / "engagebot.toml").write_text(
        '[engagement.slack]\nsink = "out/slack.jsonl"\n\n'
        '[[engagement.routing.rules]]\nname = "refunds"\nteam = "billing"\nkeywords = ["refund"]\n'
    )
    engine = make_engine(url)
    upgrade(engine)
    ada = f.author(engine, handle="ada", followers=20_000)
    bob = f.author(engine, handle="bob")
    f.post(engine, author_id=ada, text="Where is my refund?")
    f.post(engine, author_id=bob, text="the app keeps crashing")
    with session_scope(engine) as session:  # --agent names real users: amy leads, ben works billing
        session.add(User(email="amy@example.com", name="amy", role="lead", team="default", password_hash="x"))
        session.add(User(email="ben@example.com", name="ben", role="agent", team="billing", password_hash="x"))
    engine.dispose()
    return CliRunner()


def _json(runner: CliRunner, *args: str) -> object:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_triage_then_work_the_queue(cli: CliRunner, tmp_path: Path) -> None:
    counts = _json(cli, "triage", "--now", NOW, "--json")
    assert isinstance(counts, dict) and counts["created"] == 2
    listed = _json(cli, "queue", "list", "--json")
    assert isinstance(listed, dict) and listed["total"] == 2
    assert {c["team"] for c in listed["cases"]} == {"billing", "default"}
    case = _json(cli, "queue", "next", "--agent", "amy", "--team", "billing", "--json")
    assert isinstance(case, dict) and case["claimed_by"] == "amy" and case["reasons"]["rule"] == "refunds"
    case_id = str(case["id"])
    taken = cli.invoke(app, ["queue", "claim", case_id, "--agent", "ben"])
    assert taken.exit_code == 2 and "claimed by amy" in taken.output
    # dry run (the default): nothing is posted, so the CLI says so and exits 1; the case stays amy's
    not_sent = cli.invoke(app, ["queue", "reply", case_id, "--agent", "amy", "--text", "Hi {first_name}", "--json"])
    replied = json.loads(not_sent.stdout)
    assert not_sent.exit_code == 1 and replied["status"] == "claimed" and replied["ok"] is False
    assert replied["reply"]["status"] == "not_sent" and replied["reply"]["text"] == "Hi Ada"
    # she answered by phone: closed as answered elsewhere, with where, audited
    elsewhere = _json(cli, "queue", "answered-elsewhere", case_id, "--agent", "amy", "--note", "phoned Ada", "--json")
    assert isinstance(elsewhere, dict) and elsewhere["status"] == "replied"
    other = _json(cli, "queue", "next", "--agent", "amy", "--json")
    assert isinstance(other, dict) and other["team"] == "default"
    dismissed = _json(cli, "queue", "dismiss", str(other["id"]), "--agent", "amy", "--reason", "bot", "--json")
    assert isinstance(dismissed, dict) and dismissed["status"] == "dismissed"
    assert _json(cli, "queue", "next", "--agent", "amy", "--json") is None
    shown = _json(cli, "queue", "show", case_id, "--json")
    assert isinstance(shown, dict) and [a["action"] for a in shown["audit"]][-1] == "answered_elsewhere"
    missing = cli.invoke(app, ["queue", "claim", "999", "--agent", "amy"])
    assert missing.exit_code == 2 and "case 999 not found" in missing.output


def test_rules_test_and_notify_to_the_sink(cli: CliRunner, tmp_path: Path) -> None:
    decision = _json(cli, "rules", "test", "I want a refund", "--platform", "x", "--json")
    assert isinstance(decision, dict) and decision["team"] == "billing" and decision["rule"] == "refunds"
    plain = cli.invoke(app, ["rules", "test", "hello"])
    assert plain.exit_code == 0 and "default" in plain.output
    _json(cli, "triage", "--now", NOW, "--json")
    sent = _json(cli, "notify", "--json")
    assert isinstance(sent, dict) and sent["delivered"]["sent"] >= 1
    lines = (tmp_path / "out" / "slack.jsonl").read_text().splitlines()
    assert lines and all(json.loads(line)["channel"] for line in lines)


def test_list_shows_claimed_cases_like_the_web_with_labelled_columns(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engagebot.runtime import console

    monkeypatch.setattr(console, "_width", 200)  # a wide terminal: every header whole
    _json(cli, "triage", "--now", NOW, "--json")
    case = _json(cli, "queue", "next", "--agent", "amy", "--team", "billing", "--json")
    assert isinstance(case, dict)
    listed = _json(cli, "queue", "list", "--json")  # the default: active, claimed cases included
    assert isinstance(listed, dict) and listed["total"] == 2
    assert {c["status"] for c in listed["cases"]} == {"open", "claimed"}
    table = cli.invoke(app, ["queue", "list"])
    assert table.exit_code == 0, table.output
    assert "claimed by" in table.output and "holder" not in table.output and "amy" in table.output
    assert "assigned to" not in table.output  # nobody is assigned a listed case: no empty column
    only_open = _json(cli, "queue", "list", "--status", "open", "--json")
    assert isinstance(only_open, dict) and only_open["total"] == 1
    assert cli.invoke(app, ["queue", "reassign", str(case["id"]), "--agent", "amy", "--to", "ben"]).exit_code == 0
    table = cli.invoke(app, ["queue", "list"])
    assert "assigned to" in table.output and "ben" in table.output
