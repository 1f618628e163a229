"""``/api/admin/``: people, teams, routing rules (in the database, live), brand, saved replies, sources."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, select
from sqlmodel import col
from web_factories import Browser

from db.engine import session_scope
from db.models import Author, Case, Post, Score
from db.types import utcnow
from engagement.queue.templates import case_variables, saved_replies
from engagement.settings import EngagementSettings, ReplySettings
from engagement.triage.cases import triage


def _german_complaint(engine: Engine) -> int:
    """A negative German post, five minutes old, by a new author."""
    with session_scope(engine) as session:
        author = Author(platform="x", external_id="u-klaus", handle="klaus")
        session.add(author)
        session.flush()
        post = Post(platform="x", external_id="de-1", source="x-search", text="Ich warte seit Wochen", lang="de",
                    author_id=author.id, created_at=utcnow() - timedelta(minutes=5))  # fmt: skip
        session.add(post)
        session.flush()
        assert post.id is not None
        session.add(Score(post_id=post.id, model_id="m", label="negative", p_negative=0.9, p_neutral=0.05,
                          p_positive=0.05, scored_at=utcnow()))  # fmt: skip
        return post.id


def _json(browser: Browser, method: str, url: str, body: object | None = None) -> tuple[int, Any]:
    response = browser.client.request(method, url, json=body, headers={"X-CSRF-Token": browser.csrf})
    return response.status_code, response.json() if response.content else None


def test_people_and_teams_admins_change_leads_read_agents_are_refused(browser: Callable[[str], Browser]) -> None:
    adam, lea, ana = browser("adam@example.com"), browser("lea@example.com"), browser("ana@example.com")
    assert _json(ana, "GET", "/api/admin/users")[0] == 403
    assert _json(ana, "GET", "/api/admin/teams")[0] == 403
    status, people = _json(adam, "GET", "/api/admin/users")
    assert status == 200 and {p["name"] for p in people} >= {"Ana", "Ben", "Lea", "Adam", "Otto"}
    assert _json(lea, "GET", "/api/admin/users")[0] == 200  # leads read
    assert _json(lea, "POST", "/api/admin/users", {"email": "x@example.com", "name": "X"})[0] == 403

    # a rule routes German posts to dach, where nobody works: the teams call says so
    status, _ = _json(adam, "POST", "/api/admin/routing-rules", {"name": "german", "team": "dach", "languages": ["de"]})
    assert status == 201
    teams = {t["name"]: t for t in _json(adam, "GET", "/api/admin/teams")[1]}
    assert teams["dach"]["warnings"] == ["team dach has no agent: routing rules send cases here (german)"]

    status, jonas = _json(
        adam,
        "POST",
        "/api/admin/users",
        {"email": "jonas@example.com", "name": "Jonas", "role": "agent", "team": "dach", "slack_user_id": "U0JONAS1"},
    )
    assert status == 201, jonas
    assert jonas["team"] == "dach" and jonas["slack_user_id"] == "U0JONAS1"
    assert "/invite/" in jonas["invite_link"]
    teams = {t["name"]: t for t in _json(lea, "GET", "/api/admin/teams")[1]}
    assert teams["dach"]["agents"] == ["Jonas"] and teams["dach"]["warnings"] == []

    # away, then deactivated: their sessions end at once
    status, changed = _json(adam, "PATCH", f"/api/admin/users/{jonas['id']}", {"away": True})
    assert status == 200 and changed["away"] is True
    ana_id = next(p["id"] for p in people if p["name"] == "Ana")
    assert ana.get("/api/me").status_code == 200
    status, gone = _json(adam, "PATCH", f"/api/admin/users/{ana_id}", {"active": False})
    assert status == 200 and gone["active"] is False and gone["sessions_ended"] >= 1
    assert ana.get("/api/me").status_code == 401
    assert ana.try_login("ana@example.com", "correct horse battery").status_code == 401
    assert _json(ana, "PATCH", f"/api/admin/users/{ana_id}", {"active": True})[0] == 401
    assert _json(adam, "PATCH", f"/api/admin/users/{ana_id}", {"role": "boss"})[0] == 400


def test_a_rule_added_in_the_app_routes_the_next_post_without_a_restart(
    app: FastAPI, sqlite_engine: Engine, browser: Callable[[str], Browser]
) -> None:
    settings = EngagementSettings()  # the settings triage was started with: no rules
    adam, lea, ana = browser("adam@example.com"), browser("lea@example.com"), browser("ana@example.com")
    probe = {"text": "Ich warte auf meine Erstattung", "lang": "de", "platform": "x"}
    assert _json(lea, "POST", "/api/admin/routing-rules/test", probe)[1] == {
        "team": "default",
        "rule": None,
        "why": "no rule matched -> default team 'default'",
    }
    assert _json(ana, "POST", "/api/admin/routing-rules/test", probe)[0] == 403
    rules = [
        {"name": "german", "team": "dach", "languages": ["de"]},
        {"name": "refunds", "team": "billing", "keywords": ["refund"]},
    ]
    status, saved = _json(adam, "PUT", "/api/admin/routing-rules", {"rules": rules})
    assert status == 200 and [h["actor"] for h in saved["history"]] == ["Adam", "engagebot.toml"]
    answer = _json(lea, "POST", "/api/admin/routing-rules/test", probe)[1]
    assert answer["team"] == "dach" and answer["rule"] == "german"
    bad = _json(adam, "PUT", "/api/admin/routing-rules", {"rules": [{"name": "x", "team": "t", "regex": "("}]})
    assert bad[0] == 400

    post = _german_complaint(sqlite_engine)
    triage(sqlite_engine, settings)
    with session_scope(sqlite_engine) as session:
        case = session.execute(select(Case).where(col(Case.post_id) == post)).scalar_one()
        assert (case.team, case.reasons["rule"]) == ("dach", "german")
    # what would have gone where: the seeded cases (team care) routed by the rules in force
    replay = _json(lea, "GET", "/api/admin/routing-rules/replay?days=7")[1]
    assert replay["cases"] >= 2 and replay["by_team"]["dach"] == 1
    assert all(m["to"] in ("default", "billing", "dach") for m in replay["moved"])
    assert _json(ana, "GET", "/api/admin/routing-rules/replay")[0] == 403


def test_brand_saved_replies_and_sources(
    app: FastAPI, sqlite_engine: Engine, browser: Callable[[str], Browser]
) -> None:
    adam, lea = browser("adam@example.com"), browser("lea@example.com")
    profile = {"name": "Skylark Air", "handles": {"x": ["SkylarkAir"]}, "currency": "EUR", "locale": "de_DE",
               "public_url": "https://care.skylark.example", "time_zone": "Europe/Berlin"}  # fmt: skip
    assert _json(lea, "PUT", "/api/admin/brand", profile)[0] == 403
    assert _json(adam, "PUT", "/api/admin/brand", {**profile, "currency": "EURO"})[0] == 400
    assert _json(adam, "PUT", "/api/admin/brand", profile)[0] == 200
    shown = _json(lea, "GET", "/api/admin/brand")[1]
    assert shown["name"] == "Skylark Air" and shown["history"][0]["actor"] == "Adam"
    with session_scope(sqlite_engine) as session:
        case = session.execute(select(Case)).scalars().first()
        assert case is not None
        assert case_variables(session, case, agent="Ana", settings=ReplySettings())["brand"] == "Skylark Air"
        replies = ReplySettings(templates={"apology": "Sorry", "apology-de": "Entschuldigung", "refund-fr": "Pardon"})
        names = [v.name for v in saved_replies(session, team="care", settings=replies, lang="de")]
        assert names == ["apology-de", "apology", "refund-fr"]
    listed = _json(lea, "GET", "/api/admin/saved-replies?team=care&lang=en")[1]
    assert listed[0]["name"] == "apology" and listed[0]["lang"] is None
    with session_scope(sqlite_engine) as session:
        assert session.execute(select(Post)).scalars().first() is not None
    status, sources = _json(lea, "GET", "/api/admin/sources")
    assert status == 200 and isinstance(sources, list)
    paths = lea.get("/openapi.json").json()["paths"]  # in /docs
    assert {"/api/admin/users", "/api/admin/teams", "/api/admin/routing-rules/test", "/api/admin/brand"} <= set(paths)
