"""docker-compose.yml, the Dockerfile and .env.example agree with the CLI and the settings.

Docker is not on this machine, so these checks read the files: every service command is a
real ``engagebot`` command with real options, and every setting in the env file is one the
settings accept.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer._click import Context
from typer._click.exceptions import UsageError

from engagebot.cli import app
from engagebot.config import get_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def check_command(argv: list[str]) -> None:
    """Parse ``argv`` with the real CLI, without running it."""
    group = typer.main.get_command(app)
    command = group.get_command(Context(group), argv[0])  # type: ignore[attr-defined]
    assert command is not None, f"no engagebot command {argv[0]!r}"
    command.make_context(argv[0], list(argv[1:]), resilient_parsing=False)


def test_topology(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "worker", "web"}
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:15")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert services["migrate"]["command"] == ["init"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("worker", "web"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["env_file"] == ".env"
        assert "healthcheck" in services[name]
    assert services["worker"]["command"] == ["run", "--no-web"]
    assert services["worker"]["deploy"]["replicas"] >= 2


def test_service_commands_parse(compose: dict[str, Any]) -> None:
    for name in ("migrate", "worker", "web"):
        check_command(compose["services"][name]["command"])
    with pytest.raises(UsageError):
        check_command(["run", "--no-such-option"])


def test_env_example_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = env_example()
    assert pairs["DATABASE_URL"].startswith("postgresql://")
    assert pairs["POSTGRES_USER"] in pairs["DATABASE_URL"]
    for key, value in pairs.items():
        monkeypatch.setenv(key, value)
    settings = get_settings()
    assert settings.ops.metrics_host == "0.0.0.0" and settings.ops.lease_seconds == 15


def test_dockerfile_installs_cpu_torch_first() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    torch = re.search(r"pip install torch==2\.13\.0 --index-url https://download\.pytorch\.org/whl/cpu", text)
    project = text.find("pip install .")
    assert torch is not None and 0 < torch.start() < project
