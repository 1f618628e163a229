"""Hostile text cannot mention channels or disguise links in any Slack payload we build.

Every builder is fed a stranger's post, customer name, agent name and error text holding
``<!channel>``, ``<!here>`` and a disguised link; every string in every payload (blocks and the
top-level fallback ``text``) is then checked: the only ``<`` left are the links and dates our
builders write themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import queue_factories as f
from queue_factories import NOW
from sqlalchemy import Engine, select
from test_notify_interactivity import SECRET, _signed

from db.engine import session_scope
from db.models import Outbox
from engagement import notify
from engagement.links import Links
from engagement.money import Money
from engagement.notify import blocks
from engagement.report.headline import Headline
from engagement.report.slack import summary_blocks, summary_text
from engagement.report.tables import Column, Table
from engagement.settings import EngagementSettings, SlackSettings
from engagement.slack_text import escape, link
from engagement.triage.cases import triage
from engagement.web import slack_actions

HOSTILE = "<!channel> <!here> <@U0ADMIN> <https://evil.example|click here> & <#C0SECRET>"
BASE = "https://care.example"
# what our own builders may write: a link to the app or the report, a Slack date, a quote mark
OURS = re.compile(r"<(?:https://care\.example/[^|<>]*\|[^<>]*|!date\^\d+\^[^|<>]*\|[^<>]*)>|^>", re.MULTILINE)


def _strings(value: Any, shown: bool = False) -> Iterator[str]:
    """Every string Slack renders: those under a ``text`` key at any depth (button values,
    action ids and URLs are not shown, and values must round-trip unchanged)."""
    if isinstance(value, str):
        if shown:
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, shown or key == "text")
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, shown)


def _assert_inert(payload: Any) -> None:
    texts = list(_strings(payload))
    assert texts, "nothing to check"
    for text in texts:
        left = OURS.sub("", text)
        assert "<" not in left and ">" not in left, f"unescaped markup in {text!r}"
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), f"bare & in {text!r}"


def test_escape_and_link() -> None:
    assert escape("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"
    assert escape(None) == "None"
    assert escape("<<<<", limit=9) == "&lt;&lt;"  # whole entities only
    assert link("https://x.example/a?b=1&c=2", "<!here>") == "<https://x.example/a?b=1&amp;c=2|&lt;!here&gt;>"
    assert link("https://x.example/a|b>c", "x") == "<https://x.example/a%7Cb&gt;c|x>"


def test_every_enqueued_payload_is_inert(engine: Engine) -> None:
    f.customer(engine, handle="ada", rclv=9000, name=HOSTILE)
    ada = f.author(engine, handle="ada")
    bob = f.author(engine, handle="bob", followers=50)
    f.post(engine, author_id=ada, text=HOSTILE + " outage outage")
    f.post(engine, author_id=bob, text="meh " + HOSTILE)
    f.user(engine, name=HOSTILE, team="default")
    triage(engine, EngagementSettings(), now=NOW)
    settings = EngagementSettings(
        public_url=BASE, slack=SlackSettings(spike_keywords=["outage"], spike_min_count=1, spike_ratio=0.1)
    )
    notify.enqueue_notifications(engine, settings, NOW)
    late = NOW.replace(year=NOW.year + 1)
    notify.enqueue_notifications(engine, settings, late)  # SLA breaches
    with session_scope(engine) as session:
        rows = list(session.execute(select(Outbox)).scalars())
    kinds = {row.kind for row in rows}
    assert {"new_case", "digest", "sla_breach"} <= kinds
    for row in rows:
        _assert_inert(row.payload)
    new_case = next(r for r in rows if r.kind == "new_case")
    assert "&lt;!channel&gt;" in new_case.payload["text"]  # the fallback carries the post, escaped
    assert "&lt;!channel&gt;" in json.dumps(new_case.payload["blocks"])


def test_each_builder_alone_is_inert() -> None:
    from db.models import Case

    case = Case(
        id=7,
        post_id=1,
        team=HOSTILE,
        tier=HOSTILE,
        platform=HOSTILE,
        priority=10.0,
        money_at_risk=100.0,
        claimed_by=HOSTILE,
        reasons={"why": HOSTILE, "clv": 1.0, "rclv": 2.0},
        sla_due_at=NOW,
        status="open",
    )
    links, money = Links(BASE), Money()
    item = blocks.Listed(case=case, customer=HOSTILE, text=HOSTILE)
    queue_url = links.queue(team=HOSTILE)
    built = [
        blocks.case_blocks(
            case, text=HOSTILE, customer=HOSTILE, links=links, money=money, now=NOW, agents=[HOSTILE], title=HOSTILE
        ),
        blocks.digest_blocks(
            title=HOSTILE, listed=[item], total=3, total_money=100.0, overdue=1, queue_url=queue_url,
            links=links, money=money, now=NOW,
        ),
        blocks.breach_blocks(
            team=HOSTILE, listed=[item], total=1, total_money=100.0, mention=None, queue_url=queue_url,
            links=links, money=money, now=NOW,
        ),
        blocks.spike_blocks(
            kind=HOSTILE, name=HOSTILE, count=5, baseline=1.0, window_hours=1.0,
            examples=[blocks.Example(text=HOSTILE, author=HOSTILE)],
        ),
        blocks.taken_blocks([], HOSTILE),
    ]  # fmt: skip
    for payload in built:
        _assert_inert(payload)


def test_weekly_summary_is_inert() -> None:
    headline = Headline(
        week="2026-W10", span="", partial=False, posts=10, posts_last_week=5, negative=3,
        negative_share=0.3, negative_share_last_week=0.2, cases=2, money_at_risk=100.0,
        unanswered_money=50.0, unanswered_cases=1, unanswered_high_value_cases=1,
        answered_money_share=0.5, median_response_hours=1.0, p90_response_hours=2.0,
        sla_hit_rate=0.9, linked_share=0.5, negative_customers=1, negative_high_value_customers=1,
    )  # fmt: skip
    top = Table(
        key="top",
        title="top",
        columns=[Column("case", "Case")],
        rows=[{"case": 7, "url": f"{BASE}/cases/7", "customer": HOSTILE, "tier": HOSTILE,
               "money_at_risk": 10.0, "waiting_hours": 2.0}],
    )  # fmt: skip
    euro = Money("EUR", "de_DE")
    _assert_inert(summary_blocks(headline, top, euro, f"{BASE}/reports/2026-W10"))
    _assert_inert({"text": summary_text(headline, euro, f"{BASE}/reports/2026-W10?a=1&b=2")})


def _act(engine: Engine, settings: EngagementSettings, action: str, value: str, user: str, trigger: str) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user},
        "trigger_id": trigger,
        "response_url": "http://127.0.0.1:9/none",
        "message": {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "case"}}]},
        "actions": [{"action_id": action, "value": value, "selected_option": {"value": value}, "action_ts": "1"}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    result = slack_actions.handle_interaction(
        engine, settings, body=body, headers=_signed(body, at=NOW.timestamp()), now=NOW
    )
    assert result.status_code == 200


def test_interaction_responses_are_inert(engine: Engine) -> None:
    author = f.author(engine, handle="ada")
    f.post(engine, author_id=author, text=HOSTILE)
    triage(engine, EngagementSettings(), now=NOW)
    f.user(engine, name=HOSTILE, role="lead")  # a person's name is text a stranger may have chosen
    f.user(engine, name="amy", role="lead")
    f.user(engine, name="bob", role="agent")
    members = {"UAMY": "amy", "UHOSTILE": HOSTILE, "UBOB": "bob"}
    settings = EngagementSettings(slack=SlackSettings(signing_secret=SECRET, user_map=members))
    _act(engine, settings, "case_assign", "1:" + HOSTILE, "UAMY", "t-1")  # the note names the assignee
    _act(engine, settings, "case_claim", "1", "UHOSTILE", "t-2")  # the note names the agent
    _act(engine, settings, "case_claim", "1", "UBOB", "t-3")  # the error names the holder
    _act(engine, settings, "case_snooze", "1", "UNKNOWN", "t-4")  # not a user: refused
    with session_scope(engine) as session:
        rows = [r for r in session.execute(select(Outbox)).scalars() if r.kind == "update"]
    assert len(rows) == 4
    assert sum("&lt;!channel&gt;" in r.payload["text"] for r in rows) >= 2
    for row in rows:
        _assert_inert({k: v for k, v in row.payload.items() if k in ("text", "blocks")})
