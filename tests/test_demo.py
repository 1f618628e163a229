"""The whole flow end to end on the bundled demo data, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from db.models import Author, Case, Customer, Identity, JobRun, Outbox, Post, Score
from engagebot.config import Settings
from engagebot.demo import demo_settings, run_demo
from engagement.queue import list_cases

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _snapshot(engine: Engine) -> dict[str, Any]:
    """Every row count and each case's priority: what a re-run must leave unchanged."""
    with Session(engine) as session:
        counts = {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Post, Author, Score, Customer, Identity, Case, Outbox)
        }
        cases = session.exec(select(Case.id, Case.priority, Case.status, Case.team)).all()
        return {"counts": counts, "cases": sorted((c.id, round(c.priority, 6), c.status, c.team) for c in cases)}


@pytest.mark.slow
def test_demo_runs_the_whole_cycle_and_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    settings = demo_settings(Settings(database_url=str(engine.url), output_dir=tmp_path / "out"))
    result = run_demo(settings, engine, now=NOW)
    steps = {step.step: step.counts for step in result.steps}
    assert set(steps) >= {
        "import CRM",
        "collect (bundled payloads)",
        "score",
        "link_and_value",
        "triage",
        "notify",
        "weekly_report",
    }

    with Session(engine) as session:
        posts = session.exec(select(func.count()).select_from(Post)).one()
        assert 250 <= posts <= 400, "a few hundred posts from the bundled payloads"
        platforms = set(session.exec(select(Post.platform).distinct()).all())
        assert platforms == {"x", "reddit", "appstore", "googleplay"}
        assert session.exec(select(func.count()).select_from(Score)).one() == posts, "every post scored"
        assert session.exec(select(func.count()).select_from(Post).where(Post.is_brand)).one() > 10
        assert session.exec(select(func.count()).select_from(Customer)).one() == 60
        fitted = session.exec(select(func.count()).select_from(Customer).where(Customer.clv_source == "model")).one()
        assert fitted > 0, "customers without a CRM CLV get a fitted one"
        linked = session.exec(select(func.count()).select_from(Identity).where(Identity.status == "confirmed")).one()
        assert linked > 30

        top = list_cases(session, limit=5)
        assert len(top) == 5
        for case in top:
            post = session.get(Post, case.post_id)
            assert post is not None and not post.is_brand and post.answered_at is None
            score = session.exec(select(Score).where(Score.post_id == post.id)).one()
            assert score.label == "negative", post.text
            assert case.money_at_risk > 0 and case.reasons
        # The top of the queue is the most valuable customers, not the loudest strangers.
        assert sum(1 for case in top if case.customer_id is not None) >= 4
        priorities = [case.priority for case in list_cases(session, limit=1000)]
        assert priorities == sorted(priorities, reverse=True)
        failed = session.exec(select(JobRun).where(JobRun.status == "failed")).all()
        assert not failed, [(f.job, f.error) for f in failed]

    sink = Path(settings.engagement.slack.sink or "")
    messages = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
    assert messages, "Slack messages are delivered to the local sink"
    report = Path(steps["weekly_report"]["html"])
    assert report.exists() and "Revenue at risk" in report.read_text(encoding="utf-8")

    before = _snapshot(engine)
    run_demo(settings, engine, now=NOW)
    assert _snapshot(engine) == before, "re-running the demo changes nothing"
    assert len(sink.read_text(encoding="utf-8").splitlines()) == len(messages), "no Slack message sent twice"


@pytest.mark.slow
def test_demo_command_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    """What `make demo` runs, as a new user would: the console script, a fresh database file."""
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    cmd = [str(Path(sys.executable).parent / "engagebot"), "demo", "--no-web"]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "engagebot.db").exists()
    assert "Reply queue" in done.stdout and "money at risk" in done.stdout.lower()
    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "added=0" in again.stdout
