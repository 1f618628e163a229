"""Queue operations on both backends: leases, claim rules, audit,
reply/dismiss/escalate/reassign."""

from __future__ import annotations

from datetime import timedelta

import pytest
import queue_factories as f
from queue_factories import NOW
from sqlalchemy import Engine

from db.engine import session_scope
from engagement import queue
from engagement.queue import replies
from engagement.queue.platforms.base import PermanentPostError, ReplyTarget
from engagement.settings import EngagementSettings, ReplySettings
from engagement.triage.cases import triage


def _three_cases(engine: Engine) -> list[int]:
    """Three open cases of team 'default' with rising priority (followers)."""
    for i, followers in enumerate((100, 10_000, 100_000)):
        author = f.author(engine, handle=f"a{i}", followers=followers)
        f.post(engine, author_id=author, text=f"complaint {i}")
    triage(engine, EngagementSettings(), now=NOW)
    with session_scope(engine) as session:
        return [c.id for c in queue.list_cases(session) if c.id is not None]


def test_next_claims_highest_priority_and_leases_expire(engine: Engine) -> None:
    high, mid, low = _three_cases(engine)
    first = queue.claim_next(engine, actor=f.person("amy"), team="default", now=NOW)
    assert first is not None and first.id == high and first.claimed_by == "amy"
    second = queue.claim_next(engine, actor=f.person("ben"), team="default", now=NOW)
    assert second is not None and second.id == mid
    assert queue.claim_next(engine, actor=f.person("cy", team="other-team"), team="other-team", now=NOW) is None
    with pytest.raises(queue.AlreadyClaimed, match="claimed by amy"):
        queue.claim(engine, high, actor=f.person("ben"), now=NOW + timedelta(minutes=5))
    # amy's lease runs out: the case comes back, to the highest-priority slot
    later = NOW + timedelta(minutes=queue.DEFAULT_LEASE_MINUTES + 1)
    back = queue.claim_next(engine, actor=f.person("cy"), team="default", now=later)
    assert back is not None and back.id == high and back.claimed_by == "cy"
    with session_scope(engine) as session:
        trail = [(e.actor, e.action) for e in queue.case_audit(session, high)]
    assert trail == [("triage", "opened"), ("amy", "claimed"), ("cy", "claimed")]
    assert low is not None


def test_release_dismiss_escalate_reassign_snooze(engine: Engine) -> None:
    high, mid, low = _three_cases(engine)
    queue.claim(engine, high, actor=f.person("amy"), now=NOW)
    with pytest.raises(queue.NotClaimant):
        queue.release(engine, high, actor=f.person("ben"), now=NOW)
    released = queue.release(engine, high, actor=f.person("amy"), now=NOW)
    assert released.status == "open" and released.claimed_by is None
    with pytest.raises(queue.QueueError, match="needs a reason"):
        queue.dismiss(engine, mid, actor=f.person("amy"), reason=" ", now=NOW)
    assert queue.dismiss(engine, mid, actor=f.person("amy"), reason="spam", now=NOW).status == "dismissed"
    with pytest.raises(queue.InvalidTransition):
        queue.claim(engine, mid, actor=f.person("amy"), now=NOW)
    assert queue.escalate(engine, low, actor=f.person("amy"), reason="legal threat", now=NOW).status == "escalated"
    assert queue.claim(engine, low, actor=f.person("lead"), now=NOW).status == "claimed"  # a lead picks it up
    moved = queue.reassign(engine, low, actor=f.person("lead"), to=f.person("ben"), team="billing", now=NOW)
    assert (moved.status, moved.assignee, moved.team) == ("open", "ben", "billing")
    billing_amy, billing_ben = f.person("amy", team="billing"), f.person("ben", team="billing")
    assert queue.claim_next(engine, actor=billing_amy, team="billing", now=NOW) is None  # assigned to ben
    assert queue.claim_next(engine, actor=billing_ben, team="billing", now=NOW) is not None
    with pytest.raises(queue.NotAllowed, match="own team"):
        queue.claim_next(engine, actor=f.person("amy"), team="billing", now=NOW)
    queue.snooze(engine, high, actor=f.person("amy"), minutes=30, now=NOW)
    assert queue.claim_next(engine, actor=f.person("amy"), team="default", now=NOW) is None
    assert queue.claim_next(engine, actor=f.person("amy"), team="default", now=NOW + timedelta(minutes=31)) is not None
    with pytest.raises(queue.CaseNotFound):
        queue.claim(engine, 999_999, actor=f.person("amy"), now=NOW)
    with session_scope(engine) as session:
        actions = {e.action for cid in (high, mid, low) for e in queue.case_audit(session, cid)}
    assert {"released", "dismissed", "escalated", "reassigned", "snoozed", "claimed"} <= actions


def test_reply_is_dry_run_by_default_and_needs_the_claim(engine: Engine) -> None:
    high, *_ = _three_cases(engine)
    settings = ReplySettings()
    queue.claim(engine, high, actor=f.person("ben"), now=NOW)
    with pytest.raises(queue.AlreadyClaimed, match="claimed by ben"):
        queue.reply(engine, high, actor=f.person("amy"), text="Sorry!", settings=settings, now=NOW)
    with pytest.raises(queue.AlreadyClaimed, match="take it over first"):  # a lead too, unless taking over
        queue.reply(engine, high, actor=f.person("lena"), text="Sorry!", settings=settings, now=NOW)
    queue.release(engine, high, actor=f.person("ben"), now=NOW)
    # a free case of my team: the reply claims it first (audited), then goes out
    reply = queue.reply(
        engine,
        high,
        actor=f.person("amy"),
        text="Sorry {first_name}, case {case_id}",
        settings=settings,
        now=NOW,
    )
    # dry run (the default): nothing reached the platform, so the case is not "replied"
    assert reply.status == "not_sent" and reply.platform_reply_id is None
    assert reply.error == "dry_run setting is on"
    assert reply.text == f"Sorry A2, case {high}"  # no customer: the display name's first word
    with session_scope(engine) as session:
        case = queue.get_case(session, high)
        assert case.status == "claimed" and case.claimed_by == "amy" and case.close_reason is None
        assert case.last_error == f"reply {reply.id} not sent: dry_run setting is on"
        detail = queue.case_detail(session, high)
    assert detail["replies"][0]["status"] == "not_sent"
    assert [a["action"] for a in detail["audit"]][-3:] == ["claimed", "reply_submitted", "reply_not_sent"]
    # a reply that was not sent is no answer: the case stays in the queue on the next triage run
    triage(engine, EngagementSettings(), now=NOW + timedelta(minutes=1))
    with session_scope(engine) as session:
        assert queue.get_case(session, high).status in queue.ACTIVE_STATUSES


def test_templates_and_approval_above_a_tier(engine: Engine) -> None:
    f.customer(engine, handle="ada", rclv=5000, name="Ada Lovelace")
    ada = f.author(engine, handle="ada")
    f.post(engine, author_id=ada, text="you lost my bag")
    triage(engine, EngagementSettings(), now=NOW)
    with session_scope(engine) as session:
        [case] = queue.list_cases(session)
    assert case.tier == "top" and case.id is not None
    settings = ReplySettings(approval_tiers=["top"], templates={"sorry": "Hi {first_name}, we're on it ({case_id})."})
    queue.claim(engine, case.id, actor=f.person("amy"), now=NOW)
    with pytest.raises(queue.QueueError, match="unknown saved reply 'nope'"):
        queue.reply(engine, case.id, actor=f.person("amy"), text="", template="nope", settings=settings, now=NOW)
    waiting = queue.reply(engine, case.id, actor=f.person("amy"), text="", template="sorry", settings=settings, now=NOW)
    assert waiting.status == "pending_approval" and waiting.text == f"Hi Ada, we're on it ({case.id})."
    assert waiting.id is not None
    with pytest.raises(queue.NotAllowed):
        queue.approve_reply(engine, waiting.id, actor=f.person("amy", role="agent"), settings=settings, now=NOW)
    rejected = queue.reject_reply(engine, waiting.id, actor=f.person("lena"), reason="too casual", now=NOW)
    assert rejected.status == "rejected"
    second = queue.reply(engine, case.id, actor=f.person("amy"), text="Dear {name}, sorry.", settings=settings, now=NOW)
    assert second.id is not None
    sent = queue.approve_reply(engine, second.id, actor=f.person("lena"), settings=settings, now=NOW)
    assert sent.status == "not_sent" and sent.approved_by == "lena"
    with session_scope(engine) as session:
        actions = [e.action for e in queue.case_audit(session, case.id)]
    assert actions.count("reply_rejected") == 1 and actions.count("reply_approved") == 1


def test_list_filters_and_json_shape(engine: Engine) -> None:
    _three_cases(engine)
    with session_scope(engine) as session:
        assert queue.count_cases(session) == 3
        assert len(queue.list_cases(session, search="COMPLAINT 1")) == 1
        assert queue.list_cases(session, platform="reddit") == []
        assert len(queue.list_cases(session, tier="unlinked", lang="en", limit=2)) == 2
        assert len(queue.list_cases(session, status=None, offset=2)) == 1
        data = queue.case_to_dict(queue.list_cases(session)[0])
    assert data["id"] and data["why"] and data["reasons"]["money_at_risk"] == data["money_at_risk"]


class _RefusingPoster:
    """A live platform that refuses every reply (a deleted post, a suspended account)."""

    platform = "x"
    dry_run = False

    def post_reply(self, target: ReplyTarget, text: str) -> str:
        raise PermanentPostError("403 Forbidden: you cannot reply to this post")

    def find_existing(self, target: ReplyTarget, text: str) -> str | None:
        return None


def test_approval_and_rejection_hand_the_case_back_with_the_configured_lease(engine: Engine) -> None:
    """Approving used to leave the case claimed with no expiry when the send then failed (never
    handed out again), and rejecting used a fixed 15 minutes."""
    f.customer(engine, handle="ada", rclv=5000, name="Ada Lovelace")
    f.post(engine, author_id=f.author(engine, handle="ada"), text="you lost my bag")
    triage(engine, EngagementSettings(), now=NOW)
    with session_scope(engine) as session:
        [case] = queue.list_cases(session)
    assert case.id is not None
    settings = ReplySettings(approval_tiers=["top"])
    waiting = queue.reply(engine, case.id, actor=f.person("amy"), text="Sorry!", settings=settings, now=NOW)
    assert waiting.id is not None and waiting.status == "pending_approval"
    queue.reject_reply(engine, waiting.id, actor=f.person("lena"), reason="warmer", now=NOW, lease_minutes=40)
    with session_scope(engine) as session:
        back = queue.get_case(session, case.id)
    assert (back.status, back.claimed_by, back.claim_expires_at) == ("claimed", "amy", NOW + timedelta(minutes=40))
    second = queue.reply(engine, case.id, actor=f.person("amy"), text="So sorry!", settings=settings, now=NOW)
    assert second.id is not None
    failed = replies.approve(
        engine,
        second.id,
        actor=f.person("lena"),
        settings=settings,
        now=NOW,
        lease_minutes=25,
        poster_factory=lambda platform, s: _RefusingPoster(),
    )
    assert failed.status == "failed"
    with session_scope(engine) as session:
        after = queue.get_case(session, case.id)
    assert (after.status, after.claimed_by) == ("claimed", "amy")
    assert after.claim_expires_at == NOW + timedelta(minutes=25) and "403 Forbidden" in (after.last_error or "")
    # when the lease ends the case is handed out again
    later = NOW + timedelta(minutes=26)
    again = queue.claim_next(engine, actor=f.person("ben"), team="default", now=later)
    assert again is not None and again.id == case.id and again.claimed_by == "ben"
