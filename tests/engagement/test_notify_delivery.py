"""Slack delivery exactly once: one claim per message, its own sent_at, doubts checked in Slack.

The outbox rows are written directly (the shapes ``enqueue`` writes: channel, text, blocks),
so these tests pin the delivery contract whatever is enqueued.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from queue_factories import NOW
from slack_server import FakeSlack, Scripted, fake_slack
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import Outbox
from engagement.notify.deliver import deliver_pending
from engagement.notify.transport import EVENT_TYPE, SentCheck, SinkTransport
from engagement.settings import SlackSettings


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as server:
        yield server


def add_messages(engine: Engine, n: int, *, channel: str = "#care", **fields: object) -> list[str]:
    keys = [f"case:{i}:new_case" for i in range(n)]
    with session_scope(engine) as session:
        session.add_all(
            Outbox(
                channel="slack",
                kind="new_case",
                dedupe_key=key,
                payload={"channel": channel, "text": f"New case #{i}"},
                next_attempt_at=NOW,
                **fields,
            )
            for i, key in enumerate(keys)
        )
    return keys


def rows(engine: Engine) -> list[Outbox]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))  # type: ignore[arg-type]


def api(slack: FakeSlack, **extra: object) -> SlackSettings:
    return SlackSettings(bot_token="xoxb-test", base_url=f"{slack.url}/api/", backoff_seconds=30, **extra)


def posted_keys(slack: FakeSlack) -> list[str]:
    return [m["metadata"]["event_payload"]["dedupe_key"] for m in slack.messages()]


def test_each_message_carries_its_key_and_records_its_own_sent_at(engine: Engine, slack: FakeSlack) -> None:
    keys = add_messages(engine, 3)
    slack.delay = 0.2
    assert deliver_pending(engine, api(slack), NOW) == {"sent": 3, "retry": 0, "failed": 0}
    assert posted_keys(slack) == keys
    assert {m["metadata"]["event_type"] for m in slack.messages()} == {EVENT_TYPE}
    sent = rows(engine)
    assert [r.status for r in sent] == ["sent"] * 3
    moments = [r.sent_at for r in sent]
    assert all(m is not None for m in moments)
    # one claim per message: each records when it was sent, 0.2 s of Slack apart at least
    assert all(later - earlier >= timedelta(seconds=0.2) for earlier, later in itertools.pairwise(moments))  # type: ignore[operator]
    assert [r.payload["ts"] for r in sent] == [m["ts"] for m in slack.messages()]
    assert all(r.attempt_started_at is None and r.claimed_by for r in sent)


def test_a_timeout_after_slack_posted_is_found_in_history_not_sent_again(engine: Engine, slack: FakeSlack) -> None:
    [key] = add_messages(engine, 1)
    slack.delay = 1.5  # longer than the client waits: the message is in the channel, we do not know
    settings = api(slack, timeout_seconds=1, send_lease_seconds=5)
    assert deliver_pending(engine, settings, NOW) == {"retry": 1, "sent": 0, "failed": 0}
    [row] = rows(engine)
    assert row.status == "pending" and row.attempt_started_at is not None, "in doubt"
    assert "could not reach Slack" in (row.last_error or "")
    slack.delay = 0
    later = NOW + timedelta(hours=1)
    assert deliver_pending(engine, settings, later) == {"already_sent": 1, "sent": 0, "retry": 0, "failed": 0}
    assert posted_keys(slack) == [key]
    [row] = rows(engine)
    assert row.status == "sent" and row.attempt_started_at is None
    assert row.payload["ts"] == slack.messages()[0]["ts"]
    history = [r for r in slack.requests if r["path"] == "/api/conversations.history"]
    assert len(history) == 1 and history[0]["body"]["include_all_metadata"] in ("1", "true", "True")
    # the channel was configured by name and the post never answered: its id is looked up once
    assert [r["path"] for r in slack.requests].count("/api/conversations.list") == 1


def test_a_sender_that_died_mid_send_is_checked_by_the_next(engine: Engine, slack: FakeSlack) -> None:
    """Two messages left in doubt by a dead sender: the one that arrived is not sent again."""
    add_messages(engine, 2, attempt_started_at=NOW - timedelta(minutes=1), claimed_by="dead:1:x")
    # the first had reached Slack before its sender died; the second had not
    slack.script = []
    arrived = {
        "channel": "#care",
        "text": "New case #0",
        "metadata": {"event_type": EVENT_TYPE, "event_payload": {"dedupe_key": "case:0:new_case"}},
    }
    slack.answer("/api/chat.postMessage", {}, json.dumps(arrived).encode())
    requests_before = len(slack.requests)
    counts = deliver_pending(engine, api(slack), NOW)
    assert counts == {"already_sent": 1, "sent": 1, "retry": 0, "failed": 0}
    assert Counter(posted_keys(slack)) == {"case:0:new_case": 1, "case:1:new_case": 1}
    paths = [r["path"] for r in slack.requests[requests_before:]]
    # a fresh sender knows no channel ids: it lists channels once, then reads history per doubt
    assert paths == [
        "/api/conversations.list",
        "/api/conversations.history",
        "/api/conversations.history",
        "/api/chat.postMessage",
    ]
    assert [r.status for r in rows(engine)] == ["sent", "sent"]


def test_history_that_cannot_be_read_now_leaves_the_message_in_doubt(engine: Engine, slack: FakeSlack) -> None:
    add_messages(engine, 1, channel="C0CARE0001", attempt_started_at=NOW - timedelta(minutes=1))
    slack.script = [Scripted(503, {"ok": False, "error": "service_unavailable"})]
    assert deliver_pending(engine, api(slack), NOW) == {"retry": 1, "sent": 0, "failed": 0}
    [row] = rows(engine)
    assert row.attempt_started_at is not None and "history" in (row.last_error or "")
    assert slack.messages() == [], "nothing sent while the doubt could not be cleared"


def test_a_claimed_message_is_skipped_until_its_lease_ends(engine: Engine, slack: FakeSlack) -> None:
    add_messages(engine, 2)
    with session_scope(engine) as session:
        held = session.scalars(select(Outbox).order_by(Outbox.id)).first()  # type: ignore[arg-type]
        assert held is not None
        held.claimed_by, held.attempt_started_at = "other:2:y", NOW
        held.next_attempt_at = NOW + timedelta(seconds=60)
    assert deliver_pending(engine, api(slack), NOW)["sent"] == 1
    assert posted_keys(slack) == ["case:1:new_case"]
    # the lease ended and its sender never came back: the next one looks, then sends
    assert deliver_pending(engine, api(slack), NOW + timedelta(seconds=61))["sent"] == 1
    assert Counter(posted_keys(slack)) == {"case:0:new_case": 1, "case:1:new_case": 1}


def test_webhook_cannot_look_so_it_sends_again(engine: Engine, slack: FakeSlack) -> None:
    """The documented limit: a webhook cannot read its channel, so a doubt means a re-send."""
    add_messages(engine, 1, attempt_started_at=NOW - timedelta(minutes=1))
    settings = SlackSettings(webhook_url=f"{slack.url}/hooks/T0/B0/x")
    assert deliver_pending(engine, settings, NOW)["sent"] == 1
    assert [r["path"] for r in slack.requests] == ["/hooks/T0/B0/x"]


def test_sink_never_writes_a_key_twice(engine: Engine, tmp_path: Path) -> None:
    sink = tmp_path / "out" / "slack.jsonl"
    keys = add_messages(engine, 3)
    # another sender (its own transport) wrote the first message, then died before recording it
    SinkTransport(sink).send({"dedupe_key": keys[0], "text": "New case #0"})
    with session_scope(engine) as session:
        first = session.scalars(select(Outbox).order_by(Outbox.id)).first()  # type: ignore[arg-type]
        assert first is not None
        first.attempt_started_at = NOW - timedelta(seconds=30)
    counts = deliver_pending(engine, SlackSettings(sink=str(sink)), NOW)
    assert counts == {"already_sent": 1, "sent": 2, "retry": 0, "failed": 0}
    # even a send of a key already there (a lost record) leaves one line
    assert SinkTransport(sink).send({"dedupe_key": keys[1], "text": "again"}).ok
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [line["dedupe_key"] for line in lines] == keys


def test_lease_must_outlast_a_call() -> None:
    with pytest.raises(ValueError, match="send_lease_seconds"):
        SlackSettings(timeout_seconds=30, send_lease_seconds=20)


def test_a_claim_lost_during_a_slow_look_up_is_not_sent(engine: Engine, tmp_path: Path) -> None:
    """The look-up outlived the lease and another sender took the message: this one must not send."""
    add_messages(engine, 1, attempt_started_at=NOW - timedelta(minutes=1))
    sink = tmp_path / "slack.jsonl"

    class SlowLookUp(SinkTransport):
        def find_sent(self, payload: dict[str, object], *, since: datetime) -> SentCheck:
            with session_scope(engine) as session:  # meanwhile, the lease ran out and another took it
                row = session.get(Outbox, payload["outbox_id"])
                assert row is not None
                row.claimed_by = "other:3:z"
            return super().find_sent(payload, since=since)

    counts = deliver_pending(engine, SlackSettings(sink=str(sink)), NOW, transport=SlowLookUp(sink))
    assert counts == {"lost": 1, "sent": 0, "retry": 0, "failed": 0}
    assert not sink.exists() or sink.read_text() == ""
    [row] = rows(engine)
    assert row.claimed_by == "other:3:z" and row.status == "pending"
