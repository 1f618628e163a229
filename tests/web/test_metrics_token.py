"""``/metrics`` behind a bearer token when ``ops.metrics_token`` is set (open by default)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import make_engine
from db.migrate import upgrade
from engagebot.commands.web import build_app
from engagebot.config import get_settings
from engagebot.ops.observability import ops_router
from engagement.settings import EngagementSettings
from engagement.web import create_app

TOKEN = "m3trics-" + "x" * 24


def _client(engine: Engine, token: str | None) -> TestClient:
    app = create_app(engine, EngagementSettings(), extra_routers=[ops_router(engine, metrics_token=token)])
    return TestClient(app, base_url="https://testserver")


def test_metrics_are_open_by_default(sqlite_engine: Engine) -> None:
    answer = _client(sqlite_engine, None).get("/metrics")
    assert answer.status_code == 200 and "engagebot_database_up" in answer.text


def test_a_metrics_token_is_required_once_set(sqlite_engine: Engine) -> None:
    client = _client(sqlite_engine, TOKEN)
    wrong = ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"})
    for headers in wrong:
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and "engagebot_" not in refused.text
        assert refused.headers["www-authenticate"].startswith("Bearer")
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200 and "engagebot_database_up 1.0" in scraped.text
    assert client.get("/healthz").status_code == 200  # health stays open for load balancers


def test_the_setting_reaches_the_served_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENGAGEBOT_OPS__METRICS_TOKEN", TOKEN)
    engine = make_engine(url)
    upgrade(engine)
    client = TestClient(build_app(get_settings(), engine), base_url="https://testserver")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
