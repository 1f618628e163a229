"""The lifecycle from the CLI on SQLite: list shows text and SLA, snooze/reopen/label/note/tag,
bulk over several ids (one refusal reported, the rest done), similar cases."""

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
SOAKED = "@SkylarkAir my bag arrived in {} soaked and the handle ripped off. Claim denied. Terrible."


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "100")
    (tmp_path / "engagebot.toml").write_text('[engagement.slack]\nsink = "out/slack.jsonl"\n')
    engine = make_engine(url)
    upgrade(engine)
    for handle, city in (("ada", "Atlanta"), ("bob", "Denver"), ("cy", "Portland")):
        f.post(engine, author_id=f.author(engine, handle=handle), text=SOAKED.format(city), conversation_id=handle)
    f.post(engine, author_id=f.author(engine, handle="dee"), text="The app crashes at check-in", conversation_id="d")
    with session_scope(engine) as session:
        session.add(User(email="amy@example.com", name="amy", role="agent", team="default", password_hash="x"))
        session.add(User(email="lena@example.com", name="lena", role="lead", team="default", password_hash="x"))
    engine.dispose()
    return CliRunner()


def _run(runner: CliRunner, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def _ids(runner: CliRunner, *args: str) -> list[int]:
    listed = json.loads(_run(runner, "queue", "list", "--json", *args))
    return [c["id"] for c in listed["cases"]]


def test_list_shows_text_and_sla_and_lifecycle_commands_work(cli: CliRunner) -> None:
    _run(cli, "triage", "--now", NOW)
    table = _run(cli, "queue", "list")
    assert "overdue" in table and "The app crashes at check-in" in table and "4 of 4 case(s)" in table
    assert max(len(line) for line in table.splitlines()) <= 100
    listed = json.loads(_run(cli, "queue", "list", "--json"))
    assert {c["text"] for c in listed["cases"]} >= {"The app crashes at check-in"}
    crash = next(c["id"] for c in listed["cases"] if c["text"].startswith("The app"))
    soaked = [c["id"] for c in listed["cases"] if c["id"] != crash]

    similar = json.loads(_run(cli, "queue", "similar", str(soaked[0]), "--json"))
    assert sorted(c["id"] for c in similar) == sorted(soaked[1:])

    snoozed = json.loads(_run(cli, "queue", "snooze", str(crash), "--agent", "amy", "--hours", "2", "--json"))
    assert snoozed[0]["ok"] and crash not in _ids(cli) and _ids(cli, "--snoozed") == [crash]

    # Three ids, one claimed by someone else: two done, one refused, exit code 1.
    _run(cli, "queue", "claim", str(soaked[2]), "--agent", "lena")
    out = _run(cli, "queue", "bulk", "dismiss", *map(str, soaked), "--agent", "amy", "--reason", "duplicate",
               code=1)  # fmt: skip
    assert "dismiss: 2 of 3 case(s)" in out and f"case {soaked[2]}: not done" in out
    assert _ids(cli, "--mine", "lena", "--status", "active") == [soaked[2]]
    reopened = json.loads(_run(cli, "queue", "reopen", str(soaked[0]), "--agent", "amy", "--json"))
    assert reopened == [{"case_id": soaked[0], "ok": True, "status": "open", "error": None}]

    labelled = json.loads(_run(cli, "queue", "label", str(soaked[0]), "--agent", "amy", "--label", "neutral", "--json"))
    assert labelled[0]["status"] == "closed"
    detail = json.loads(_run(cli, "queue", "show", str(soaked[0]), "--json"))
    assert detail["close_reason"] == "relabelled"

    note = json.loads(_run(cli, "queue", "note", str(soaked[2]), "--agent", "amy", "--text", "@lena over to you",
                           "--json"))  # fmt: skip
    assert note["mentioned"] == ["lena"]
    assert "amy: @lena over to you" in _run(cli, "queue", "notes", str(soaked[2]))
    _run(cli, "queue", "tag", str(soaked[2]), "--agent", "amy", "--add", "baggage")
    assert _ids(cli, "--tag", "baggage", "--status", "active") == [soaked[2]]
    bad = cli.invoke(app, ["queue", "bulk", "explode", "1", "--agent", "amy"])
    assert bad.exit_code != 0 and "unknown action 'explode'" in bad.output


def test_similar_suggests_a_reply_to_each_and_dismisses_only_the_same_author(cli: CliRunner) -> None:
    """``queue similar`` never proposes dismissing another customer's complaint: other authors get
    ``bulk reply``; only Ada's own repeat is offered as a duplicate."""
    import os

    from sqlmodel import select

    from db.models import Author

    engine = make_engine(os.environ["DATABASE_URL"])
    with session_scope(engine) as session:
        ada = session.exec(select(Author).where(Author.handle == "ada")).one().id
    f.post(engine, author_id=ada, text=SOAKED.format("Atlanta again"), conversation_id="ada-2")
    engine.dispose()
    _run(cli, "triage", "--now", NOW)
    listed = json.loads(_run(cli, "queue", "list", "--json"))["cases"]
    by_text = {c["text"]: c["id"] for c in listed}
    first, repeat = by_text[SOAKED.format("Atlanta")], by_text[SOAKED.format("Atlanta again")]
    others = sorted(by_text[SOAKED.format(city)] for city in ("Denver", "Portland"))

    out = _run(cli, "queue", "similar", str(first))
    assert f"engagebot queue bulk reply {' '.join(map(str, others))} --template NAME" in out
    assert f'engagebot queue bulk dismiss {repeat} --reason "duplicate of case {first}"' in out
    assert not any(str(o) in line for line in out.splitlines() if "bulk dismiss" in line for o in others)
    rows = json.loads(_run(cli, "queue", "similar", str(first), "--json"))
    assert {r["id"]: r["same_author"] for r in rows} == {repeat: True, **dict.fromkeys(others, False)}
    out = _run(cli, "queue", "similar", str(others[0]))
    assert "bulk dismiss" not in out and "bulk reply" in out
