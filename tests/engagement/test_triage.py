"""Triage on both backends: which posts become cases, merging, closing, idempotency, value."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import queue_factories as f
from queue_factories import NOW
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import AuditEvent, Case, CasePost, Score
from engagement import queue
from engagement.settings import EngagementSettings, RoutingRule, RoutingSettings
from engagement.triage.cases import triage


def _cases(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        rows = session.execute(select(Case).order_by(Case.id)).scalars().all()  # type: ignore[arg-type]
        return [queue.case_to_dict(c) for c in rows]


def test_only_negative_unanswered_recent_posts_become_cases(engine: Engine) -> None:
    ada = f.author(engine, handle="ada")
    brand = f.author(engine, handle="acme", is_brand=True)
    keep = f.post(engine, author_id=ada, text="my bag is lost", conversation_id="t1")
    f.post(engine, author_id=ada, text="great crew", p_negative=0.1, conversation_id="t2")
    f.post(
        engine,
        author_id=ada,
        text="old complaint",
        created_at=NOW - timedelta(days=10),
        conversation_id="t3",
    )
    f.post(
        engine,
        author_id=ada,
        text="no entiendo",
        label="unsupported_language",
        p_negative=0.99,
        conversation_id="t4",
    )
    f.post(engine, author_id=ada, text="not scored yet", p_negative=None, conversation_id="t5")
    f.post(
        engine,
        author_id=ada,
        text="delayed again",
        conversation_id="t6",
        created_at=NOW - timedelta(hours=2),
    )
    f.post(
        engine,
        author_id=brand,
        text="sorry, DM us",
        conversation_id="t6",
        is_brand=True,
        created_at=NOW - timedelta(hours=1),
    )
    counts = triage(engine, EngagementSettings(), now=NOW)
    cases = _cases(engine)
    assert [c["post_id"] for c in cases] == [keep]
    assert counts["created"] == 1 and counts["unsupported_language"] == 1 and counts["answered"] == 1
    # the positive and the unscored post can never open a case: passed over before loading them
    assert (counts["in_window"], counts["considered"], counts["passed_over"]) == (5, 3, 2)


def test_same_author_and_thread_merge_and_rerun_changes_nothing(engine: Engine) -> None:
    ada = f.author(engine, handle="ada")
    bob = f.author(engine, handle="bob")
    f.post(
        engine,
        author_id=ada,
        text="flight cancelled",
        conversation_id="c1",
        created_at=NOW - timedelta(hours=3),
    )
    f.post(
        engine,
        author_id=ada,
        text="still no answer",
        conversation_id="c1",
        created_at=NOW - timedelta(hours=1),
    )
    f.post(engine, author_id=bob, text="me too, cancelled", conversation_id="c1")
    settings = EngagementSettings()
    assert triage(engine, settings, now=NOW)["created"] == 2
    before = _cases(engine)
    again = triage(engine, settings, now=NOW)
    assert again["created"] == again["merged"] == again["updated"] == 0
    assert _cases(engine) == before
    with session_scope(engine) as session:
        assert len(session.execute(select(CasePost)).all()) == 3
    f.post(engine, author_id=ada, text="hello??", conversation_id="c1", created_at=NOW)
    later = triage(engine, settings, now=NOW + timedelta(minutes=5))
    assert later["merged"] == 1 and later["created"] == 0
    ada_case = next(
        c for c in _cases(engine) if c["reasons"]["value_source"] == "reach" and c["post_id"] == before[0]["post_id"]
    )
    with session_scope(engine) as session:
        assert len(queue.case_posts(session, ada_case["id"])) == 3


def test_brand_reply_closes_and_a_new_complaint_reopens(engine: Engine) -> None:
    ada = f.author(engine, handle="ada")
    brand = f.author(engine, handle="acme", is_brand=True)
    f.post(
        engine,
        author_id=ada,
        text="lost my luggage",
        conversation_id="c9",
        created_at=NOW - timedelta(hours=2),
    )
    settings = EngagementSettings()
    triage(engine, settings, now=NOW)
    f.post(
        engine,
        author_id=brand,
        text="we're on it",
        conversation_id="c9",
        is_brand=True,
        created_at=NOW,
    )
    counts = triage(engine, settings, now=NOW + timedelta(minutes=10))
    assert counts["closed"] == 1
    [case] = _cases(engine)
    assert case["status"] == "closed" and case["close_reason"] == "brand_replied"
    f.post(
        engine,
        author_id=ada,
        text="it's been a day, still nothing",
        conversation_id="c9",
        created_at=NOW + timedelta(hours=1),
    )
    reopened = triage(engine, settings, now=NOW + timedelta(hours=1, minutes=5))
    assert reopened["reopened"] == 1
    [case] = _cases(engine)
    assert case["status"] == "open"
    with session_scope(engine) as session:
        actions = [e.action for e in queue.case_audit(session, case["id"])]
    assert actions == ["opened", "closed", "reopened"]


def test_newest_score_wins_and_reviews_use_stars(engine: Engine) -> None:
    ada = f.author(engine, handle="ada")
    changed = f.post(
        engine,
        author_id=ada,
        text="hmm",
        p_negative=0.9,
        conversation_id="a",
        scored_at=NOW - timedelta(hours=1),
    )
    with session_scope(engine) as session:
        session.add(
            Score(
                post_id=changed,
                model_id="newer-model",
                label="positive",
                p_negative=0.05,
                p_neutral=0.05,
                p_positive=0.9,
                scored_at=NOW - timedelta(minutes=5),
            )
        )
    one_star = f.post(engine, author_id=ada, text="ok I guess", p_negative=0.3, rating=1, platform="appstore")
    f.post(
        engine,
        author_id=ada,
        text="annoying but fine",
        p_negative=0.6,
        rating=5,
        platform="appstore",
    )
    triage(engine, EngagementSettings(), now=NOW)
    cases = _cases(engine)
    assert [c["post_id"] for c in cases] == [one_star]
    assert cases[0]["reasons"]["rating"] == 1 and cases[0]["reasons"]["p_negative"] > 0.5


def test_valuable_customers_come_first_with_tier_team_and_sla(engine: Engine) -> None:
    for i in range(40):  # a customer base for the tiers: rCLV 100..4000
        f.customer(engine, handle=f"c{i}", rclv=100.0 * (i + 1), name=f"Cust {i}")
    vip = f.author(engine, handle="c39")  # the most valuable customer
    nobody = f.author(engine, handle="stranger", followers=1_000_000)
    f.post(engine, author_id=nobody, text="terrible service")
    vip_post = f.post(engine, author_id=vip, text="terrible service", created_at=NOW - timedelta(minutes=30))
    settings = EngagementSettings(
        routing=RoutingSettings(rules=[RoutingRule(name="vip", team="vip-desk", tiers=["top"])])
    )
    triage(engine, settings, now=NOW)
    first, second = _cases(engine)[0], _cases(engine)[1]
    with session_scope(engine) as session:
        ordered = queue.list_cases(session)
    assert ordered[0].post_id == vip_post
    vip_case = next(c for c in (first, second) if c["post_id"] == vip_post)
    assert vip_case["tier"] == "top" and vip_case["team"] == "vip-desk"
    assert vip_case["reasons"]["rclv"] == 4000 and vip_case["reasons"]["rule"] == "vip"
    assert vip_case["sla_due_at"] == (NOW - timedelta(minutes=30) + timedelta(hours=1)).isoformat()
    other = next(c for c in (first, second) if c["post_id"] != vip_post)
    assert other["tier"] == "unlinked" and other["team"] == "default"
    assert other["reasons"]["reach_value"] == 5000  # capped


def test_auto_assign_round_robin_with_capacity_and_away(engine: Engine) -> None:
    f.user(engine, name="amy")
    f.user(engine, name="ben")
    f.user(engine, name="cat", is_away=True)
    for i in range(5):
        author = f.author(engine, handle=f"u{i}")
        f.post(engine, author_id=author, text="awful")
    settings = EngagementSettings(routing=RoutingSettings(auto_assign=True, agent_capacity=2))
    triage(engine, settings, now=NOW)
    assignees = [c["assignee"] for c in _cases(engine)]
    assert sorted(a for a in assignees if a) == ["amy", "amy", "ben", "ben"]
    assert assignees.count(None) == 1  # everyone at capacity
    with session_scope(engine) as session:
        opened = session.execute(select(AuditEvent).where(AuditEvent.action == "opened")).scalars().all()  # type: ignore[arg-type]
        assert len(opened) == 5
