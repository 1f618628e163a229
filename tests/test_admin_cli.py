"""The admin CLI: teams, rules list/import/export, brand, users away/deactivate, doctor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engagebot.cli import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'admin.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout if "--json" in args else " ".join(result.output.split())


def test_doctor_names_what_is_missing_and_turns_green_step_by_step(db: Path) -> None:
    code, out = run("doctor", "--json")
    assert code == 1
    missing = {c["key"]: c for c in json.loads(out) if not c["ok"]}
    assert set(missing) == {"brand", "crm", "teams", "sources", "slack", "dry_run"}
    assert "team default has no agent: routing rules send cases here ((default team))" in missing["teams"]["detail"]
    assert missing["brand"]["command"] == 'engagebot brand set --name "Your Brand"'
    assert missing["crm"]["command"] == "engagebot customers import crm.csv"

    rules = db / "rules.toml"
    rules.write_text('[[engagement.routing.rules]]\nname = "german"\nteam = "dach"\nlanguages = ["de"]\n')
    code, out = run("rules", "import", str(rules))
    assert code == 0 and "german -> dach" in out
    code, out = run("doctor")
    assert code == 1 and "team dach has no agent: routing rules send cases here (german)" in out
    assert "fix: engagebot users add EMAIL --name NAME --team TEAM --invite" in out
    code, out = run("teams")
    assert code == 0 and "warning team dach has no agent" in out

    assert run("users", "add", "jonas@example.com", "--name", "Jonas", "--team", "dach", "--invite")[0] == 0
    assert run("users", "add", "ana@example.com", "--name", "Ana", "--team", "default", "--invite")[0] == 0
    assert run("brand", "set", "--name", "Skylark Air", "--currency", "EUR", "--locale", "de_DE")[0] == 0
    crm = db / "crm.csv"
    crm.write_text("Customer ID,Full Name,Email\nC1,Rosa,rosa@example.com\n")
    assert run("customers", "import", str(crm))[0] == 0
    still = {c["key"] for c in json.loads(run("doctor", "--json")[1]) if not c["ok"]}
    assert still == {"sources", "slack", "dry_run"}

    code, out = run("rules", "test", "Ich will mein Geld", "--lang", "de", "--json")
    assert code == 0 and json.loads(out)["team"] == "dach"
    code, out = run("rules", "export")
    assert 'name = "german"' in out and 'team = "dach"' in out
    code, out = run("rules", "list", "--json")
    assert json.loads(out)["history"][0]["action"] == "imported"
    assert json.loads(run("brand", "show", "--json")[1])["name"] == "Skylark Air"
    assert run("users", "away", "jonas@example.com")[0] == 0
    assert "team dach has no agent (Jonas away)" in run("teams")[1]
    code, out = run("users", "deactivate", "jonas@example.com")
    assert code == 0 and "deactivated jonas@example.com" in out
    assert run("users", "deactivate", "nobody@example.com")[0] == 2
