"""Issue 25 in Slack: every message says when engagebot is in dry run, and a post's
bidirectional-override characters cannot reorder what a card shows."""

from __future__ import annotations

import json

import queue_factories as f
from queue_factories import NOW
from sqlalchemy import Engine
from sqlmodel import col, select

from db.engine import session_scope
from db.models import Outbox
from engagement import notify
from engagement.notify.blocks import DRY_RUN_FOOTER, with_dry_run_footer
from engagement.settings import EngagementSettings, ReplySettings, SlackSettings
from engagement.slack_text import escape
from engagement.triage.cases import triage

RLO = "\u202e"


def _payloads(engine: Engine) -> list[dict[str, object]]:
    with session_scope(engine) as session:
        return [row.payload for row in session.exec(select(Outbox).order_by(col(Outbox.id))).all()]


def _cases(engine: Engine) -> None:
    f.customer(engine, handle="ada", rclv=9000, name="Ada Lovelace")
    ada = f.author(engine, handle="ada")
    bob = f.author(engine, handle="bob", followers=50)
    f.post(engine, author_id=ada, text=f"You lost my bag, refund {RLO}0001$ now")
    f.post(engine, author_id=bob, text="meh, delayed again")
    triage(engine, EngagementSettings(), now=NOW)


def _settings(*, dry_run: bool) -> EngagementSettings:
    return EngagementSettings(
        slack=SlackSettings(team_channels={"default": "#care"}, lead_channel="#leads"),
        replies=ReplySettings(dry_run=dry_run),
    )


def test_every_slack_message_says_dry_run_and_no_post_reorders_it(sqlite_engine: Engine) -> None:
    _cases(sqlite_engine)
    counts = notify.enqueue_notifications(sqlite_engine, _settings(dry_run=True), NOW)
    assert counts["new_case"] == 1 and counts["digest"] == 1
    payloads = _payloads(sqlite_engine)
    for payload in payloads:
        blocks = payload["blocks"]
        assert isinstance(blocks, list)
        assert blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": f"_{DRY_RUN_FOOTER}_"}]}
    card = json.dumps(payloads, ensure_ascii=False)
    assert RLO not in card and "refund 0001$ now" in card  # the text reads in its stored order


def test_no_footer_when_replies_are_posted(sqlite_engine: Engine) -> None:
    _cases(sqlite_engine)
    notify.enqueue_notifications(sqlite_engine, _settings(dry_run=False), NOW)
    payloads = _payloads(sqlite_engine)
    assert payloads and DRY_RUN_FOOTER not in json.dumps(payloads)


def test_the_footer_fits_slacks_block_limit_and_plain_text_messages() -> None:
    full = {"blocks": [{"type": "divider"}] * 50, "text": "x"}
    footed = with_dry_run_footer(full, dry_run=True)
    assert len(footed["blocks"]) == 50 and DRY_RUN_FOOTER in json.dumps(footed["blocks"][-1])
    assert with_dry_run_footer({"text": "hi"}, dry_run=True)["text"] == f"hi\n_{DRY_RUN_FOOTER}_"
    assert with_dry_run_footer(full, dry_run=False) is full


def test_escape_removes_bidi_controls_and_keeps_right_to_left_marks() -> None:
    assert escape(f"a{RLO}<b>\u2066c\u2069") == "a&lt;b&gt;c"
    assert escape("שלום\u200f!") == "שלום\u200f!"
    assert escape(f"{RLO}" * 10 + "abcdef", limit=3) == "abc"
