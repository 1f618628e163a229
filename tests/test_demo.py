"""The whole flow end to end on the bundled demo data, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from db.models import Author, Case, CaseTag, Customer, Identity, JobRun, Outbox, Post, Score
from engagebot.config import Settings
from engagebot.demo import DEMO_DEFAULT_TEAM, DEMO_RULES, DEMO_USERS, demo_settings, run_demo
from engagement.queue import list_cases
from engagement.report.weekly import build_weekly_report

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


BARE_AMOUNT = re.compile(r"(?<![\w$.,])\d{1,3}(?:,\d{3})+(?![\d,])")


def _shown_texts(value: Any) -> list[str]:
    """Every string Slack shows (under a ``text`` key), headers and fields included."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in ([v] if k == "text" and isinstance(v, str) else _shown_texts(v))]
    if isinstance(value, list):
        return [t for item in value for t in _shown_texts(item)]
    return []


def _first_run_respects_attention(messages: list[dict[str, Any]]) -> None:
    """The first run on a backlog, message by message: one digest instead of a flood, breaches
    grouped per team, the weekly summary; every amount in dollars, every link to the app."""
    kinds = Counter(m["kind"] for m in messages)
    assert 1 <= len(messages) <= 8, kinds
    assert kinds["digest"] == 1 and kinds["new_case"] == 0, kinds  # 30-odd new cases: one digest
    assert kinds["report"] == 1, kinds
    breach_teams = [re.search(r"in team (\w+)", m["text"]).group(1) for m in messages if m["kind"] == "sla_breach"]  # type: ignore[union-attr]
    assert len(breach_teams) == len(set(breach_teams)) <= 4, "at most one breach alert per team (4 demo teams)"
    for message in messages:
        for text in _shown_texts(message):
            assert not BARE_AMOUNT.findall(text), f"an amount without its currency in {text!r}"
            assert "lead: lead" not in text
        raw = json.dumps(message)
        assert "file://" not in raw and "localhost:8000/" in raw
    digest = next(m for m in messages if m["kind"] == "digest")
    body = digest["blocks"][1]["text"]["text"]
    amounts = [float(a.replace(",", "")) for a in re.findall(r"\*\$([\d,]+)\*", body)]
    assert amounts[0] > 0 and amounts[1:] == sorted(amounts[1:], reverse=True), "sorted by money at risk"
    assert digest["blocks"][2]["elements"][0]["url"].endswith("/queue?team=all")  # one channel, all teams


def test_the_demo_staffs_every_team_it_routes_to() -> None:
    teams = {rule.team for rule in DEMO_RULES} | {DEMO_DEFAULT_TEAM}
    agents = {u.team for u in DEMO_USERS if u.role == "agent"}
    assert teams == {"care", "billing", "dach", "app"} and teams <= agents
    jonas = next(u for u in DEMO_USERS if u.team == "dach")
    assert jonas.role == "agent" and jonas.password


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
        assert platforms == {"x", "reddit", "appstore", "googleplay", "facebook", "instagram"}
        # the new channels' threads: a Page reply, an Instagram reply, an App Store developer response
        answered = set(
            session.exec(
                select(Post.external_id).where(
                    Post.platform.in_(["facebook", "instagram", "appstore"]),  # type: ignore[attr-defined]
                    Post.answered_at.is_not(None),  # type: ignore[union-attr]
                )
            ).all()
        )
        assert answered == {
            "880001122334455_7700000002",
            "17990000000000002",
            "5f0e6c1a-0000-4000-8000-000000000002",
        }
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
        # every team with open cases has an agent to work them (no "dach 3 open" with nobody)
        open_teams = set(session.exec(select(Case.team).where(Case.status == "open")).all())
        staffed = {u.team for u in DEMO_USERS if u.role == "agent"}
        assert open_teams and open_teams <= staffed, open_teams - staffed
        # day one's backlog: valued customers' complaints from before the 72 h window are queued
        backlog = session.exec(
            select(Case).join(CaseTag, CaseTag.case_id == Case.id).where(CaseTag.tag == "backlog")  # type: ignore[arg-type]
        ).all()
        assert backlog, "complaints older than 72 h from valued customers are in the queue"
        for case in backlog:
            post = session.get(Post, case.post_id)
            assert post is not None and post.created_at < NOW - timedelta(hours=72)
            assert case.tier in ("top", "high") and case.status == "open"

    sink = Path(settings.engagement.slack.sink or "")
    messages = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
    _first_run_respects_attention(messages)
    summaries = [m for m in messages if m["kind"] == "backlog"]
    assert len(summaries) == 1 and len(summaries[0]["case_ids"]) == len(backlog), "one Slack summary"
    report = Path(steps["weekly_report"]["html"])
    assert report.exists() and "Revenue at risk" in report.read_text(encoding="utf-8")

    default = build_weekly_report(
        engine, settings.engagement, out_dir=tmp_path / "default", now=NOW, enqueue_slack=False
    )
    assert default.week_reason.startswith(f"{default.week}: the last complete week")
    assert default.headline.unanswered_money > 0, "unanswered negative posts of valued customers: no all-clear"
    assert "file://" not in json.dumps(default.as_json())

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
    for person in DEMO_USERS:  # every team's people and their sign-ins
        assert person.email in done.stdout and person.password in done.stdout
    # the demo's routing stays for what follows it (run, triage, web, rules test)
    assert "wrote engagebot.toml" in " ".join(done.stdout.split())
    rules = subprocess.run(
        [cmd[0], "rules", "test", "Ich warte seit Wochen auf meine Erstattung", "--lang", "de", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert rules.returncode == 0 and json.loads(rules.stdout)["team"] == "dach", rules.stdout
    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "added=0" in again.stdout and "wrote engagebot.toml" not in again.stdout
