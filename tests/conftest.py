"""Shared fixtures: fresh databases (SQLite file, PostgreSQL schema), settings, shared data.

Network: pytest-socket (``--allow-hosts`` in pyproject) refuses every address but loopback,
so no test can reach a real API by accident.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from db.engine import make_engine
from db.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ENGAGEBOT_SHARED", REPO.parent / "shared"))
PG_URL = os.environ.get("ENGAGEBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``XDG_CACHE_HOME`` per test session: built ONNX graphs are made fresh, then shared."""
    return tmp_path_factory.mktemp("cache-home")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache_home: Path) -> None:
    """Run every test in its own folder with no engagebot settings leaking in from outside."""
    for key in list(os.environ):
        if key.startswith("ENGAGEBOT_") and key not in ("ENGAGEBOT_TEST_PG", "ENGAGEBOT_SHARED"):
            monkeypatch.delenv(key)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.fail(f"shared data folder not found at {SHARED} (set ENGAGEBOT_SHARED)")
    return SHARED


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated SQLite database file for one test."""
    engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _pg_available() -> bool:
    try:
        probe = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("select 1"))
        probe.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    return _pg_available()


@pytest.fixture
def pg_url(pg_available: bool) -> Iterator[str]:
    """A URL whose connections live in a fresh schema of the local PostgreSQL ``test`` database.

    Each test gets its own schema (search_path), so parallel runs never collide and nothing
    is left behind. PostgreSQL is part of this project's test environment: if it is down the
    test fails with a message saying how to start it, rather than silently skipping.
    """
    if not pg_available:
        pytest.fail(
            "PostgreSQL is not reachable at 127.0.0.1:5432 (start it: "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """A fresh, migrated PostgreSQL schema for one test."""
    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on both backends."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]
