"""Slack delivery exactly once with real worker processes on PostgreSQL and a slow Slack.

The local Slack-like server (``tests/engagement/slack_server.py``) posts each message into
its channel history when the request arrives and answers ``delay`` seconds later, so
workers spend most of their time inside a send: where duplicates used to come from
(a long batch outliving its claim) and where a ``kill -9`` leaves an outcome unknown.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from ops_procs import WorkerProcess, json_counts, outbox_status, wait_for
from slack_server import FakeSlack, fake_slack
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Outbox

SLACK_TASK = "ops_slack:deliver"
SCHEDULER = "engagebot.ops.scheduler"  # its "done" line carries the counts the step returned
pytestmark = [pytest.mark.timeout(120), pytest.mark.postgres]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as server:
        yield server


def slack_env(slack: FakeSlack, *, timeout: int, lease: float) -> dict[str, str]:
    prefix = "ENGAGEBOT_ENGAGEMENT__SLACK__"
    return {
        f"{prefix}BOT_TOKEN": "xoxb-test",
        f"{prefix}BASE_URL": f"{slack.url}/api/",
        f"{prefix}TIMEOUT_SECONDS": str(timeout),
        f"{prefix}SEND_LEASE_SECONDS": str(lease),
    }


def add_messages(engine: Engine, n: int) -> list[str]:
    keys = [f"case:{i}:new_case" for i in range(n)]
    with session_scope(engine) as session:
        session.add_all(
            Outbox(channel="slack", kind="new_case", dedupe_key=key, payload={"channel": "#care", "text": f"case {i}"})
            for i, key in enumerate(keys)
        )
    return keys


def posted(slack: FakeSlack) -> Counter[str]:
    return Counter(m["metadata"]["event_payload"]["dedupe_key"] for m in slack.messages())


def senders(engine: Engine) -> Counter[int]:
    """Which worker process recorded each sent message (``claimed_by`` is host:pid:token)."""
    with session_scope(engine) as session:
        holders = session.scalars(select(col(Outbox.claimed_by)).where(col(Outbox.status) == "sent"))
        return Counter(int(str(holder).split(":")[1]) for holder in holders)


def test_two_workers_and_a_slow_slack_send_each_message_once(
    pg_engine: Engine, pg_url: str, slack: FakeSlack, start_worker: Callable[..., WorkerProcess]
) -> None:
    keys = add_messages(pg_engine, 20)
    slack.delay = 0.5
    env = slack_env(slack, timeout=2, lease=4)
    workers = [start_worker(pg_url, shared_work=[SLACK_TASK], env_extra=env) for _ in range(2)]
    wait_for(lambda: outbox_status(pg_engine) == {"sent": 20}, timeout=90, what="every message sent")
    assert posted(slack) == Counter(keys), "each message exactly once in the channel"
    by_worker = senders(pg_engine)
    assert set(by_worker) == {w.pid for w in workers} and sum(by_worker.values()) == 20, "both workers sent"
    with session_scope(pg_engine) as session:
        sent_at = list(session.scalars(select(col(Outbox.sent_at))))
    assert len(set(sent_at)) == 20, "each message records its own sent_at"


def test_kill_9_during_a_send_resends_nothing_that_arrived(
    pg_engine: Engine, pg_url: str, slack: FakeSlack, start_worker: Callable[..., WorkerProcess]
) -> None:
    keys = add_messages(pg_engine, 12)
    slack.delay = 1.0
    env = slack_env(slack, timeout=2, lease=4)
    victim = start_worker(pg_url, shared_work=[SLACK_TASK], env_extra=env)
    # the victim's third message is in the channel and Slack has not answered it yet
    wait_for(lambda: len(slack.messages()) == 3 and slack.in_flight == 1, timeout=60, what="a send in flight")
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    arrived = posted(slack)
    assert outbox_status(pg_engine) == {"sent": 2, "pending": 10}, "the third never recorded as sent"

    taker = start_worker(pg_url, shared_work=[SLACK_TASK], env_extra=env)
    wait_for(lambda: outbox_status(pg_engine) == {"sent": 12}, timeout=60, what="the rest delivered")
    assert posted(slack) == Counter(keys), "nothing that arrived was sent again, the rest arrived once"
    wait_for(
        lambda: json_counts(taker, "already_sent", logger=SCHEDULER) == 1,
        timeout=10,
        what="the taker's count in its log",
    )
    assert json_counts(taker, "sent", logger=SCHEDULER) == 12 - len(arrived)
    assert "had arrived before its sender stopped" in taker.text()
    with session_scope(pg_engine) as session:
        in_doubt = session.scalars(select(Outbox).where(col(Outbox.dedupe_key) == keys[2])).one()
    third = next(m for m in slack.messages() if m["metadata"]["event_payload"]["dedupe_key"] == keys[2])
    assert in_doubt.payload["ts"] == third["ts"], "recorded with the ts of the message that arrived"
