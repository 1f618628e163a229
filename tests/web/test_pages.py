"""The queue, case, closed and export pages: order, filters, escaping of hostile text, clear 4xx."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest

Login = Callable[[str], Any]


def case_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-href="/cases/(\d+)"', html)]


def test_queue_shows_my_team_by_priority_with_money_sla_and_reasons(browser: Login, seeded: Any) -> None:
    page = browser("ana@example.com").get("/queue")
    assert page.status_code == 200
    ids = case_ids(page.text)
    assert ids == [
        seeded.cases["top"],
        seeded.cases["hostile"],
        seeded.cases["low"],
    ]  # billing is another team
    assert "$810" in page.text  # money at risk of the top case
    assert "why is this first?" in page.text and "reason for p-top" in page.text
    assert re.search(r'<time class="sla overdue"[^>]*>overdue 30m</time>', page.text)
    assert "Zoë &lt;Customer&gt;" in page.text and "tier-top" in page.text
    assert "negative 90%" in page.text
    # live updates without a reload: the table refreshes on the event stream's changes (or polling)
    assert 'hx-trigger="engagebot:change from:body"' in page.text and 'data-poll-seconds="10"' in page.text


def test_all_teams_and_filters(browser: Login, seeded: Any) -> None:
    ana = browser("ana@example.com")
    everyone = case_ids(ana.get("/queue?team=all").text)
    assert everyone[:2] == [seeded.cases["top"], seeded.cases["billing"]]
    assert case_ids(ana.get("/queue?team=all&platform=reddit").text) == [seeded.cases["billing"]]
    assert case_ids(ana.get("/queue?team=all&tier=high").text) == [seeded.cases["billing"]]
    assert case_ids(ana.get("/queue?lang=he").text) == [seeded.cases["hostile"]]
    assert case_ids(ana.get("/queue?q=BAG").text) == [seeded.cases["top"]]
    assert case_ids(ana.get("/queue?q=100%25_off").text) == []
    rows = ana.get("/queue/rows?team=billing")
    assert rows.status_code == 200 and "<html" not in rows.text
    assert case_ids(rows.text) == [seeded.cases["billing"]]
    assert 'hx-get="/queue/rows?team=billing' in rows.text  # polling keeps the filters


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/queue?status=bogus", 400, "unknown status"),
        ("/queue?offset=-1", 422, "offset"),
        ("/queue?q=" + "x" * 300, 422, "q"),
        ("/cases/999999", 404, "case 999999 not found"),
        ("/cases/not-a-number", 422, "case_id"),
        ("/closed?status=open", 400, "closed cases are"),
        ("/nowhere", 404, "no page at /nowhere"),
    ],
)
def test_bad_input_is_a_clear_4xx(browser: Login, url: str, status: int, message: str) -> None:
    response = browser("ana@example.com").get(url)
    assert response.status_code == status
    assert message in response.text


def test_hostile_post_text_is_escaped_everywhere(browser: Login, seeded: Any, hostile: str) -> None:
    ana = browser("ana@example.com")
    for url in ("/queue", f"/cases/{seeded.cases['hostile']}", "/queue/rows"):
        html = ana.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>Evil</b>" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
        assert "שלום 😡" in html and 'dir="auto"' in html  # kept as text, shown in its own direction
        assert "\u27e6RLO\u27e7RTL\u27e6PDF\u27e7" in html and "\u202e" not in html  # overrides shown as marks
        assert 'dir="auto"' in html
    api = ana.get(f"/api/cases/{seeded.cases['hostile']}")
    assert api.headers["content-type"].startswith("application/json")
    assert api.json()["posts"][0]["text"] == hostile


def test_pages_carry_security_headers(browser: Login) -> None:
    response = browser("ana@example.com").get("/queue")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_case_page_shows_thread_author_customer_card_and_suggestions(browser: Login, seeded: Any) -> None:
    ana = browser("ana@example.com")
    html = ana.get(f"/cases/{seeded.cases['top']}").text
    assert "My bag is lost" in html and "@zoe" in html and "5,400 followers" in html
    assert "<dt>Lifetime value</dt><dd>$1,200</dd>" in html and "<dt>Value of their voice</dt><dd>$600</dd>" in html
    assert "<dt>Worth to us in all</dt><dd>$1,800</dd>" in html and "Rclv" not in html and "rCLV" not in html
    assert "83% likely still a customer" in html  # P(alive): two purchases are enough history
    assert "2 · $200" in html  # purchases
    assert "Loved the flight last month" in html and "dot sent-positive" in html  # earlier posts, sentiment
    assert "apology" in html  # reply templates
    low = ana.get(f"/cases/{seeded.cases['low']}").text
    assert "Is this them?" in low and f'name="identity_id" value="{seeded.identity_id}"' in low


def test_claims_by_others_are_visible(browser: Login, seeded: Any) -> None:
    ana, ben = browser("ana@example.com"), browser("ben@example.com")
    assert ana.post(f"/cases/{seeded.cases['low']}/claim").status_code == 303
    html = ben.get(f"/cases/{seeded.cases['low']}").text
    assert "<strong>Ana</strong> is working on this case" in html
    assert re.search(r'id="claim" disabled', html)
    queue_html = ben.get("/queue").text
    assert '<span class="holder">Ana</span>' in queue_html


def test_csv_export_of_the_filtered_queue_is_safe_for_spreadsheets(browser: Login, seeded: Any, hostile: str) -> None:
    ana = browser("ana@example.com")
    response = ana.get("/export/queue.csv?team=all")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["case_id"]) for r in rows][:2] == [seeded.cases["top"], seeded.cases["billing"]]
    assert len(rows) == 4
    only = list(csv.DictReader(io.StringIO(ana.get("/export/queue.csv?lang=he").text)))
    assert len(only) == 1 and only[0]["text"] == hostile  # starts with '<', no formula prefix needed
    assert ana.get("/export/queue.csv?status=nope").status_code == 400


def test_closed_cases_page_and_export(browser: Login, seeded: Any) -> None:
    ana = browser("ana@example.com")
    ana.post(f"/cases/{seeded.cases['low']}/dismiss", {"reason": "=cmd|' /C calc'!A0"})
    page = ana.get("/closed")
    assert page.status_code == 200 and f"/cases/{seeded.cases['low']}" in page.text
    rows = list(csv.DictReader(io.StringIO(ana.get("/export/closed.csv").text)))
    assert [int(r["case_id"]) for r in rows] == [seeded.cases["low"]]
    assert rows[0]["status"] == "dismissed"
    assert rows[0]["close_reason"].startswith("'=")  # a formula-looking cell is defused
    assert ana.get("/export/closed.csv?status=open").status_code == 400
