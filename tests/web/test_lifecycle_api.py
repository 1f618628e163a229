"""The case lifecycle through the JSON API and the pages' forms: relabel closes, snooze hides
until due, reopen, bulk, notes with @mentions, tags, "mine"/"unassigned", the follow-up card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import col
from web_factories import Browser, Seed

from db.engine import session_scope
from db.models import AuditEvent, Case, Outbox, Reply, User
from db.types import utcnow

Login = Callable[[str], Browser]


def _api(browser: Browser, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    return browser.client.request(method, url, json=body, headers={"X-CSRF-Token": browser.csrf})


def _open_ids(browser: Browser, query: str = "") -> list[int]:
    listing = _api(browser, "GET", f"/api/cases?team=all{query}").json()
    return [c["id"] for c in listing["cases"]]


def test_relabelled_neutral_leaves_the_open_list_and_negative_brings_it_back(
    browser: Login, seeded: Seed, sqlite_engine: Engine
) -> None:
    ana = browser("ana@example.com")
    case, post = seeded.cases["low"], seeded.posts["low"]
    assert case in _open_ids(ana)
    done = _api(ana, "POST", f"/api/cases/{case}/label", {"post_id": post, "label": "neutral"})
    assert done.status_code == 200, done.text
    assert done.json()["relabelled"] | {"correction_id": 0} == {
        "correction_id": 0, "post_id": post, "old_label": "negative", "new_label": "neutral",
        "case_id": case, "status": "closed", "close_reason": "relabelled",
    }  # fmt: skip
    assert done.json()["status"] == "closed" and "closed: no post of it is negative" in done.json()["message"]
    assert case not in _open_ids(ana)
    lea = browser("lea@example.com")
    assert case not in [r["id"] for r in _api(lea, "GET", "/api/cases?team=all&status=active").json()["cases"]]
    back = _api(ana, "POST", f"/api/cases/{case}/label", {"post_id": post, "label": "negative"})
    assert back.json()["status"] == "open" and case in _open_ids(ana)


def test_snooze_hides_the_case_until_due(browser: Login, seeded: Seed, sqlite_engine: Engine) -> None:
    ana = browser("ana@example.com")
    case = seeded.cases["hostile"]
    until = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    snoozed = _api(ana, "POST", f"/api/cases/{case}/snooze", {"until": until.isoformat()})
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["snoozed_until"] == until.isoformat() and snoozed.json()["status"] == "open"
    assert case not in _open_ids(ana) and _open_ids(ana, "&snoozed=true") == [case]
    naive = _api(ana, "POST", f"/api/cases/{case}/snooze", {"until": "2030-01-01T00:00:00"})
    assert naive.status_code == 422, "a time without a zone is refused"
    past = _api(ana, "POST", f"/api/cases/{case}/snooze", {"until": "2020-01-01T00:00:00+00:00"})
    assert past.status_code in (400, 409) and "not in the future" in past.text
    with session_scope(sqlite_engine) as session:  # the time comes: it is due again
        row = session.get(Case, case)
        assert row is not None
        row.snoozed_until = utcnow() - timedelta(seconds=1)
        session.add(row)
    assert case in _open_ids(ana)


def test_reopen_bulk_notes_tags_and_filters(browser: Login, seeded: Seed, sqlite_engine: Engine) -> None:
    ana, lea = browser("ana@example.com"), browser("lea@example.com")
    low, hostile, top = seeded.cases["low"], seeded.cases["hostile"], seeded.cases["top"]
    ben = browser("ben@example.com")
    assert ben.post(f"/cases/{top}/claim").status_code == 303
    result = _api(ana, "POST", "/api/cases/bulk", {"ids": [low, hostile, top], "action": "dismiss", "reason": "spam"})
    assert result.status_code == 200, result.text
    outcomes = {r["case_id"]: r for r in result.json()["results"]}
    assert outcomes[low]["ok"] and outcomes[hostile]["ok"] and not outcomes[top]["ok"]
    assert "Ben" in outcomes[top]["error"]
    with session_scope(sqlite_engine) as session:
        audited = (
            session.execute(select(col(AuditEvent.case_id)).where(col(AuditEvent.action) == "dismissed"))
            .scalars()
            .all()
        )
    assert sorted(audited) == sorted([low, hostile]), "one audit event per case"
    reopened = _api(ana, "POST", f"/api/cases/{low}/reopen", {"reason": "not spam"})
    assert reopened.json()["status"] == "open" and low in _open_ids(ana)
    assert _api(ana, "POST", f"/api/cases/{top}/reopen", {}).status_code == 409, "only finished cases reopen"

    assigned = _api(lea, "POST", "/api/cases/bulk", {"ids": [low], "action": "assign", "to": "ana@example.com"})
    assert assigned.json()["done"] == 1
    assert _open_ids(ana, "&assigned=mine&status=active") == [low]
    assert top in _open_ids(ben, "&assigned=mine&status=active")
    assert low not in _open_ids(ana, "&assigned=unassigned")
    refused = _api(ana, "POST", "/api/cases/bulk", {"ids": [low], "action": "assign", "to": "Ben"})
    assert refused.json()["done"] == 0 and "lead" in refused.json()["results"][0]["error"]

    with session_scope(sqlite_engine, write=True) as session:  # Lea's Slack member id: mentions reach her DMs
        session.exec(update(User).where(col(User.name) == "Lea").values(slack_user_id="U0LEA0001"))
    note = _api(ana, "POST", f"/api/cases/{low}/notes", {"text": "@Lea is this a refund? @ghost"})
    assert note.json()["mentioned"] == ["Lea"] and note.json()["unknown"] == ["ghost"]
    assert [n["text"] for n in _api(lea, "GET", f"/api/cases/{low}/notes").json()] == ["@Lea is this a refund? @ghost"]
    with session_scope(sqlite_engine) as session:
        mention = session.execute(
            select(Outbox).where(col(Outbox.kind) == "mention", col(Outbox.channel) == "slack")
        ).scalar_one()
    assert "Ana mentioned you" in mention.payload["text"] and mention.payload["channel"] == "U0LEA0001"

    tags = _api(ana, "POST", f"/api/cases/{low}/tags", {"add": ["Refund"]})
    assert tags.json()["tags"] == ["refund"]
    assert _open_ids(ana, "&tag=refund") == [low]
    assert _api(ana, "POST", f"/api/cases/{low}/tags", {"add": ["two words"]}).status_code in (400, 409)


def test_pages_bulk_bar_snooze_form_and_follow_up_card(browser: Login, seeded: Seed) -> None:
    ana = browser("ana@example.com")
    low, hostile = seeded.cases["low"], seeded.cases["hostile"]
    queue_page = ana.get("/queue").text
    assert 'id="bulk"' in queue_page and f'name="ids" value="{low}" form="bulk"' in queue_page
    done = ana.post("/queue/bulk", {"ids": [str(low), str(hostile)], "action": "snooze", "hours": "4"})
    assert done.status_code == 303
    flashed = ana.get("/queue").text
    assert "Snooze: 2 of 2 case(s)." in flashed and f'data-case="{low}"' not in flashed
    assert f'data-case="{low}"' in ana.get("/queue?snoozed=1").text
    card = ana.get(f"/cases/{low}/lifecycle").text
    assert 'id="snoozed-until"' in card and 'id="note-text"' in card
    assert ana.post(f"/cases/{low}/notes", {"text": "<b>checked</b> with @Ben"}).status_code == 303
    card = ana.get(f"/cases/{low}/lifecycle").text
    assert "&lt;b&gt;checked&lt;/b&gt; with @Ben" in card and "<b>checked" not in card
    bad = ana.post(f"/cases/{low}/snooze", {"hours": "", "until": "soon"})
    assert bad.status_code == 422 and "not a date and time" in bad.text


def test_a_case_no_model_could_score_needs_a_person(browser: Login, seeded: Seed, sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        row = session.get(Case, seeded.cases["hostile"])
        assert row is not None
        row.reasons = dict(row.reasons, sentiment="unknown")
        session.add(row)
    ana = browser("ana@example.com")
    page = ana.get(f"/cases/{seeded.cases['hostile']}").text
    assert 'id="sentiment-unknown"' in page and "sentiment unknown: needs a person" in page
    assert "sentiment unknown: needs a person" not in ana.get(f"/cases/{seeded.cases['low']}").text
    row_html = ana.get("/queue").text.split(f'data-case="{seeded.cases["hostile"]}"')[1].split("</tr>")[0]
    assert "sentiment unknown: needs a person" in row_html


def test_the_action_bar_is_rendered_for_whoever_asks_now(browser: Login, seeded: Seed) -> None:
    """``/cases/{id}/actions`` (fetched on each live change) answers this person's buttons from
    the server's state, with the status pill swapped out of band."""
    ana, lea = browser("ana@example.com"), browser("lea@example.com")
    low = seeded.cases["low"]
    assert 'id="claim"' in lea.get(f"/cases/{low}/actions").text
    assert ana.post(f"/cases/{low}/claim", {}).status_code == 303
    mine = ana.get(f"/cases/{low}/actions").text
    assert 'id="release"' in mine and 'id="claim"' not in mine and 'data-held-by-other="false"' in mine
    theirs = lea.get(f"/cases/{low}/actions").text
    assert 'id="take-over"' in theirs and 'id="release"' not in theirs and 'data-held-by-other="true"' in theirs
    assert 'id="case-status" hx-swap-oob="true">claimed<' in theirs
    assert lea.post(f"/cases/{low}/take-over", {}).status_code == 303
    after = ana.get(f"/cases/{low}/actions").text
    assert 'id="release"' not in after and 'id="take-over"' not in after and 'data-held-by-other="true"' in after


def test_a_bulk_action_goes_back_to_the_same_filters(browser: Login, seeded: Seed) -> None:
    ana = browser("ana@example.com")
    page = ana.get("/queue?assigned=unassigned").text
    assert 'name="next" value="/queue?' in page and "assigned=unassigned" in page
    low = str(seeded.cases["low"])
    back = "/queue?assigned=unassigned"
    done = ana.post("/queue/bulk", {"ids": [low], "action": "tag", "tag": "press", "next": back})
    assert done.status_code == 303 and done.headers["location"] == "/queue?assigned=unassigned"
    for elsewhere in ("//evil.example/x", "/\\evil.example", "https://evil.example"):
        away = ana.post("/queue/bulk", {"ids": [low], "action": "tag", "tag": "x", "next": elsewhere})
        assert away.headers["location"] == "/queue"


def _group_with_a_duplicate(engine: Engine, seeded: Seed) -> int:
    """Group low, hostile and top as similar, and add a second case by top's author (Zoë)."""
    from web_factories import _case, _post

    from db.models import Author

    with session_scope(engine) as session:
        top = session.get(Case, seeded.cases["top"])
        assert top is not None and top.author_id is not None
        zoe = session.get(Author, top.author_id)
        assert zoe is not None
        again = _case(session, _post(session, zoe, "p-again", "My bag is lost, nobody answers", 1), zoe,
                      team="care", priority=50.0)  # fmt: skip
        session.flush()
        for key in ("top", "hostile", "low"):
            row = session.get(Case, seeded.cases[key])
            assert row is not None
            row.similar_group = seeded.cases["top"]
        again.similar_group = seeded.cases["top"]
        return again.id or 0


def test_similar_cases_default_to_one_reply_each_and_dismiss_only_the_same_author(
    browser: Login, seeded: Seed, sqlite_engine: Engine
) -> None:
    """Case 7's similar cases of other customers are answered, each in their own name; only the
    same author's repeat may be dismissed as a duplicate, and it is not pre-ticked."""
    again = _group_with_a_duplicate(sqlite_engine, seeded)
    top, low, hostile = seeded.cases["top"], seeded.cases["low"], seeded.cases["hostile"]
    ana = browser("ana@example.com")
    card = ana.get(f"/cases/{top}/lifecycle").text
    reply_form = card[card.index('id="similar-form"') : card.index("</form>", card.index('id="similar-form"'))]
    dup_form = card[card.index('id="duplicate-form"') : card.index("</form>", card.index('id="duplicate-form"'))]
    assert f'value="{low}" checked' in reply_form and f'value="{hostile}" checked' in reply_form
    assert f'value="{again}"' not in reply_form and 'value="dismiss"' not in reply_form
    assert f'value="{again}">' in dup_form and " checked>" not in dup_form
    assert f'value="{low}"' not in dup_form and f'value="{hostile}"' not in dup_form

    lea = browser("lea@example.com")
    sorry = "Sorry {first_name}, we are on it."
    saved = lea.post("/saved-replies", {"name": "bag-sorry", "text": sorry, "team": "care"})
    assert saved.status_code == 303, saved.text
    done = ana.post("/queue/bulk", {"ids": [str(low), str(hostile)], "action": "reply", "template": "bag-sorry",
                                    "next": f"/cases/{top}"})  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{top}"
    with session_scope(sqlite_engine) as session:
        query = select(col(Reply.case_id), col(Reply.text)).where(col(Reply.case_id).in_([low, hostile]))
        rows = session.execute(query)
        texts = {case_id: text for case_id, text in rows.all()}
    assert set(texts) == {low, hostile} and all(t.startswith("Sorry ") for t in texts.values())
    assert texts[low] != texts[hostile], "each reply is filled for its own author"


def test_a_mention_is_a_notice_on_the_next_page_once(browser: Login, seeded: Seed) -> None:
    """Ben has no Slack id: the note's @mention reaches him as a notice on his next page, which
    is then seen; the queue's live rows (a partial) never use it up."""
    ana, ben = browser("ana@example.com"), browser("ben@example.com")
    low = seeded.cases["low"]
    note = _api(ana, "POST", f"/api/cases/{low}/notes", {"text": "@Ben can you call <them>?"})
    assert note.json()["mentioned"] == ["Ben"]
    assert 'id="notices"' not in ben.get("/queue/rows").text
    page = ben.get("/account").text
    assert 'id="notices"' in page and f"Ana mentioned you on case {low}: @Ben can you call &lt;them&gt;?" in page
    assert f'href="/cases/{low}#notes"' in page
    assert 'id="notices"' not in ben.get("/queue").text, "seen once, then gone"
    assert 'id="notices"' not in ana.get("/queue").text, "only for the person mentioned"
