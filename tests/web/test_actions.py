"""Case actions through forms and the JSON API: the queue's rules, CSRF, roles, clear 4xx."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import col, select
from web_factories import Browser, Platform, seed

from db.engine import session_scope
from db.models import AuditEvent, Case, Identity, LabelCorrection, Reply, Score
from engagement.settings import EngagementSettings, ReplySettings
from engagement.web import create_app

Login = Callable[[str], Browser]


def queue_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-href="/cases/(\d+)"', html)]


@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
def test_next_reply_and_the_case_leaves_the_queue(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """An agent's day on both databases: next, reply (posted), the case leaves the queue."""
    ids = seed(engine)
    platform = Platform().install(monkeypatch)
    app = create_app(engine, EngagementSettings())
    ana, ben = Browser(app).login("ana@example.com"), Browser(app).login("ben@example.com")
    taken = ana.post("/queue/next")
    assert taken.status_code == 303 and taken.headers["location"] == f"/cases/{ids.cases['top']}"
    assert "You hold this case" in ana.get(taken.headers["location"]).text
    # Ben's next case skips Ana's claim.
    assert ben.post("/queue/next").headers["location"] == f"/cases/{ids.cases['hostile']}"
    assert "<strong>Ana</strong> is working on this case" in ben.get(f"/cases/{ids.cases['top']}").text
    sent = ana.post(f"/cases/{ids.cases['top']}/reply", {"text": "Sorry {first_name}, we are on it."})
    assert sent.status_code == 303 and sent.headers["location"] == "/queue"
    page = ana.get("/queue").text
    assert f"Reply to case {ids.cases['top']} posted." in page
    assert ids.cases["top"] not in queue_ids(page)
    assert [text for _, text, _ in platform.posted] == ["Sorry Zoë, we are on it."]
    with session_scope(engine) as session:
        reply = session.exec(select(Reply).where(col(Reply.case_id) == ids.cases["top"])).one()
        assert reply.status == "sent" and reply.author == "Ana" and reply.platform_reply_id == "x-reply-1"
        assert reply.text == "Sorry Zoë, we are on it."
        case = session.get(Case, ids.cases["top"])
        assert case is not None and case.status == "replied"


def test_every_action_needs_the_csrf_token(browser: Login, seeded: Any) -> None:
    ana = browser("ana@example.com")
    lead = browser("lea@example.com")
    case = seeded.cases["low"]
    for who, url, data in [
        (ana, "/queue/next", {}),
        (ana, f"/cases/{case}/claim", {}),
        (ana, f"/cases/{case}/release", {}),
        (ana, f"/cases/{case}/reply", {"text": "hi"}),
        (ana, f"/cases/{case}/dismiss", {"reason": "spam"}),
        (ana, f"/cases/{case}/escalate", {}),
        (lead, f"/cases/{case}/reassign", {"to": "Ben"}),
        (ana, f"/cases/{case}/label", {"post_id": seeded.posts["low"], "new_label": "neutral"}),
        (ana, f"/cases/{case}/decide-link", {"identity_id": seeded.identity_id, "decision": "confirm"}),
        (lead, "/replies/1/approve", {}),
    ]:
        missing = who.client.post(url, data=data, follow_redirects=False)
        forged = who.client.post(url, data={**data, "csrf_token": "forged"}, follow_redirects=False)
        assert missing.status_code == forged.status_code == 403, url
    with session_scope(ana.client.app.state.web.engine) as session:  # nothing happened
        assert session.exec(select(AuditEvent)).all() == []
        assert session.exec(select(LabelCorrection)).all() == []


def test_conflicts_and_wrong_states_are_4xx_with_the_reason(browser: Login, seeded: Any) -> None:
    ana, ben = browser("ana@example.com"), browser("ben@example.com")
    case = seeded.cases["low"]
    assert ana.post(f"/cases/{case}/claim").status_code == 303
    taken = ben.post(f"/cases/{case}/claim")
    assert taken.status_code == 409 and "claimed by Ana" in taken.text
    not_mine = ben.post(f"/cases/{case}/reply", {"text": "hello"})  # the policy: held by someone else
    assert not_mine.status_code == 409 and "Ana holds this case since" in not_mine.text
    assert ben.post(f"/cases/{case}/release").status_code == 403
    empty = ana.post(f"/cases/{case}/reply", {"text": "   "})
    assert empty.status_code == 422 and "write a reply" in empty.text
    assert ana.post(f"/cases/{case}/reply", {"template": "nope"}).status_code == 400
    assert ana.post(f"/cases/{case}/dismiss", {"reason": " "}).status_code == 422
    assert ana.post("/cases/424242/claim").status_code == 404
    assert ana.post(f"/cases/{case}/reply", {"text": "x" * 10_001}).status_code == 422
    assert ana.post(f"/cases/{case}/release").status_code == 303
    assert ana.post(f"/cases/{case}/dismiss", {"reason": "spam"}).status_code == 303
    again = ana.post(f"/cases/{case}/claim")
    assert again.status_code == 409 and "dismissed" in again.text


def test_template_reply_escalate_and_lead_only_reassign(browser: Login, seeded: Any) -> None:
    ana, lea = browser("ana@example.com"), browser("lea@example.com")
    top, hostile = seeded.cases["top"], seeded.cases["hostile"]
    ana.post(f"/cases/{top}/claim")
    assert ana.post(f"/cases/{top}/reply", {"template": "apology"}).status_code == 303
    assert ana.post(f"/cases/{hostile}/escalate", {"reason": "legal threat"}).status_code == 303
    denied = ana.post(f"/cases/{hostile}/reassign", {"to": "Ben"})
    assert denied.status_code == 403 and "lead or admin" in denied.text
    assert lea.post(f"/cases/{hostile}/reassign", {"to": "Nobody"}).status_code == 400
    assert lea.post(f"/cases/{hostile}/reassign", {"to": "Otto"}).status_code == 303
    with session_scope(lea.client.app.state.web.engine) as session:
        reply = session.exec(select(Reply).where(col(Reply.case_id) == top)).one()
        assert reply.text.startswith("Hi Zoë,") and f"case {top}" in reply.text
        moved = session.get(Case, hostile)
        assert moved is not None and moved.assignee == "Otto" and moved.team == "billing"
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()]
        assert "escalated" in actions and "reassigned" in actions


def test_label_correction_is_stored_and_becomes_the_newest_score(browser: Login, seeded: Any) -> None:
    ana = browser("ana@example.com")
    case, post = seeded.cases["low"], seeded.posts["low"]
    bad = ana.post(f"/cases/{case}/label", {"post_id": post, "new_label": "angry"})
    assert bad.status_code == 422 and "label: Input should be &#39;negative&#39;" in bad.text
    other = ana.post(f"/cases/{case}/label", {"post_id": 99999, "new_label": "neutral"})
    assert other.status_code == 403 and "not part of case" in other.text
    done = ana.post(f"/cases/{case}/label", {"post_id": post, "new_label": "neutral"})
    assert done.status_code == 303
    with session_scope(ana.client.app.state.web.engine) as session:
        correction = session.exec(select(LabelCorrection)).one()
        assert (
            correction.post_id,
            correction.old_label,
            correction.new_label,
            correction.corrected_by,
        ) == (post, "negative", "neutral", "Ana")
        newest = session.exec(
            select(Score).where(col(Score.post_id) == post).order_by(col(Score.scored_at).desc())
        ).first()
        assert newest is not None and newest.label == "neutral" and newest.p_neutral == 1.0
    assert "relabelled post" in ana.get(f"/cases/{case}").text


def test_identity_suggestions_can_be_confirmed_or_rejected(browser: Login, seeded: Any) -> None:
    ana = browser("ana@example.com")
    case = seeded.cases["low"]
    link = f"/cases/{case}/decide-link"
    assert ana.post(link, {"identity_id": seeded.identity_id, "decision": "maybe"}).status_code == 422
    assert ana.post(link, {"identity_id": 99999, "decision": "confirm"}).status_code == 404
    assert ana.post(link, {"identity_id": seeded.identity_id, "decision": "reject"}).status_code == 303
    with session_scope(ana.client.app.state.web.engine) as session:
        identity = session.get(Identity, seeded.identity_id)
        assert identity is not None and identity.status == "rejected" and identity.confirmed_by == "Ana"
    assert "Is this them?" not in ana.get(f"/cases/{case}").text


def test_json_api_flow_and_errors(browser: Login, seeded: Any) -> None:
    ana, ben = browser("ana@example.com"), browser("ben@example.com")
    h_ana = {"X-CSRF-Token": ana.csrf}
    h_ben = {"X-CSRF-Token": ben.csrf}
    listing = ana.client.get("/api/cases").json()
    assert listing["total"] == 3 and listing["cases"][0]["id"] == seeded.cases["top"]
    assert listing["cases"][0]["reasons"]["why"] == "reason for p-top"
    case = ana.client.post("/api/cases/next", headers=h_ana).json()["case"]
    assert case["id"] == seeded.cases["top"] and case["claimed_by"] == "Ana"
    conflict = ben.client.post(f"/api/cases/{case['id']}/claim", headers=h_ben)
    assert conflict.status_code == 409 and "claimed by Ana" in conflict.json()["detail"]
    held = ben.client.post(f"/api/cases/{case['id']}/reply", headers=h_ben, json={"text": "x"})
    assert held.status_code == 409 and held.json()["holder"] == "Ana"
    invalid = ana.client.post(f"/api/cases/{case['id']}/reply", headers=h_ana, json={"text": 5})
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == ["body", "text"]
    assert ana.client.post(f"/api/cases/{case['id']}/reply", headers=h_ana, content=b"{not json").status_code == 422
    reply = ana.client.post(f"/api/cases/{case['id']}/reply", headers=h_ana, json={"text": "On it."})
    answer = reply.json()  # the case, and the reply it made: not posted (dry run), the case still Ana's
    assert reply.status_code == 200 and answer["reply"]["status"] == "not_sent" and answer["ok"] is False
    assert answer["status"] == "claimed" and "NOT posted: dry_run setting is on" in answer["message"]
    assert ana.client.get("/api/cases/987654").status_code == 404
    assert ana.client.post("/api/cases/1/reassign", headers=h_ana, json={"to": "Ben"}).status_code == 403
    label = ana.client.post(
        f"/api/cases/{seeded.cases['low']}/label",
        headers=h_ana,
        json={"post_id": seeded.posts["low"], "label": "positive"},
    )
    assert label.status_code == 200 and label.json()["relabelled"]["new_label"] == "positive"
    docs = ana.client.get("/openapi.json").json()
    assert "/api/cases/{case_id}/reply" in docs["paths"] and "/queue" not in docs["paths"]


def test_queue_next_with_an_empty_queue_says_so(browser: Login, seeded: Any) -> None:
    otto = browser("otto@example.com")
    assert otto.post("/queue/next").headers["location"] == f"/cases/{seeded.cases['billing']}"
    again = otto.post("/queue/next")
    assert again.headers["location"] == "/queue"
    assert "No open cases in team billing" in otto.get("/queue").text
    assert otto.client.post("/api/cases/next", headers={"X-CSRF-Token": otto.csrf}).json() == {"case": None}


def test_anonymous_api_is_401_even_for_bad_ids(app: Any) -> None:
    client = TestClient(app, base_url="https://testserver")
    assert client.post("/api/cases/abc/reply", json={}).status_code == 401


def test_replies_above_a_tier_wait_for_a_lead(sqlite_engine: Engine) -> None:
    ids = seed(sqlite_engine)
    settings = EngagementSettings(replies=ReplySettings(approval_tiers=["top"]))
    app = create_app(sqlite_engine, settings)
    ana, lea = Browser(app).login("ana@example.com"), Browser(app).login("lea@example.com")
    top = ids.cases["top"]
    ana.post(f"/cases/{top}/claim")
    assert ana.post(f"/cases/{top}/reply", {"text": "Refund on its way"}).status_code == 303
    assert "waits for a lead" in ana.get("/queue").text
    case_html = lea.get(f"/cases/{top}").text
    assert "A reply waits for a lead" in case_html and "Approve and send" in case_html
    assert "Approve and send" not in ana.get(f"/cases/{top}").text
    with session_scope(sqlite_engine) as session:
        reply = session.exec(select(Reply).where(col(Reply.case_id) == top)).one()
    assert ana.post(f"/replies/{reply.id}/approve").status_code == 403
    api_denied = ana.client.post(f"/api/replies/{reply.id}/approve", headers={"X-CSRF-Token": ana.csrf})
    assert api_denied.status_code == 403
    approved = lea.client.post(f"/api/replies/{reply.id}/approve", headers={"X-CSRF-Token": lea.csrf})
    assert approved.status_code == 200 and approved.json()["reply"]["approved_by"] == "Lea"
    assert approved.json()["reply"]["status"] == "not_sent"
    assert lea.post(f"/replies/{reply.id}/approve").status_code == 409  # already done


def test_case_page_refreshes_who_holds_the_case(browser: Login, seeded: Any) -> None:
    ana, ben = browser("ana@example.com"), browser("ben@example.com")
    low = seeded.cases["low"]
    before = ben.get(f"/cases/{low}/holder")
    assert before.status_code == 200 and 'hx-trigger="engagebot:change from:body"' in before.text
    assert "working on this case" not in before.text
    ana.post(f"/cases/{low}/claim")
    assert "<strong>Ana</strong> is working on this case" in ben.get(f"/cases/{low}/holder").text
    assert ben.get("/cases/31337/holder").status_code == 404
