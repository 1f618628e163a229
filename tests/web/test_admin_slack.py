"""The Slack admin page (issue 26): the manifest names every scope the code uses (chat:write
included) and this app's interactivity URL; token status from one auth.test; a test message
through the outbox and delivery; a channel per team, stored and used by the next notify run."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_api import Answer, FakeApi, fake_api
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import col, select
from web_factories import Browser

from db.engine import session_scope
from db.models import Outbox
from engagement.notify import enqueue_notifications
from engagement.notify.slack_app import METHOD_SCOPES, SCOPES
from engagement.settings import EngagementSettings, SlackSettings

Login = Callable[[str], Browser]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def slack_api() -> Iterator[FakeApi]:
    with fake_api() as api:
        api.on("POST", "/auth.test", Answer({"ok": True, "user": "engagebot", "team": "Acme Air"}))
        api.on("POST", "/chat.postMessage", Answer({"ok": True, "channel": "C0CARE1", "ts": "1765100000.000100"}))
        yield api


@pytest.fixture
def settings(slack_api: FakeApi) -> EngagementSettings:
    slack = SlackSettings(
        bot_token=SecretStr("xoxb-test"), base_url=slack_api.url + "/", default_channel="#social-care"
    )
    return EngagementSettings(slack=slack, public_url="https://care.acme.example")


def _json(who: Browser, method: str, url: str, body: object | None = None) -> Any:
    return who.client.request(method, url, json=body, headers={"X-CSRF-Token": who.csrf})


def test_manifest_names_every_scope_the_code_uses(browser: Login, seeded: Any) -> None:
    called = set()
    for path in (ROOT / "engagement").rglob("*.py"):
        called |= set(
            re.findall(r"client\.((?:chat|conversations|users|auth|reactions|views)_\w+)\(", path.read_text())
        )
    assert called and called <= set(METHOD_SCOPES), f"scopes unknown for {called - set(METHOD_SCOPES)}"
    needed = {scope for method in called for scope in METHOD_SCOPES[method]}
    answer = browser("adam@example.com").get("/api/admin/slack/manifest")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    manifest = answer.text
    listed = set(re.findall(r"^\s+- ([a-z:.]+)", manifest, re.M))
    assert "chat:write" in listed and needed <= listed and listed == set(SCOPES)
    assert "request_url: https://care.acme.example/slack/interactivity" in manifest
    docs = (ROOT / "docs/going-live.md").read_text()
    assert set(re.findall(r"^\s+- ([a-z:.]+)\s+#", docs, re.M)) == listed  # the docs show the same app


def test_token_status_test_message_and_team_channels(
    browser: Login, seeded: Any, slack_api: FakeApi, settings: EngagementSettings, sqlite_engine: Engine
) -> None:
    adam = browser("adam@example.com")
    page = adam.get("/admin/slack").text
    assert "bot token works: engagebot in Acme Air" in page and 'href="/admin/slack"' in page
    assert slack_api.seen("POST", "/auth.test")[0].headers["authorization"] == "Bearer xoxb-test"

    sent = _json(adam, "POST", "/api/admin/slack/test", {"channel": "#care-test"}).json()
    assert sent["status"] == "sent" and sent["message"] == "Sent to #care-test."
    posted = slack_api.seen("POST", "/chat.postMessage")[0].json()
    assert posted["channel"] == "#care-test" and "Test message from engagebot, sent by Adam" in posted["text"]
    with session_scope(sqlite_engine) as session:
        row = session.exec(select(Outbox).where(col(Outbox.kind) == "test")).one()
        assert row.status == "sent"
    assert _json(adam, "POST", "/api/admin/slack/test", {"channel": "care test"}).status_code == 400

    saved = _json(adam, "PUT", "/api/admin/slack/channels", {"care": "#care-team", "billing": ""})
    assert saved.status_code == 200 and saved.json() == {"team_channels": {"care": "#care-team"}}
    assert 'value="#care-team"' in adam.get("/admin/slack").text
    assert _json(adam, "PUT", "/api/admin/slack/channels", {"care": "Care Team"}).status_code == 400
    # the next notify run sends the top care case to the channel set here (no restart)
    enqueue_notifications(sqlite_engine, settings)
    with session_scope(sqlite_engine) as session:
        top = session.exec(select(Outbox).where(col(Outbox.case_id) == seeded.cases["top"])).first()
    assert top is not None and top.payload["channel"] == "#care-team"

    assert browser("lea@example.com").get("/admin/slack").status_code == 403
    assert _json(browser("ana@example.com"), "POST", "/api/admin/slack/test", {}).status_code == 403


def test_a_refused_token_is_said(browser: Login, seeded: Any, slack_api: FakeApi) -> None:
    slack_api.on("POST", "/auth.test", Answer({"ok": False, "error": "invalid_auth"}))
    status = browser("adam@example.com").get("/api/admin/slack").json()["token"]
    assert status["ok"] is False and status["message"] == "Slack refused the bot token: invalid_auth"
