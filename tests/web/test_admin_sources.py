"""The Sources page's Run now and Test connection (issue 26), against the fake Graph API the
listener tests use: a good token connects, an expired one says so, a missing one names the
setting, and Run now records a collect run of that source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fake_api import Answer, FakeApi, fake_api
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import col, select
from web_factories import Browser

from db.engine import session_scope
from db.models import JobRun, Post
from engagebot.config import Settings
from engagebot.source_actions import sources_router
from engagement.web import create_app
from listener.settings import ListenerSettings, RetrySettings, SourceSettings

PAGE_ID = "4242"
EXPIRED = {"error": {"message": "Error validating access token: Session has expired", "type": "OAuthException",
                     "code": 190, "error_subcode": 463}}  # fmt: skip
FEED = {
    "data": [
        {
            "id": f"{PAGE_ID}_1",
            "message": "Where is my parcel?",
            "created_time": "2026-12-06T10:00:00+0000",
            "updated_time": "2026-12-06T10:00:00+0000",
            "from": {"id": "99", "name": "Kim"},
        }
    ],
    "paging": {},
}


@pytest.fixture
def graph() -> Iterator[FakeApi]:
    with fake_api() as api:
        yield api


@pytest.fixture
def settings(graph: FakeApi) -> Settings:
    return Settings(
        listener=ListenerSettings(
            graph_api_base=graph.url + "/v21.0",
            retry=RetrySettings(max_attempts=1, backoff_seconds=0),
            sources=[SourceSettings(name="fb-page", platform="facebook", page_id=PAGE_ID)],
        )
    )


@pytest.fixture
def wired(sqlite_engine: Engine, seeded: Any, settings: Settings) -> tuple[FastAPI, Any]:
    router = sources_router(settings, sqlite_engine)
    sources = [s.model_dump(include={"name", "platform", "kind", "interval_minutes", "enabled"})
               for s in settings.listener.sources]  # fmt: skip
    return create_app(sqlite_engine, settings.engagement, extra_routers=[router], sources=sources), router.runs  # type: ignore[attr-defined]


def _call(who: Browser, path: str) -> Any:
    return who.client.post(path, headers={"X-CSRF-Token": who.csrf})


def test_connection_ok_expired_and_missing(
    wired: tuple[FastAPI, Any], graph: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = wired
    adam = Browser(app).login("adam@example.com")
    monkeypatch.delenv("FACEBOOK_PAGE_TOKEN", raising=False)
    missing = _call(adam, "/api/admin/sources/fb-page/test").json()
    assert missing["ok"] is False and "set FACEBOOK_PAGE_TOKEN" in missing["message"]
    assert graph.requests == []

    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", "page-token-123")
    graph.on("GET", f"/v21.0/{PAGE_ID}/feed", Answer(FEED))
    good = _call(adam, "/api/admin/sources/fb-page/test").json()
    assert good["ok"] is True and good["items"] == 1 and good["message"].startswith("connected: facebook")
    assert len(graph.requests) == 1 and graph.requests[0].headers["authorization"] == "Bearer page-token-123"

    graph.on("GET", f"/v21.0/{PAGE_ID}/feed", Answer(EXPIRED, status=400))
    expired = _call(adam, "/api/admin/sources/fb-page/test").json()
    assert expired["ok"] is False and "expired" in expired["message"] and "FACEBOOK_PAGE_TOKEN" in expired["message"]

    assert _call(adam, "/api/admin/sources/nope/test").status_code == 404
    assert _call(Browser(app).login("lea@example.com"), "/api/admin/sources/fb-page/test").status_code == 403


def test_run_now_collects_that_source_in_the_background(
    wired: tuple[FastAPI, Any], graph: FakeApi, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, runs = wired
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", "page-token-123")
    graph.on("GET", f"/v21.0/{PAGE_ID}/feed", Answer(FEED))
    graph.on("GET", f"/v21.0/{PAGE_ID}_1/comments", Answer({"data": []}))
    adam = Browser(app).login("adam@example.com")
    page = adam.get("/admin/sources").text
    assert "fb-page" in page and 'id="run-1"' in page and 'id="test-1"' in page and "Last run</dt><dd>never" in page
    started = _call(adam, "/api/admin/sources/fb-page/run")
    assert started.status_code == 202 and started.json()["started"] is True
    runs.running["fb-page"].join(timeout=30)
    with session_scope(sqlite_engine) as session:
        run = session.exec(select(JobRun).where(col(JobRun.source) == "fb-page")).one()
        texts = [p.text for p in session.exec(select(Post).where(col(Post.source) == "fb-page")).all()]
    assert run.status == "ok" and texts == ["Where is my parcel?"]
    assert "ok, 1 stored" in adam.get("/admin/sources").text
    lea = Browser(app).login("lea@example.com")  # a lead reads the page, without the buttons
    assert 'id="run-1"' not in lea.get("/admin/sources").text
    assert _call(lea, "/api/admin/sources/fb-page/run").status_code == 403
