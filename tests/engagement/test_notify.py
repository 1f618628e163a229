"""Slack: what is enqueued when, delivery through a Slack-like local server (429, 5xx), the sink."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import queue_factories as f
from queue_factories import NOW
from slack_server import FakeSlack, Scripted, fake_slack
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import AuditEvent, Outbox
from engagement import notify
from engagement.notify.deliver import deliver_pending as deliver_with
from engagement.notify.transport import WebhookTransport
from engagement.settings import EngagementSettings, SlackSettings
from engagement.triage.cases import triage


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as server:
        yield server


def _outbox(engine: Engine) -> list[Outbox]:
    with session_scope(engine) as session:
        return list(session.execute(select(Outbox).order_by(Outbox.id)).scalars())  # type: ignore[arg-type]


def _two_cases(engine: Engine) -> None:
    f.customer(engine, handle="ada", rclv=9000, name="Ada Lovelace")
    ada = f.author(engine, handle="ada")
    bob = f.author(engine, handle="bob", followers=50)
    f.post(engine, author_id=ada, text="You <lost> my bag & nobody answers")
    f.post(engine, author_id=bob, text="meh, delayed again")
    triage(engine, EngagementSettings(), now=NOW)


def test_high_priority_at_once_the_rest_in_a_digest_and_no_repeats(engine: Engine) -> None:
    _two_cases(engine)
    settings = EngagementSettings(slack=SlackSettings(team_channels={"default": "#care"}, lead_channel="#leads"))
    counts = notify.enqueue_notifications(engine, settings, NOW)
    assert counts == {"new_case": 1, "digest": 1, "sla_breach": 0, "spike": 0}
    rows = _outbox(engine)
    new_case = next(r for r in rows if r.kind == "new_case")
    assert new_case.payload["channel"] == "#care"
    text = json.dumps(new_case.payload["blocks"])
    assert "Ada Lovelace" in text and "&lt;lost&gt; my bag &amp; nobody" in text and "/cases/" in text
    assert "case_claim" in text and "9,000" in text  # rCLV shown
    assert notify.enqueue_notifications(engine, settings, NOW + timedelta(minutes=1)) == {
        "new_case": 0,
        "digest": 0,
        "sla_breach": 0,
        "spike": 0,
    }
    # the top-tier SLA (1 h) passes: the lead hears once
    late = notify.enqueue_notifications(engine, settings, NOW + timedelta(hours=2))
    assert late["sla_breach"] == 1
    assert notify.enqueue_notifications(engine, settings, NOW + timedelta(hours=3))["sla_breach"] == 0
    breach = next(r for r in _outbox(engine) if r.kind == "sla_breach")
    assert breach.payload["channel"] == "#leads"
    with session_scope(engine) as session:
        assert session.execute(select(AuditEvent).where(AuditEvent.action == "sla_breached")).first() is not None  # type: ignore[arg-type]


def test_negative_spike_against_the_baseline(engine: Engine) -> None:
    author = f.author(engine, handle="many")
    for hour in range(1, 25):  # baseline: one negative post an hour
        f.post(
            engine,
            author_id=author,
            text="meh outage",
            created_at=NOW - timedelta(hours=hour, minutes=30),
        )
    settings = EngagementSettings(slack=SlackSettings(spike_keywords=["outage"], spike_min_count=5))
    assert notify.enqueue_notifications(engine, settings, NOW)["spike"] == 0
    for minute in range(12):
        f.post(
            engine,
            author_id=author,
            text="OUTAGE again",
            created_at=NOW - timedelta(minutes=minute + 1),
        )
    assert notify.enqueue_notifications(engine, settings, NOW)["spike"] == 2  # the source and the keyword
    assert notify.enqueue_notifications(engine, settings, NOW + timedelta(minutes=1))["spike"] == 0
    assert notify.detect_spikes({"s": 9}, {"s": [1, 1]}, ratio=3, min_count=10, kind="source") == []


def test_sink_writes_jsonl_and_nothing_twice(engine: Engine, tmp_path: Path) -> None:
    _two_cases(engine)
    sink = tmp_path / "out" / "slack.jsonl"
    settings = EngagementSettings(slack=SlackSettings(sink=str(sink)))
    notify.enqueue_notifications(engine, settings, NOW)
    assert notify.deliver_pending(engine, settings, NOW)["sent"] == 2
    assert notify.deliver_pending(engine, settings, NOW + timedelta(minutes=5))["sent"] == 0
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert sorted(m["kind"] for m in lines) == ["digest", "new_case"]


def test_web_api_retries_429_after_retry_after_and_5xx_with_backoff(engine: Engine, slack: FakeSlack) -> None:
    _two_cases(engine)
    settings = SlackSettings(bot_token="xoxb-test", base_url=f"{slack.url}/api/", backoff_seconds=30)
    notify.enqueue_notifications(engine, EngagementSettings(slack=settings), NOW)
    slack.script = [Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"})]
    began = time.monotonic()
    first = deliver_with(engine, settings, NOW)
    took = timedelta(seconds=time.monotonic() - began)
    assert first == {"retry": 1, "sent": 1, "failed": 0}
    pending = [r for r in _outbox(engine) if r.status == "pending"]
    # Retry-After counts from Slack's answer (each message keeps its own clock: NOW plus the
    # real time the run took, however slow this machine is)
    assert len(pending) == 1 and timedelta(seconds=7) <= pending[0].next_attempt_at - NOW <= timedelta(seconds=7) + took
    assert "rate limited" in (pending[0].last_error or "")
    assert pending[0].attempt_started_at is None, "a 429 was refused before posting: nothing in doubt"
    assert deliver_with(engine, settings, NOW + timedelta(seconds=6))["sent"] == 0  # not due yet
    slack.script = [Scripted(503, "upstream unavailable")]
    began = time.monotonic()
    assert deliver_with(engine, settings, NOW + timedelta(seconds=10))["retry"] == 1
    took_s = time.monotonic() - began
    [row] = [r for r in _outbox(engine) if r.status == "pending"]
    wait = (row.next_attempt_at - (NOW + timedelta(seconds=10))).total_seconds()
    assert 2 * 30 * 0.8 <= wait <= 2 * 30 * 1.2 + took_s  # second attempt: doubled, with jitter
    assert row.attempt_started_at is not None, "a 5xx may have posted: in doubt"
    assert deliver_with(engine, settings, NOW + timedelta(minutes=5))["sent"] == 1
    assert all(r.status == "sent" for r in _outbox(engine))
    # the doubt is cleared in the channel's history before the message is sent again
    assert [r["path"].rsplit("/", 1)[1] for r in slack.requests] == [
        "chat.postMessage",  # 429
        "chat.postMessage",  # the other message, posted
        "chat.postMessage",  # 503
        "conversations.list",
        "conversations.history",
        "chat.postMessage",
    ]
    assert len(slack.messages()) == 2
    assert slack.requests[0]["headers"]["Authorization"] == "Bearer xoxb-test"


def test_permanent_errors_are_recorded_not_retried(engine: Engine, slack: FakeSlack) -> None:
    _two_cases(engine)
    settings = SlackSettings(bot_token="xoxb-test", base_url=f"{slack.url}/api/", max_attempts=2)
    notify.enqueue_notifications(engine, EngagementSettings(slack=settings), NOW)
    slack.script = [
        Scripted(200, {"ok": False, "error": "channel_not_found"}),
        Scripted(500, {"ok": False}),
    ]
    assert deliver_with(engine, settings, NOW) == {"failed": 1, "retry": 1, "sent": 0}
    failed = next(r for r in _outbox(engine) if r.status == "failed")
    assert "channel_not_found" in (failed.last_error or "")
    slack.script = [Scripted(502, "bad gateway")]
    assert deliver_with(engine, settings, NOW + timedelta(hours=2)) == {
        "failed": 1,
        "retry": 0,
        "sent": 0,
    }
    assert all(r.status == "failed" for r in _outbox(engine))
    assert "gave up after 2 attempts" in (_outbox(engine)[-1].last_error or "")
    assert deliver_with(engine, settings, NOW + timedelta(hours=9))["failed"] == 0


def test_incoming_webhook(engine: Engine, slack: FakeSlack) -> None:
    _two_cases(engine)
    settings = SlackSettings(webhook_url=f"{slack.url}/hooks/T0/B0/x")
    notify.enqueue_notifications(engine, EngagementSettings(slack=settings), NOW)
    slack.script = [Scripted(429, "rate_limited", {"Retry-After": "3"})]
    assert deliver_with(engine, settings, NOW) == {"retry": 1, "sent": 1, "failed": 0}
    assert deliver_with(engine, settings, NOW + timedelta(seconds=4))["sent"] == 1
    assert {r["path"] for r in slack.requests} == {"/hooks/T0/B0/x"}
    assert WebhookTransport(f"{slack.url}/hooks/x").send({"text": "hi"}).ok
