"""/healthz, /readyz, /metrics through FastAPI's TestClient, and ``engagebot status``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from typer.testing import CliRunner

from db.engine import make_engine, session_scope
from db.models import Case, JobRun, Outbox, Post, QuarantinedRecord, Score
from db.types import utcnow
from engagebot.cli import app as cli
from engagebot.config import get_settings
from engagebot.ops.observability import ops_router
from engagebot.ops.scheduler import JobQueue

pytestmark = pytest.mark.timeout(60)


def client_for(engine: Engine) -> TestClient:
    app = FastAPI()
    app.include_router(ops_router(engine))
    return TestClient(app)


def fill(engine: Engine) -> None:
    """A small deployment's worth of state: posts from two sources, cases, outbox, a bad record."""
    now = utcnow()
    with session_scope(engine) as session:
        posts = [
            Post(platform="x", external_id=str(i), source="x-brand", text=f"post {i}", created_at=now) for i in range(3)
        ] + [Post(platform="reddit", external_id="r1", source="reddit-sub", text="hi", created_at=now)]
        session.add_all(posts)
        session.flush()
        session.add(
            Score(
                post_id=posts[0].id,
                model_id="m",
                label="negative",
                p_negative=0.9,
                p_neutral=0.05,
                p_positive=0.05,
            )
        )
        session.add_all(
            [
                Case(
                    dedupe_key="a",
                    post_id=posts[0].id,
                    tier="gold",
                    sla_due_at=now - timedelta(hours=1),
                ),
                Case(
                    dedupe_key="b",
                    post_id=posts[1].id,
                    tier="gold",
                    status="claimed",
                    sla_due_at=now + timedelta(hours=1),
                ),
                Case(dedupe_key="c", post_id=posts[2].id, tier="silver"),
                Case(dedupe_key="d", post_id=posts[3].id, tier="silver", status="replied"),
            ]
        )
        session.add_all(
            [
                Outbox(channel="slack", kind="new_case", dedupe_key="o1"),
                Outbox(channel="slack", kind="new_case", dedupe_key="o2", status="sent"),
                Outbox(channel="slack", kind="digest", dedupe_key="o3", status="failed"),
            ]
        )
        session.add(QuarantinedRecord(source="x-brand", platform="x", fingerprint="f1", error="no id", raw="{}"))
        session.add(JobRun(job="collect", source="x-brand", status="ok", counts={"added": 3}, finished_at=now))
        session.add(
            JobRun(
                job="score",
                status="failed",
                error="RuntimeError: model failed to load",
                finished_at=now,
            )
        )


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_healthz_and_readyz(engine: Engine) -> None:
    client = client_for(engine)
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "migrations": "current"}}


def test_readyz_fails_before_migrations(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    response = client_for(engine).get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"].startswith("behind")


def test_readyz_fails_when_the_database_is_down() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    client = client_for(engine)
    assert client.get("/healthz").status_code == 200, "the process itself is up"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")
    assert "engagebot_database_up 0.0" in client.get("/metrics").text


def test_metrics_report_the_deployment_and_this_process(engine: Engine) -> None:
    fill(engine)
    JobQueue(get_settings(), engine).run_job("ops_steps:boom")
    response = client_for(engine).get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found[("engagebot_posts_collected_total", (("source", "x-brand"),))] == 3
    assert found[("engagebot_posts_collected_total", (("source", "reddit-sub"),))] == 1
    assert found[("engagebot_posts_scored_total", ())] == 1
    assert found[("engagebot_unscored_posts", ())] == 3
    assert found[("engagebot_open_cases", (("tier", "gold"),))] == 2
    assert found[("engagebot_open_cases", (("tier", "silver"),))] == 1
    assert found[("engagebot_sla_breaches", ())] == 1
    assert found[("engagebot_outbox_backlog", (("status", "pending"),))] == 1
    assert found[("engagebot_outbox_backlog", (("status", "failed"),))] == 1
    assert found[("engagebot_quarantined_records", ())] == 1
    assert found[("engagebot_job_failures_total", (("job", "ops_steps:boom"),))] >= 1
    assert found[("engagebot_job_duration_seconds_count", (("job", "ops_steps:boom"),))] >= 1
    assert all(name.startswith(("engagebot_", "process_", "python_")) for name, _ in found)


def test_status_json_and_screen(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(sqlite_engine)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    runner = CliRunner()
    result = runner.invoke(cli, ["status", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["backlog"] | {"posts_by_source": None} == {
        "posts": 4,
        "unscored_posts": 3,
        "scored_posts": 1,
        "open_cases": 3,
        "open_cases_by_tier": {"gold": 2, "silver": 1},
        "sla_breaches": 1,
        "outbox_pending": 1,
        "outbox_failed": 1,
        "quarantined_records": 1,
        "posts_by_source": None,
    }
    assert {(j["job"], j["source"], j["status"]) for j in report["jobs"]} == {
        ("collect", "x-brand", "ok"),
        ("score", None, "failed"),
    }
    assert [e["error"] for e in report["errors"]] == ["RuntimeError: model failed to load"]
    assert [(lane["lane"], lane["waiting"]) for lane in report["lanes"]] == [("intake", 3), ("notify", 1)]

    screen = runner.invoke(cli, ["status"], env={"COLUMNS": "120"})
    assert screen.exit_code == 0, screen.output
    for expected in (
        "unscored 3",
        "open cases 3 (gold 2, silver 1)",
        "SLA breaches 1",
        "outbox pending 1",
        "quarantined 1",
        "collect",
        "x-brand",
        "recent errors",
        "model failed to load",
        "lanes: intake 3 waiting, oldest",
        "notify 1 waiting",
    ):
        assert expected in screen.output
    assert len(screen.output.splitlines()) < 25, "one screen"
    wide = runner.invoke(cli, ["status"], env={"COLUMNS": "200"})
    assert wide.exit_code == 0 and "open cases 3" in wide.output
    assert max(len(line) for line in wide.output.splitlines()) <= 100, "fits 100 columns on any terminal"
