"""The CLI starts light: ``--help`` never loads the model, web or plotting stacks (issue 17).

Every command used to import torch, transformers, FastAPI and matplotlib up front, so even
``engagebot --help`` took 2-4 s. Commands now import them where they are used. This checks
what is loaded (not how long it takes, which depends on the machine), in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engagebot.cli import app

#: Loaded only by a command that needs them, never to parse arguments or print help.
HEAVY = ("torch", "transformers", "onnxruntime", "fastapi", "uvicorn", "matplotlib", "sqlalchemy", "numpy")

PROBE = """
import json, sys
import typer.main
from typer.testing import CliRunner
from engagebot.cli import app

loaded_by_import = sorted(m for m in {heavy} if m in sys.modules)

def paths(group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from paths(command, (*prefix, name))

runner = CliRunner()
failed = []
commands = [()] + list(paths(typer.main.get_command(app)))
for path in commands:
    result = runner.invoke(app, [*path, "--help"])
    if result.exit_code != 0:
        failed.append([" ".join(path), result.output[-300:]])
print(json.dumps({{
    "after_import": loaded_by_import,
    "after_help": sorted(m for m in {heavy} if m in sys.modules),
    "commands": len(commands),
    "failed": failed,
}}))
"""


@pytest.fixture(scope="module")
def probe() -> dict[str, object]:
    """Import the CLI and ask every command for --help in one fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=repr(HEAVY))],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_importing_the_cli_loads_no_heavy_stack(probe: dict[str, object]) -> None:
    assert probe["after_import"] == []


def test_help_of_every_command_loads_no_heavy_stack(probe: dict[str, object]) -> None:
    assert probe["failed"] == []
    assert isinstance(probe["commands"], int) and probe["commands"] > 30
    assert probe["after_help"] == []


def test_the_roles_in_users_add_help_are_the_real_roles() -> None:
    """``users add --help`` lists the roles without importing engagement.users; keep them equal."""
    from typer.testing import CliRunner

    from engagement.users import ROLES

    output = CliRunner().invoke(app, ["users", "add", "--help"], terminal_width=200).output
    assert f"One of: {', '.join(ROLES)}." in " ".join(output.split())
