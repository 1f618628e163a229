"""Lanes with a real worker on PostgreSQL: a Slack that answers slowly never delays scoring.

The worker's shared work is the real Slack delivery (``ops_slack:deliver``, through the
local Slack-like server answering in 2 s) and the real claimed scoring with an instant model
(``ops_score:score``). Posts dropped while a long notify run is under way must be scored
while that run still sends: each shared step has its own lane, and a notify run stops at its
time budget and yields. (One thread used to run notify, then score: 300 posts were still not
all scored three minutes after they arrived, with 281 messages pending.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from ops_procs import WorkerProcess, json_counts, outbox_status, wait_for
from slack_server import FakeSlack, fake_slack
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Outbox, Post, Score
from db.types import utcnow

pytestmark = [pytest.mark.timeout(120), pytest.mark.postgres]
SCHEDULER = "engagebot.ops.scheduler"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack(delay=2.0) as server:
        yield server


def scored(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count(func.distinct(col(Score.post_id))))).scalar_one())


def test_posts_are_scored_while_a_slow_slack_holds_the_notify_lane(
    pg_engine: Engine, pg_url: str, slack: FakeSlack, start_worker: Callable[..., WorkerProcess]
) -> None:
    messages, posts = 30, 40  # 30 messages at 2 s each: a minute of sending
    with session_scope(pg_engine) as session:
        session.add_all(
            Outbox(channel="slack", kind="new_case", dedupe_key=f"case:{i}", payload={"channel": "#care", "text": "x"})
            for i in range(messages)
        )
    prefix = "ENGAGEBOT_ENGAGEMENT__SLACK__"
    env = {
        f"{prefix}BOT_TOKEN": "xoxb-test",
        f"{prefix}BASE_URL": f"{slack.url}/api/",
        f"{prefix}TIMEOUT_SECONDS": "5",
        f"{prefix}SEND_LEASE_SECONDS": "10",
        "ENGAGEBOT_OPS__NOTIFY_BUDGET_SECONDS": "8",
    }
    worker = start_worker(pg_url, shared_work=["ops_slack:deliver", "ops_score:score"], env_extra=env)
    wait_for(lambda: len(slack.messages()) >= 2, timeout=60, what="the notify run to be sending")

    with session_scope(pg_engine) as session:
        session.add_all(
            Post(platform="x", external_id=f"p{i}", source="test", text=f"post {i}", created_at=utcnow())
            for i in range(posts)
        )
    dropped = time.monotonic()
    wait_for(lambda: scored(pg_engine) == posts, timeout=30, what="every post dropped mid-notify scored")
    waited = time.monotonic() - dropped
    pending = outbox_status(pg_engine).get("pending", 0)
    print(f"{posts} posts scored {waited:.1f}s after they were dropped; {pending} messages still pending")
    assert pending > 0, "scored while notify was still sending: it did not wait for the notify lane"

    # the notify lane yields at its budget and goes on: every message still goes out once
    wait_for(lambda: json_counts(worker, "yielded", logger=SCHEDULER) >= 1, timeout=30, what="a run to yield")
    wait_for(lambda: outbox_status(pg_engine) == {"sent": messages}, timeout=90, what="every message sent")
    keys = [m["metadata"]["event_payload"]["dedupe_key"] for m in slack.messages()]
    assert sorted(keys) == sorted(f"case:{i}" for i in range(messages))
