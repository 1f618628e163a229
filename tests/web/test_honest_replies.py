"""Issue 25 on the case page: before Send it says whether engagebot can answer this case; a reply
that was not posted shows as "not sent: <reason>" with Retry and "Answered elsewhere"."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import col, select
from typer.testing import CliRunner
from web_factories import Browser, Platform, Seed, seed

from db.engine import session_scope
from db.models import AuditEvent, Author, Case, Post, Reply
from db.types import utcnow
from db.vocab import AuditVerb, ReplyStatus
from engagebot.cli import app as cli
from engagement.queue.answerable import DRY_RUN_MESSAGE
from engagement.report.query import load_cases
from engagement.settings import EngagementSettings, ReplySettings
from engagement.triage.facts import _answered
from engagement.web import create_app
from engagement.web.ops_view import agent_throughput


def _settings(**replies: object) -> EngagementSettings:
    return EngagementSettings(replies=ReplySettings(**replies))


def _notice(page: str) -> str:
    match = re.search(r'<p class="answerable[^"]*" id="answerable">(.*?)</p>', page, re.S)
    assert match, "no answerability line on the case page"
    return html.unescape(match.group(1))


def test_the_case_page_says_before_send_whether_a_reply_would_be_posted(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FACEBOOK_PAGE_TOKEN", "INSTAGRAM_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    ids = seed(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        case = session.get(Case, ids.cases["low"])
        assert case is not None
        case.platform = "trustpilot"  # a platform engagebot only reads
        session.add(case)
    dry = Browser(create_app(sqlite_engine, _settings())).login("ana@example.com")
    assert _notice(dry.get(f"/cases/{ids.cases['top']}").text) == DRY_RUN_MESSAGE

    live = Browser(create_app(sqlite_engine, _settings(dry_run=False))).login("ana@example.com")
    x_page = live.get(f"/cases/{ids.cases['top']}").text
    assert "Replies to x cannot be posted: no credentials for 'x'" in _notice(x_page)
    assert "engagement.replies.x_consumer_key" in _notice(x_page)
    assert 'id="answered-elsewhere"' in x_page  # the way out is on the page
    reddit = _notice(live.get(f"/cases/{ids.cases['billing']}").text)
    assert "reddit_client_id" in reddit
    assert _notice(live.get(f"/cases/{ids.cases['low']}").text) == (
        "engagebot cannot post on trustpilot: answer it on trustpilot and close it as answered elsewhere"
    )

    with_keys = _settings(
        dry_run=False, x_consumer_key="k", x_consumer_secret="s", x_access_token="t", x_access_token_secret="ts"
    )
    ok = Browser(create_app(sqlite_engine, with_keys)).login("ana@example.com").get(f"/cases/{ids.cases['top']}")
    assert _notice(ok.text) == "Replies are posted on x."
    assert 'id="answered-elsewhere"' not in ok.text


def test_a_reply_not_sent_shows_why_and_can_be_retried_then_answered(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed(sqlite_engine)
    top = ids.cases["top"]
    ana = Browser(create_app(sqlite_engine, _settings())).login("ana@example.com")
    assert ana.post(f"/cases/{top}/reply", {"text": "Sorry, on it."}).status_code == 303
    page = ana.get(f"/cases/{top}").text
    with session_scope(sqlite_engine) as session:
        reply = session.exec(select(Reply).where(col(Reply.case_id) == top)).one()
        assert reply.status == "not_sent"
        reply_id = reply.id
    assert f'id="reply-{reply_id}-not-sent">not sent: dry_run setting is on</p>' in page
    assert f'<input type="hidden" name="reply_id" value="{reply_id}">' in page
    assert 'action="/cases/' + str(top) + '/retry-reply"' in page
    assert 'id="case-status">claimed<' in page  # still open: nothing was posted

    # Retrying while dry run is still on posts nothing and keeps the case open.
    assert ana.post(f"/cases/{top}/retry-reply", {"reply_id": reply_id}).status_code == 303
    with session_scope(sqlite_engine) as session:
        case = session.get(Case, top)
        assert case is not None and case.status == "claimed"

    # Dry run off and a platform that takes replies: Retry posts the same reply once.
    platform = Platform().install(monkeypatch)
    live = Browser(create_app(sqlite_engine, _settings(dry_run=False))).login("ana@example.com")
    assert live.post(f"/cases/{top}/retry-reply", {"reply_id": reply_id}).status_code == 303
    assert [text for _, text, _ in platform.posted] == ["Sorry, on it."]
    with session_scope(sqlite_engine) as session:
        case = session.get(Case, top)
        sent = session.get(Reply, reply_id)
        assert case is not None and case.status == "replied"
        assert sent is not None and sent.status == "sent"
    assert "not sent:" not in live.get(f"/cases/{top}").text


def test_answered_elsewhere_closes_the_case_with_the_link_audited(sqlite_engine: Engine) -> None:
    ids = seed(sqlite_engine)
    low = ids.cases["low"]
    ana = Browser(create_app(sqlite_engine, _settings())).login("ana@example.com")
    assert ana.post(f"/cases/{low}/reply", {"text": "We will look."}).status_code == 303
    assert 'id="answered-elsewhere"' in ana.get(f"/cases/{low}").text
    url = "https://x.com/skylark/status/1"
    assert ana.post(f"/cases/{low}/answered-elsewhere", {"url": url, "note": ""}).status_code == 303
    with session_scope(sqlite_engine) as session:
        case = session.get(Case, low)
        assert case is not None and case.status == "replied"
        events = session.exec(select(AuditEvent).where(col(AuditEvent.case_id) == low)).all()
        elsewhere = [e for e in events if e.action == "answered_elsewhere"]
        assert elsewhere and url in str(elsewhere[0].detail)
    page = ana.get(f"/cases/{low}").text
    assert 'id="answerable"' not in page and 'id="answered-elsewhere"' not in page


def test_only_a_posted_reply_or_answered_elsewhere_counts_as_an_answer(sqlite_engine: Engine) -> None:
    """Triage, the lead view and the report no longer read a dry-run reply as an answer."""
    ids = seed(sqlite_engine)
    top, low = ids.cases["top"], ids.cases["low"]
    with session_scope(sqlite_engine) as session:
        post = session.get(Post, ids.posts["top"])
        assert post is not None
        later = post.created_at + timedelta(minutes=5)
        for n, status in enumerate((ReplyStatus.NOT_SENT, ReplyStatus.DRY_RUN, ReplyStatus.FAILED)):
            session.add(Reply(case_id=top, post_id=post.id or 0, text="hi", author="Ana", status=status,
                              idempotency_key=f"k{n}", created_at=later, sent_at=later))  # fmt: skip
        session.flush()
        assert _answered(session, [post]) == {}  # still unanswered: triage keeps the case
        session.add(Reply(case_id=top, post_id=post.id or 0, text="hi", author="Ana", status=ReplyStatus.SENT,
                          idempotency_key="k-sent", created_at=later, sent_at=later))  # fmt: skip
        session.flush()
        assert post.id in _answered(session, [post])

        since = utcnow() - timedelta(hours=1)
        session.add(AuditEvent(case_id=top, actor="Ana", action="reply_dry_run"))
        session.add(AuditEvent(case_id=low, actor="Ana", action=AuditVerb.ANSWERED_ELSEWHERE))
        session.flush()
        ana = next(a for a in agent_throughput(session=session, since=since) if a.agent == "Ana")
        assert ana.replied == 1  # the case answered elsewhere; the dry run answered nobody

        window = (post.created_at - timedelta(days=1), utcnow() + timedelta(days=1))
        session.exec(delete(Reply).where(col(Reply.status) == ReplyStatus.SENT))
        legacy = {r.id: r for r in load_cases(*window, session=session, count_dry_runs=True)}
        strict = {r.id: r for r in load_cases(*window, session=session, count_dry_runs=False)}
        assert legacy[top].first_response_at is not None  # an old build's dry_run row, read on request
        assert strict[top].first_response_at is None


def test_every_signed_in_page_shows_the_dry_run_banner(sqlite_engine: Engine) -> None:
    ids = seed(sqlite_engine)
    banner = 'id="dry-run-banner"'
    dry_app = create_app(sqlite_engine, _settings())
    dry = Browser(dry_app).login("lea@example.com")
    for url in ("/queue", f"/cases/{ids.cases['top']}", "/closed", "/lead", "/account"):
        page = dry.get(url)
        assert page.status_code == 200 and banner in page.text, url
    assert banner not in Browser(dry_app).get("/login").text  # signed out: no banner
    live = Browser(create_app(sqlite_engine, _settings(dry_run=False))).login("lea@example.com")
    assert banner not in live.get("/queue").text


def test_status_says_replies_are_dry_run_and_names_missing_credentials(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(sqlite_engine)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", "page-token")
    runner = CliRunner()
    screen = runner.invoke(cli, ["status"], env={"COLUMNS": "200"})
    assert screen.exit_code == 0, screen.output
    assert "replies: DRY RUN, nothing is posted on any platform (set replies.dry_run = false)" in screen.output
    assert "replies to x not posted: no credentials for 'x': set engagement.replies.x_consumer_key" in screen.output
    assert "replies to facebook" not in screen.output  # its token is in the environment
    report = json.loads(runner.invoke(cli, ["status", "--json"]).output)
    assert report["replies"]["dry_run"] is True
    assert set(report["replies"]["missing_credentials"]) == {"x", "reddit", "instagram", "appstore", "googleplay"}

    monkeypatch.setenv("ENGAGEBOT_ENGAGEMENT__REPLIES__DRY_RUN", "false")
    live = runner.invoke(cli, ["status"], env={"COLUMNS": "200"})
    assert live.exit_code == 0, live.output
    assert "replies: posted on facebook" in live.output and "DRY RUN" not in live.output


def test_the_web_shows_a_posts_bidi_controls_as_marks(sqlite_engine: Engine) -> None:
    """A post with U+202E cannot reorder what the agent reads: the case page, the queue and the
    closed list show the control as ⟦RLO⟧ and never send the raw character."""
    ids = seed(sqlite_engine)
    text = "Refund \u202e0001$ please"
    with session_scope(sqlite_engine) as session:
        post = session.get(Post, ids.posts["low"])
        assert post is not None
        post.text = text
        session.add(post)
    lea = Browser(create_app(sqlite_engine, _settings())).login("lea@example.com")
    case_page = lea.get(f"/cases/{ids.cases['low']}").text
    queue_page = lea.get("/queue").text
    for page in (case_page, queue_page):
        assert "\u202e" not in page
        assert "Refund \u27e6RLO\u27e70001$ please" in page
    assert lea.post(f"/cases/{ids.cases['low']}/dismiss", {"reason": "spam"}).status_code == 303
    closed = lea.get("/closed").text
    assert "\u202e" not in closed and "\u27e6RLO\u27e7" in closed


def _thread(engine: Engine, ids: Seed) -> None:
    """Around case "top": the brand's tweet it answers, a brand reply under it, a stranger's reply."""
    with session_scope(engine) as session:
        top = session.get(Post, ids.posts["top"])
        assert top is not None and top.author_id is not None
        brand = Author(platform="x", external_id="u-brand", handle="skylark", display_name="Skylark", is_brand=True)
        other = Author(platform="x", external_id="u-other", handle="bystander")
        session.add_all([brand, other])
        session.flush()

        def add(key: str, text: str, author: Author, minutes: float, reply_to: str | None, is_brand: bool) -> None:
            session.add(Post(platform="x", external_id=key, source="x-search", text=text, author_id=author.id,
                             created_at=top.created_at + timedelta(minutes=minutes), conversation_id="conv-p-top",
                             in_reply_to_id=reply_to, is_brand=is_brand))  # fmt: skip

        add("p-parent", "Our new lounge opens today", brand, -60, None, True)
        top.in_reply_to_id = "p-parent"
        session.add(top)
        add("p-brand", "Sorry Zoë, DM us your booking", brand, 10, "p-top", True)
        add("p-other", "Same here \u202etsol", other, 20, "p-top", False)


def test_the_case_page_and_queue_show_the_conversation_with_brand_replies_marked(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed(sqlite_engine)
    _thread(sqlite_engine, ids)
    ana = Browser(create_app(sqlite_engine, _settings())).login("ana@example.com")
    page = ana.get(f"/cases/{ids.cases['top']}").text
    section = page[page.index('id="conversation"') : page.index('id="reply"')]
    order = [section.index(s) for s in ("Our new lounge", "My bag is lost", "DM us your booking", "Same here")]
    assert order == sorted(order)  # oldest first
    items = section.split("<li ")[1:]
    assert 'class="conv-parent brand"' in items[0] and "the post it answers" in items[0]
    assert "conv-case in-case" in items[1] and "this case" in items[1]
    assert "conv-reply brand" in items[2] and 'pill brand-reply">brand<' in items[2]
    assert "brand" not in items[3].split(">")[0] and "\u27e6RLO\u27e7tsol" in items[3]

    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    shown = CliRunner().invoke(cli, ["queue", "show", str(ids.cases["top"])], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    lines = [line.strip() for line in shown.output.splitlines() if line.strip()]
    start = lines.index("conversation:")
    convo = lines[start + 1 : start + 5]
    assert "answers" in convo[0] and "@skylark [brand]: Our new lounge opens today" in convo[0]
    assert "CASE" in convo[1] and "@zoe: My bag is lost" in convo[1]
    assert "reply" in convo[2] and "@skylark [brand]: Sorry Zoë" in convo[2]
    assert convo[3].endswith("@bystander: Same here tsol")  # the override removed for the terminal
    as_json = json.loads(CliRunner().invoke(cli, ["queue", "show", str(ids.cases["top"]), "--json"]).output)
    assert [(c["role"], c["brand"]) for c in as_json["conversation"]] == [
        ("parent", True), ("case", False), ("reply", True), ("reply", False)
    ]  # fmt: skip
