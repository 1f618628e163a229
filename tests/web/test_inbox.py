"""Working a case together through the app: presence, drafts, refused sends that keep the text,
take-over, saved replies with variables, platform limits, plain words and the event stream."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select
from web_factories import Browser, Platform, seed

import engagement.web
from db.engine import session_scope
from db.models import AuditEvent, Reply, ReplyDraft, Transaction
from db.types import utcnow
from engagement.web import live, presence

Login = Callable[[str], Browser]


def api(who: Browser, method: str, url: str, body: Any = None) -> Any:
    return who.client.request(method, url, json=body, headers={"X-CSRF-Token": who.csrf})


def test_first_name_is_filled_and_firstname_refused_by_name(browser: Login, seeded: Any, sqlite_engine: Engine) -> None:
    ana = browser("ana@example.com")
    top = seeded.cases["top"]
    refused = api(ana, "POST", f"/api/cases/{top}/reply", {"text": "Hi {firstname}, sorry"})
    assert refused.status_code == 422
    assert refused.json()["reason"] == "unknown_variable" and refused.json()["variable"] == "firstname"
    assert "{firstname}" in refused.json()["detail"][0]["msg"]  # the published 422 shape
    sent = api(ana, "POST", f"/api/cases/{top}/reply", {"text": "Hi {first_name}, case {case_id}."})
    assert sent.status_code == 200 and sent.json()["reply"]["text"] == f"Hi Zoë, case {top}."


def test_a_300_character_x_reply_is_refused_before_anything_is_written(
    browser: Login, seeded: Any, sqlite_engine: Engine
) -> None:
    ana = browser("ana@example.com")
    top = seeded.cases["top"]
    refused = api(ana, "POST", f"/api/cases/{top}/reply", {"text": "a" * 300})
    assert refused.status_code == 422
    assert refused.json()["reason"] == "too_long" and refused.json()["length"] == 300
    assert refused.json()["limit"] == 280
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Reply)).all() == []
    # The preview says the same before Send, counted the way X counts.
    preview = api(ana, "POST", f"/api/cases/{top}/preview", {"text": "a" * 300})
    assert preview.json()["ok"] is False and preview.json()["length"] == 300
    emoji = api(ana, "POST", f"/api/cases/{top}/preview", {"text": "Hi {first_name} 😀"})
    assert emoji.json() == {
        "text": "Hi Zoë 😀", "length": 9, "limit": 280, "unit": emoji.json()["unit"], "ok": True, "error": None,
        "variable": None,
    }
    reddit = api(ana, "POST", f"/api/cases/{seeded.cases['billing']}/preview", {"text": "a" * 300})
    assert reddit.json()["ok"] is True and reddit.json()["limit"] == 10_000


def test_a_refused_send_keeps_the_text_and_says_who_holds_the_case(
    browser: Login, seeded: Any, sqlite_engine: Engine
) -> None:
    ana, ben = browser("ana@example.com"), browser("ben@example.com")
    low = seeded.cases["low"]
    assert ana.post(f"/cases/{low}/claim").status_code == 303
    page = ben.post(f"/cases/{low}/reply", {"text": "Ben's careful answer <3"})
    assert page.status_code == 409
    assert "Not sent." in page.text and "Ana holds this case since" in page.text
    assert ">Ben&#39;s careful answer &lt;3</textarea>" in page.text
    assert 'id="send-reply" disabled' in page.text
    with session_scope(sqlite_engine) as session:
        draft = session.exec(select(ReplyDraft).where(col(ReplyDraft.user_name) == "Ben")).one()
        assert draft.text == "Ben's careful answer <3"
    answer = api(ben, "POST", f"/api/cases/{low}/reply", {"text": "hello"})
    assert answer.status_code == 409
    body = answer.json()
    assert body["reason"] == "held_by_other" and body["holder"] == "Ana" and body["held_since"]
    assert "Ana" in body["detail"]


def test_drafts_are_kept_per_case_and_person_and_restored(browser: Login, seeded: Any) -> None:
    ana, ben = browser("ana@example.com"), browser("ben@example.com")
    top = seeded.cases["top"]
    assert api(ana, "PUT", f"/api/cases/{top}/draft", {"text": "Dear Zoë,"}).json()["saved"] is True
    assert api(ana, "GET", f"/api/cases/{top}/draft").json()["text"] == "Dear Zoë,"
    assert api(ben, "GET", f"/api/cases/{top}/draft").json()["text"] == ""
    assert ">Dear Zoë,</textarea>" in ana.get(f"/cases/{top}").text  # restored on return
    assert api(ana, "PUT", f"/api/cases/{top}/draft", {"text": ""}).json()["saved"] is False
    assert api(ana, "GET", f"/api/cases/{top}/draft").json()["text"] == ""
    assert api(ana, "PUT", f"/cases/{top}/draft", {"text": "x"}).status_code == 200
    assert ana.client.put(f"/cases/{top}/draft", json={"text": "x"}).status_code == 403  # no CSRF token


def test_presence_shows_who_is_viewing_or_replying_and_expires(
    browser: Login, seeded: Any, sqlite_engine: Engine
) -> None:
    ana, lea = browser("ana@example.com"), browser("lea@example.com")
    top = seeded.cases["top"]
    api(ana, "POST", f"/api/cases/{top}/presence", {"activity": "replying"})
    seen = api(lea, "POST", f"/api/cases/{top}/presence", {"activity": "viewing"}).json()
    assert seen["others"] == [{"user": "Ana", "activity": "replying", "sentence": "Ana is replying"}]
    assert "Ana is replying" in lea.get(f"/cases/{top}").text
    assert api(ana, "GET", f"/api/cases/{top}/presence").json()["others"][0]["sentence"] == "Lea is viewing"
    assert api(ana, "POST", f"/api/cases/{top}/presence", {"activity": "dancing"}).status_code == 400
    with session_scope(sqlite_engine) as session:
        later = utcnow() + presence.PRESENCE_TTL + timedelta(seconds=1)
        assert presence.present(session, case_id=top, now=later) == []


def test_lead_takes_over_and_the_holder_is_told(browser: Login, seeded: Any, sqlite_engine: Engine) -> None:
    ana, ben, lea = browser("ana@example.com"), browser("ben@example.com"), browser("lea@example.com")
    low = seeded.cases["low"]
    assert ana.post(f"/cases/{low}/claim").status_code == 303
    lead_page = lea.get(f"/cases/{low}").text
    assert 'id="send-reply" disabled' in lead_page and 'id="take-over"' in lead_page
    assert 'id="take-over"' not in ben.get(f"/cases/{low}").text  # agents cannot
    assert api(ben, "POST", f"/api/cases/{low}/take-over").status_code == 403
    taken = api(lea, "POST", f"/api/cases/{low}/take-over")
    assert taken.status_code == 200 and taken.json()["claimed_by"] == "Lea"
    with session_scope(sqlite_engine) as session:
        event = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "taken_over")).one()
        assert event.actor == "Lea" and event.detail["previous_holder"] == "Ana"
    told = api(ana, "GET", f"/api/cases/{low}/presence").json()
    assert told["taken_over"]["by"] == "Lea" and told["held_by_other"] is True
    assert "Lea took this case over at" in ana.get(f"/cases/{low}").text
    assert api(lea, "POST", f"/api/cases/{low}/reply", {"text": "On it, {first_name}."}).status_code == 200


def test_saved_replies_are_managed_by_leads_per_team(browser: Login, seeded: Any) -> None:
    ana, lea, adam = browser("ana@example.com"), browser("lea@example.com"), browser("adam@example.com")
    bags = {"name": "bags", "text": "Hi {first_name}, your bag…", "team": "care"}
    made = api(lea, "POST", "/api/saved-replies", bags)
    assert made.status_code == 201 and made.json()["team"] == "care"
    assert api(lea, "POST", "/api/saved-replies", {"name": "x", "text": "t", "team": "billing"}).status_code == 403
    assert api(lea, "POST", "/api/saved-replies", {"name": "x", "text": "t", "team": None}).status_code == 403
    assert api(ana, "POST", "/api/saved-replies", {"name": "x", "text": "t", "team": "care"}).status_code == 403
    typo = api(lea, "POST", "/api/saved-replies", {"name": "typo", "text": "Hi {firstname}", "team": "care"})
    assert typo.status_code == 422 and "{firstname}" in str(typo.json()["detail"])
    shared = api(adam, "POST", "/api/saved-replies", {"name": "thanks", "text": "Thanks, {brand}", "team": None})
    assert shared.status_code == 201
    names = {r["name"] for r in api(ana, "GET", "/api/saved-replies").json()}
    assert names == {"apology", "bags", "thanks"}
    changed = api(lea, "PUT", f"/api/saved-replies/{made.json()['id']}", dict(bags, text="New {name}"))
    assert changed.status_code == 200 and changed.json()["text"] == "New {name}"
    sent = api(ana, "POST", f"/api/cases/{seeded.cases['top']}/reply", {"template": "bags"})
    assert sent.status_code == 200 and sent.json()["reply"]["text"] == "New Zoë <Customer>"
    page = lea.get("/saved-replies")
    assert page.status_code == 200 and "bags" in page.text and "every team" in page.text
    assert ana.get("/saved-replies").status_code == 403
    preview = api(lea, "POST", "/saved-replies/preview", {"text": "Hi {first_name} {oops}"})
    assert preview.json()["ok"] is False and preview.json()["variable"] == "oops"
    assert api(lea, "DELETE", f"/api/saved-replies/{shared.json()['id']}").status_code == 403
    assert api(adam, "DELETE", f"/api/saved-replies/{shared.json()['id']}").status_code == 204


def test_case_page_speaks_plainly_about_answers_and_short_histories(
    browser: Login, seeded: Any, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    Platform().install(monkeypatch)  # the reply really goes out
    ana = browser("ana@example.com")
    top = seeded.cases["top"]
    before = ana.get(f"/cases/{top}").text
    for internal in ("Rclv", "rCLV", "P text negative", "Route", "no rule matched", "value_source", " x P("):
        assert internal not in before
    assert "Worth to us" in before and "90% sure the post is a complaint" in before
    with session_scope(sqlite_engine) as session:  # one purchase: no repeat pattern to judge by
        for row in session.exec(select(Transaction)).all()[1:]:
            session.delete(row)
    assert "too little history (one purchase)" in ana.get(f"/cases/{top}").text
    api(ana, "POST", f"/api/cases/{top}/reply", {"text": "Sorry {first_name}, it is on its way."})
    after = ana.get(f"/cases/{top}").text
    assert "Answered by Ana on" in after and "after the post" in after
    head = after[after.index('<section class="case-head">') : after.index('<div class="case-grid">')]
    assert "overdue" not in head and "This case is replied" not in head


def test_the_change_marker_moves_on_claims_and_presence(browser: Login, seeded: Any, sqlite_engine: Engine) -> None:
    ana = browser("ana@example.com")
    low = seeded.cases["low"]
    before = live.change_marker(sqlite_engine, case_id=low, user_name="Ben")
    queue_before = live.change_marker(sqlite_engine, case_id=None, user_name="Ben")
    ana.post(f"/cases/{seeded.cases['top']}/claim")  # another case: the queue moves, this page not
    assert live.change_marker(sqlite_engine, case_id=low, user_name="Ben") == before
    assert live.change_marker(sqlite_engine, case_id=None, user_name="Ben")[0] > queue_before[0]
    ana.post(f"/cases/{low}/claim")
    claimed = live.change_marker(sqlite_engine, case_id=low, user_name="Ben")
    assert claimed[0] > before[0] and claimed[2] == ()
    api(ana, "POST", f"/api/cases/{low}/presence", {"activity": "replying"})
    assert live.change_marker(sqlite_engine, case_id=low, user_name="Ben")[2] == (("Ana", "replying"),)


def test_the_stream_sends_one_change_per_move_of_the_marker() -> None:
    markers = iter([(1, 1, ()), (1, 1, ()), (2, 1, ()), (2, 1, (("Ana", "viewing"),)), (2, 1, (("Ana", "viewing"),))])
    last: list[live.Marker] = []

    async def read() -> live.Marker:
        last.append(next(markers, last[-1] if last else (0, 0, ())))
        return last[-1]

    async def never() -> bool:
        return False

    async def collect() -> list[str]:
        out = []
        async for chunk in live.change_stream(read, never, poll_s=0.0, max_stream_s=0.05):
            out.append(chunk)
        return out

    chunks = asyncio.run(collect())
    changes = [c for c in chunks if c.startswith("event: change")]
    assert chunks[0].startswith("retry:") and chunks[1].startswith("event: ready")
    assert changes == [
        'event: change\ndata: {"audit": 2, "what": ["case"]}\n\n',
        'event: change\ndata: {"audit": 2, "what": ["presence"]}\n\n',
    ]


def test_events_endpoint_needs_a_sign_in(app: Any) -> None:
    from fastapi.testclient import TestClient

    stranger = TestClient(app, base_url="https://testserver")
    assert stranger.get("/events", follow_redirects=False).status_code in (303, 401)


def test_heartbeats_and_drafts_upsert_on_both_databases(engine: Engine) -> None:
    """Two tabs beating at once and a last save as the page closes: one row each, the later wins."""
    from engagement.queue import drafts

    ids = seed(engine)
    top = ids.cases["top"]
    start = utcnow()
    with session_scope(engine, write=True) as session:
        presence.heartbeat(session, case_id=top, user_name="Ana", activity="viewing", now=start)
        presence.heartbeat(session, case_id=top, user_name="Ana", activity="replying", now=start)
        presence.heartbeat(session, case_id=top, user_name="Ben", activity="viewing", now=start - timedelta(minutes=5))
        assert drafts.save_draft(session, case_id=top, user_name="Ana", text="first") is True
        assert drafts.save_draft(session, case_id=top, user_name="Ana", text="second") is True
    with session_scope(engine, write=True) as session:
        people = presence.present(session, case_id=top, now=start)
        assert [(p.user_name, p.activity) for p in people] == [("Ana", "replying")]  # Ben's beat is stale
        row = drafts.load_draft(session, case_id=top, user_name="Ana")
        assert row is not None and row.text == "second"
        assert drafts.save_draft(session, case_id=top, user_name="Ana", text="  ") is False
    with session_scope(engine) as session:
        assert drafts.load_draft(session, case_id=top, user_name="Ana") is None


def test_every_key_listed_on_question_mark_is_wired_and_every_case_action_has_one(
    browser: Login, seeded: Any
) -> None:
    static = Path(engagement.web.__file__).parent / "static"
    script = (static / "app.js").read_text() + (static / "composer.js").read_text()
    lea = browser("lea@example.com")
    page = lea.get(f"/cases/{seeded.cases['top']}").text
    help_box = page[page.index('<dialog id="keys-help"') : page.index("</dialog>")]
    listed = set(re.findall(r"<kbd>([a-z/?])</kbd>", help_box))
    assert {"j", "k", "n", "/", "c", "u", "t", "r", "p", "x", "e", "a", "l", "i", "y", "b", "?"} <= listed
    for key in listed:
        assert f'"{key}": ' in script, f"key {key!r} is listed on ? but not handled"
    assert '(event.ctrlKey || event.metaKey)' in script  # Ctrl/Cmd+Enter sends
    # Each button of the case page names its key.
    for button_id in ("claim", "escalate", "dismiss", "reassign", "send-reply"):
        button = re.search(rf'id="{button_id}"[^>]*>.*?</button>', page, re.S)
        assert button is not None and "<kbd>" in button.group(0), button_id
