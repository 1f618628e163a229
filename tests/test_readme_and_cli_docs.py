"""The docs stay true: every CLI command is documented, the example settings load, help works."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from engagebot.cli import app
from engagebot.config import Settings

REPO = Path(__file__).resolve().parents[1]


def _commands(group: Any, prefix: str = "") -> list[str]:
    """Every command path, groups included (typer vendors click, so duck-type the groups)."""
    names: list[str] = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        names.append(full)
        if hasattr(command, "commands"):
            names.extend(_commands(command, f"{full} "))
    return names


ALL_COMMANDS = _commands(typer.main.get_command(app))


def test_the_cli_has_the_commands_the_issues_name() -> None:
    for name in (
        "init",
        "demo",
        "collect",
        "score",
        "triage",
        "queue",
        "run",
        "import-posts",
        "status",
        "web",
        "report weekly",
        "customers import",
        "transactions import",
        "clv fit",
        "sentiment train",
        "sentiment eval",
        "users add",
        "rules test",
        "notify",
    ):
        assert name in ALL_COMMANDS, f"missing command: engagebot {name}"


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_every_command_is_in_the_readme(command: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"engagebot {re.escape(command)}\b", readme), f"README.md does not document 'engagebot {command}'"


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert len(result.output.strip().splitlines()) > 3


def test_the_example_settings_file_is_valid() -> None:
    data = tomllib.loads((REPO / "engagebot.example.toml").read_text(encoding="utf-8"))
    settings = Settings(**data)
    assert settings.listener.brand_handles["x"]
    assert settings.engagement.triage.churn_if_unanswered == 0.5


def test_readme_quick_start_is_exactly_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in quick.strip().splitlines() if line.strip() and not line.strip().startswith("#")]
    assert [c.split("#")[0].strip() for c in commands] == ["make demo", "make test"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
