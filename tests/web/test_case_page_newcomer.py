"""What a newcomer tripped over on the case page (issue 26): the model's full id, two banners
saying the same, raw fields in the history, "Reach: — followers" where the platform has no
followers, and a claim that lapsed while they were still writing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select
from web_factories import Browser

from db.engine import session_scope
from db.models import AuditEvent, Case, Score
from db.types import utcnow

Login = Callable[[str], Browser]
ROUTED = "all-MiniLM-L6-v2+engagebot@0123456789ab+t1.31+multilingual-e5-small+engagebot@ba9876543210"


def _claim_left(engine: Engine, case_id: int, minutes: float) -> None:
    with session_scope(engine, write=True) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.claim_expires_at = utcnow() + timedelta(minutes=minutes)
        session.add(case)


def test_model_named_in_two_words_with_the_id_on_hover(browser: Login, seeded: Any, sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine, write=True) as session:
        for score in session.exec(select(Score)).all():
            score.model_id = ROUTED
            session.add(score)
    html = browser("ana@example.com").get(f"/cases/{seeded.cases['top']}").text
    assert f'title="{ROUTED}">by the English model</span>' in html
    hebrew = browser("ana@example.com").get(f"/cases/{seeded.cases['hostile']}").text
    assert "by the multilingual model" in hebrew
    assert f">by {ROUTED}" not in html


def test_claim_says_until_when_once(browser: Login, seeded: Any) -> None:
    ana = browser("ana@example.com")
    case_id = seeded.cases["low"]
    assert ana.post(f"/cases/{case_id}/claim").status_code == 303
    html = ana.get(f"/cases/{case_id}").text
    assert "You hold this case until" in html
    assert f"Case {case_id} is yours until" not in html
    banners = html.split("<h2>History</h2>", 1)[0]  # the history below says it too, as a past event
    assert len(re.findall(r"until \d\d:\d\d UTC", banners)) == 1
    # Next case: the same, one banner
    nxt = ana.post("/queue/next")
    assert "is yours until" not in ana.get(nxt.headers["location"]).text


def test_history_reads_as_sentences(browser: Login, seeded: Any, sqlite_engine: Engine) -> None:
    ana = browser("ana@example.com")
    case_id = seeded.cases["low"]
    ana.post(f"/cases/{case_id}/claim")
    with session_scope(sqlite_engine) as session:
        claimed = session.exec(select(Case).where(Case.id == case_id)).one()
        until = claimed.claim_expires_at
    assert until is not None
    history = ana.get(f"/cases/{case_id}").text.split("<h2>History</h2>", 1)[1]
    assert f"claimed until {until:%H:%M} UTC" in history
    assert "lease_until" not in history and "holder:" not in history and "from:" not in history
    assert not re.search(r"\d\d:\d\d:\d\d\.\d{6}", history)  # no microseconds


def test_no_reach_where_the_platform_has_no_followers(browser: Login, seeded: Any) -> None:
    otto = browser("otto@example.com")  # Pat on Reddit: no followers there
    html = otto.get(f"/cases/{seeded.cases['billing']}").text
    assert "This author is not linked to a customer." in html and "Reach" not in html and "— followers" not in html
    sam = browser("ana@example.com").get(f"/cases/{seeded.cases['low']}").text
    assert "Reach: 50 followers." in sam


def test_extend_claim_button_renews_ones_own_claim(browser: Login, seeded: Any, sqlite_engine: Engine) -> None:
    ana = browser("ana@example.com")
    case_id = seeded.cases["low"]
    assert 'id="extend-claim"' not in ana.get(f"/cases/{case_id}").text  # not held: Claim, no Extend
    ana.post(f"/cases/{case_id}/claim")
    assert 'id="extend-claim"' in ana.get(f"/cases/{case_id}").text
    _claim_left(sqlite_engine, case_id, 2)
    assert ana.post(f"/cases/{case_id}/claim").status_code == 303
    with session_scope(sqlite_engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.claim_expires_at is not None
        assert case.claim_expires_at - utcnow() > timedelta(minutes=10)
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.case_id == case_id)).all()]
    assert actions[-1] == "renewed"
    ben = browser("ben@example.com")
    assert 'id="extend-claim"' not in ben.get(f"/cases/{case_id}").text  # only the holder extends


def _draft(who: Browser, case_id: int, text: str) -> Any:
    return who.client.put(f"/cases/{case_id}/draft", json={"text": text}, headers={"X-CSRF-Token": who.csrf}).json()


def test_typing_renews_a_claim_running_out(browser: Login, seeded: Any, sqlite_engine: Engine) -> None:
    ana = browser("ana@example.com")
    case_id = seeded.cases["low"]
    ana.post(f"/cases/{case_id}/claim")
    assert _draft(ana, case_id, "Dear Sam,")["claim_renewed_until"] is None  # 15 minutes left: nothing to do
    _claim_left(sqlite_engine, case_id, 3)
    saved = _draft(ana, case_id, "Dear Sam, sorry about")
    assert saved["saved"] is True and saved["claim_renewed_until"] is not None
    with session_scope(sqlite_engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.claim_expires_at is not None and case.claimed_by == "Ana"
        assert case.claim_expires_at - utcnow() > timedelta(minutes=10)
    # someone else's draft never touches Ana's claim
    _claim_left(sqlite_engine, case_id, 3)
    ben = browser("ben@example.com")
    assert _draft(ben, case_id, "a note to self")["claim_renewed_until"] is None
