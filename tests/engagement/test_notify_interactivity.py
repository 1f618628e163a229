"""Slack buttons: signed requests act on the case and update the message; others are refused."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import queue_factories as f
from queue_factories import NOW
from slack_server import FakeSlack, fake_slack
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import User
from engagement import notify, queue
from engagement.settings import EngagementSettings, SlackSettings
from engagement.triage.cases import triage
from engagement.web import slack_actions

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as server:
        yield server


def _people(engine: Engine) -> None:
    """Engagebot users behind the Slack members: amy (U123, linked by id), ben (by user_map),
    lena the lead (U777). U404 is nobody of ours."""
    with session_scope(engine) as session:
        session.add_all(
            [
                User(
                    email="amy@example.com",
                    name="amy",
                    role="agent",
                    team="default",
                    password_hash="x",
                    slack_user_id="U123",
                ),
                User(email="ben@example.com", name="ben", role="agent", team="default", password_hash="x"),
                User(
                    email="lena@example.com",
                    name="lena",
                    role="lead",
                    team="default",
                    password_hash="x",
                    slack_user_id="U777",
                ),
            ]
        )


USER_MAP = {"U999": "ben@example.com"}


def _signed(body: bytes, *, at: float, secret: str = SECRET) -> dict[str, str]:
    base = f"v0:{int(at)}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(int(at)),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def _action_body(action_id: str, value: str, response_url: str, user: str = "U123") -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "amy.slack"},
        "trigger_id": "t-1",
        "response_url": response_url,
        "message": {
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": "case"}},
                {"type": "actions", "elements": []},
            ]
        },
        "actions": [{"action_id": action_id, "value": value, "action_ts": "1.2"}]
        if action_id != "case_assign"
        else [{"action_id": action_id, "selected_option": {"value": value}, "action_ts": "1.3"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def _case(engine: Engine) -> int:
    author = f.author(engine, handle="ada")
    f.post(engine, author_id=author, text="terrible")
    triage(engine, EngagementSettings(), now=NOW)
    with session_scope(engine) as session:
        [case] = queue.list_cases(session)
        assert case.id is not None
        return case.id


def test_signed_claim_acts_and_updates_the_message(engine: Engine, slack: FakeSlack) -> None:
    case_id = _case(engine)
    _people(engine)
    settings = EngagementSettings(slack=SlackSettings(signing_secret=SECRET, user_map=USER_MAP))
    body = _action_body("case_claim", str(case_id), f"{slack.url}/actions/T1/abc")
    result = slack_actions.handle_interaction(
        engine, settings, body=body, headers=_signed(body, at=NOW.timestamp()), now=NOW
    )
    assert (result.status_code, result.action, result.error) == (200, "case_claim", None)
    with session_scope(engine) as session:
        assert queue.get_case(session, case_id).claimed_by == "amy"
    assert notify.deliver_pending(engine, settings, NOW)["sent"] == 1
    [update] = slack.requests
    assert update["path"] == "/actions/T1/abc" and update["body"]["replace_original"] is True
    blocks = json.dumps(update["body"]["blocks"])
    assert "Claimed by amy" in blocks and '"actions"' not in blocks
    # a second claim by someone else is refused politely in Slack, the case stays amy's
    other = _action_body("case_claim", str(case_id), f"{slack.url}/actions/T1/abc", user="U999")
    again = slack_actions.handle_interaction(
        engine,
        settings,
        body=other,
        headers=_signed(other, at=NOW.timestamp()),
        now=NOW + timedelta(seconds=1),
    )
    assert again.status_code == 200 and "claimed by amy" in (again.error or "")


def test_a_slack_member_who_is_not_an_engagebot_user_is_refused(engine: Engine, slack: FakeSlack) -> None:
    case_id = _case(engine)
    _people(engine)
    settings = EngagementSettings(slack=SlackSettings(signing_secret=SECRET, user_map=USER_MAP))
    for action, value in (("case_claim", str(case_id)), ("case_assign", f"{case_id}:amy")):
        body = _action_body(action, value, f"{slack.url}/actions/stranger", user="U404")
        result = slack_actions.handle_interaction(
            engine, settings, body=body, headers=_signed(body, at=NOW.timestamp()), now=NOW
        )
        assert (result.status_code, result.error) == (200, "unknown Slack user")
    with session_scope(engine) as session:
        case = queue.get_case(session, case_id)
        assert (case.status, case.claimed_by, case.assignee) == ("open", None, None)
    assert notify.deliver_pending(engine, settings, NOW)["sent"] == 2
    for answer in slack.requests:
        assert answer["body"]["response_type"] == "ephemeral" and answer["body"]["replace_original"] is False
        assert "not an engagebot user" in answer["body"]["text"]


def test_snooze_and_assign(engine: Engine, slack: FakeSlack) -> None:
    case_id = _case(engine)
    _people(engine)
    settings = EngagementSettings(slack=SlackSettings(signing_secret=SECRET, snooze_minutes=45))
    body = _action_body("case_snooze", str(case_id), f"{slack.url}/actions/x")
    assert (
        slack_actions.handle_interaction(
            engine, settings, body=body, headers=_signed(body, at=NOW.timestamp()), now=NOW
        ).status_code
        == 200
    )
    body = _action_body("case_assign", f"{case_id}:ben", f"{slack.url}/actions/y")
    by_agent = slack_actions.handle_interaction(
        engine, settings, body=body, headers=_signed(body, at=NOW.timestamp()), now=NOW
    )
    assert by_agent.status_code == 200 and "only a lead" in (by_agent.error or "")  # amy is an agent
    body = _action_body("case_assign", f"{case_id}:ben", f"{slack.url}/actions/y", user="U777")
    assert (
        slack_actions.handle_interaction(
            engine, settings, body=body, headers=_signed(body, at=NOW.timestamp()), now=NOW
        ).status_code
        == 200
    )
    with session_scope(engine) as session:
        case = queue.get_case(session, case_id)
        assert case.assignee == "ben" and case.snoozed_until == NOW + timedelta(minutes=45)
        actions = [e.action for e in queue.case_audit(session, case_id)]
    assert actions[-2:] == ["snoozed", "reassigned"]


@pytest.mark.parametrize("problem", ["unsigned", "stale", "tampered", "wrong_secret", "garbage_timestamp"])
def test_bad_requests_are_refused_before_acting(engine: Engine, problem: str) -> None:
    case_id = _case(engine)
    settings = EngagementSettings(slack=SlackSettings(signing_secret=SECRET))
    body = _action_body("case_claim", str(case_id), "http://127.0.0.1:9/none")
    headers = _signed(body, at=NOW.timestamp())
    if problem == "unsigned":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    elif problem == "stale":
        headers = _signed(body, at=(NOW - timedelta(minutes=6)).timestamp())
    elif problem == "tampered":
        body = body.replace(b"case_claim", b"case_snooze")
    elif problem == "wrong_secret":
        headers = _signed(body, at=NOW.timestamp(), secret="not-the-secret")
    else:
        headers["X-Slack-Request-Timestamp"] = "yesterday"
    result = slack_actions.handle_interaction(engine, settings, body=body, headers=headers, now=NOW)
    assert result.status_code == 401
    with session_scope(engine) as session:
        assert queue.get_case(session, case_id).status == "open"


def test_no_signing_secret_means_no_actions(engine: Engine) -> None:
    case_id = _case(engine)
    body = _action_body("case_claim", str(case_id), "http://127.0.0.1:9/none")
    result = slack_actions.handle_interaction(
        engine, EngagementSettings(), body=body, headers=_signed(body, at=NOW.timestamp()), now=NOW
    )
    assert result.status_code == 503


def test_the_route_the_web_app_mounts(engine: Engine, slack: FakeSlack) -> None:
    import time

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from engagement.web.slack_actions import router

    case_id = _case(engine)
    _people(engine)
    settings = EngagementSettings(slack=SlackSettings(signing_secret=SECRET, user_map=USER_MAP))
    web = FastAPI()
    web.include_router(router(engine, settings))
    client = TestClient(web)
    body = _action_body("case_claim", str(case_id), f"{slack.url}/actions/route")
    refused = client.post(
        "/slack/interactivity",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert refused.status_code == 401
    answer = client.post("/slack/interactivity", content=body, headers=_signed(body, at=time.time()))
    assert answer.status_code == 200
    with session_scope(engine) as session:
        assert queue.get_case(session, case_id).claimed_by == "amy"
    assert [r["path"] for r in slack.requests] == ["/actions/route"]  # updated in the background
