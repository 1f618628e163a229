"""Reddit (praw cassettes), App Store (``responses``), Google Play and file sources, end to end."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import responses
from listener_payloads import appstore_entry, appstore_feed, play_review, reddit_tape
from sqlalchemy import Engine, select
from sqlmodel import Session

from db.models import Post, SourceCursor
from listener.base import Source
from listener.collect import build_source, collect
from listener.ratelimit import RetryPolicy
from listener.settings import ListenerSettings, RetrySettings, SourceSettings
from listener.sources.googleplay import GooglePlaySource
from listener.sources.reddit import RedditSource, make_client

REDDIT_CREDS = {
    "reddit_client_id": "test-id",
    "reddit_client_secret": "test-secret",
    "reddit_username": "brandbot",
    "reddit_password": "test-password",
}


def _policy(waits: list[float] | None = None) -> RetryPolicy:
    return RetryPolicy(
        RetrySettings(max_attempts=3),
        sleep=(waits if waits is not None else []).append,
        rng=random.Random(1),
    )


def _posts(engine: Engine, source: str) -> list[Post]:
    with Session(engine) as session:
        return [row[0] for row in session.exec(select(Post).where(Post.source == source))]  # type: ignore[call-overload]


def _cursor(engine: Engine, name: str) -> dict[str, Any]:
    with Session(engine) as session:
        row = session.get(SourceCursor, name)
        return dict(row.position) if row else {}


def test_reddit_mentions_from_praw_cassette(engine: Engine) -> None:
    settings = ListenerSettings(
        **REDDIT_CREDS,
        sources=[{"name": "r-mentions", "platform": "reddit", "kind": "mentions", "max_pages": 1}],
    )
    with reddit_tape().use_cassette("TestInbox.test_mention__refresh.json"):
        [result] = collect(engine, settings, policy=_policy())
    assert result.ok and result.added == 100 and result.rejected == 0
    posts = _posts(engine, "r-mentions")
    assert all(
        p.external_id.startswith("t1_") and p.conversation_id and p.conversation_id.startswith("t3_") for p in posts
    )
    assert _cursor(engine, "r-mentions")["mentions"]["after"]


def test_reddit_comment_stream_is_incremental(engine: Engine) -> None:
    settings = ListenerSettings(
        **REDDIT_CREDS,
        brand_handles={"reddit": ["brandbot"]},
        sources=[
            {
                "name": "r-kakapo",
                "platform": "reddit",
                "kind": "subreddit",
                "subreddits": ["kakapo"],
                "listings": ["comments"],
            }
        ],
    )
    client = make_client(settings, {}, needs_user=False)  # one OAuth token for the three runs

    def factory(spec: SourceSettings, listener: ListenerSettings) -> Source:
        return RedditSource(spec, client, brand_handles=listener.brand_handles)

    with reddit_tape().use_cassette("TestSubredditStreams.test_comments__with_pause.json") as cassette:
        [first] = collect(engine, settings, factory=factory, policy=_policy())
        assert first.ok and first.added == 16 and first.pages == 1
        since = _cursor(engine, "r-kakapo")["comments"]["since"]
        newest = max(p.created_at for p in _posts(engine, "r-kakapo"))
        assert datetime.fromtimestamp(since, UTC) == newest
        # the recorded empty page (recorded with before=...)
        [second] = collect(engine, settings, factory=factory, policy=_policy())
        assert second.ok and second.added == 0
        # 17 comments, 16 of them already stored
        [third] = collect(engine, settings, factory=factory, policy=_policy())
        assert third.ok and third.added == 1 and third.duplicates == 16
        assert cassette.all_played


def test_reddit_keyword_filter_keeps_brand_comments(engine: Engine) -> None:
    settings = ListenerSettings(
        **REDDIT_CREDS,
        sources=[
            {
                "name": "r-ask",
                "platform": "reddit",
                "kind": "subreddit",
                "subreddits": ["askreddit"],
                "keywords": ["the"],
                "listings": ["comments"],
                "max_pages": 1,
            }
        ],
    )
    with reddit_tape().use_cassette("TestSubredditListings.test_comments.json"):
        [result] = collect(engine, settings, policy=_policy())
    assert result.ok and 0 < result.added < 100 and result.added + result.skipped == 100
    assert all("the" in p.text.lower() or "the" in (p.title or "").lower() for p in _posts(engine, "r-ask"))


def test_reddit_search_from_praw_cassette(engine: Engine) -> None:
    settings = ListenerSettings(
        **REDDIT_CREDS,
        sources=[
            {
                "name": "r-search",
                "platform": "reddit",
                "kind": "search",
                "query": "praw oauth search",
            }
        ],
    )
    with reddit_tape().use_cassette("TestSubreddit.test_search.json"):
        [result] = collect(engine, settings, policy=_policy())
    assert result.ok and result.added == 6
    assert all(p.external_id.startswith("t3_") and p.title for p in _posts(engine, "r-search"))


FEED = "https://itunes.apple.com/{country}/rss/customerreviews/page={page}/id=1349913150/sortby=mostrecent/json"


@responses.activate
def test_appstore_pages_per_country_and_throttling(engine: Engine) -> None:
    settings = ListenerSettings(
        sources=[
            {
                "name": "ios",
                "platform": "appstore",
                "app_id": "1349913150",
                "countries": ["nl", "us"],
            }
        ]
    )
    old = [
        appstore_entry("100", updated="2023-02-01T05:00:00-07:00"),
        appstore_entry("99", updated="2023-01-31T05:00:00-07:00"),
    ]
    responses.get(FEED.format(country="nl", page=1), json=appstore_feed(old))
    responses.get(FEED.format(country="nl", page=2), json=appstore_feed(None))
    responses.get(FEED.format(country="us", page=1), json=appstore_feed(None))  # throttled
    [first] = collect(engine, settings, policy=_policy())
    assert first.ok and first.added == 2 and first.pages == 3
    position = _cursor(engine, "ios")
    assert position["countries"]["nl"] == {"since": "2023-02-01T12:00:00+00:00"}
    assert position["countries"]["us"] == {}  # throttled: nothing learned, nothing advanced

    responses.reset()
    newer = appstore_entry("101", updated="2023-02-02T05:00:00-07:00")
    responses.get(FEED.format(country="nl", page=1), json=appstore_feed([newer, *old]))
    responses.get(FEED.format(country="us", page=1), json=appstore_feed(appstore_entry("7")))
    responses.get(FEED.format(country="us", page=2), status=503)
    responses.get(FEED.format(country="us", page=2), json=appstore_feed(None))
    waits: list[float] = []
    [second] = collect(engine, settings, policy=_policy(waits))
    assert second.ok and second.added == 2 and second.duplicates == 2 and len(waits) == 1
    assert {p.external_id for p in _posts(engine, "ios")} == {"99", "100", "101", "7"}


class FakeToken:
    def __init__(self, token: str | None) -> None:
        self.token = token


def test_googleplay_pages_with_continuation(engine: Engine) -> None:
    now = datetime(2026, 11, 2, 12, 0)  # naive, as google-play-scraper returns (host-local)
    pages = {
        None: (
            [play_review(f"gp-{i}", at=now - timedelta(hours=i), name=f"U{i}") for i in range(3)],
            FakeToken("t1"),
        ),
        "t1": (
            [play_review("gp-3", at=now - timedelta(hours=3), reply="Fixed", replied_at=now)],
            FakeToken(None),
        ),
    }
    calls: list[dict[str, Any]] = []

    def fake_reviews(app_id: str, **kwargs: Any) -> tuple[list[dict[str, Any]], Any]:
        calls.append(kwargs)
        token = kwargs.get("continuation_token")
        return pages[token.token if token else None]

    def factory(spec: SourceSettings, settings: ListenerSettings) -> Source:
        return GooglePlaySource(spec, reviews_fn=fake_reviews)

    settings = ListenerSettings(sources=[{"name": "android", "platform": "googleplay", "app_id": "com.acme"}])
    [result] = collect(engine, settings, factory=factory, policy=_policy())
    assert result.ok and result.added == 4 and result.pages == 2
    assert calls[0]["sort"].name == "NEWEST" and calls[0]["country"] == "us"
    answered = [p for p in _posts(engine, "android") if p.answered_at is not None]
    assert [p.external_id for p in answered] == ["gp-3"]
    # the next run stops at the first review it has seen
    pages[None] = (
        [play_review("gp-new", at=now + timedelta(hours=1)), *pages[None][0]],
        FakeToken("t1"),
    )
    [again] = collect(engine, settings, factory=factory, policy=_policy())
    assert again.added == 1 and again.pages == 1


def test_file_source_imports_new_and_changed_files_once(engine: Engine, tmp_path: Path, shared: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "brexit.jsonl").write_bytes((shared / "fixtures/x/twarc/brexit.jsonl").read_bytes())
    settings = ListenerSettings(
        sources=[
            {
                "name": "drop",
                "platform": "file",
                "files": [str(drop / "*.jsonl")],
                "file_platform": "x",
            }
        ]
    )
    [first] = collect(engine, settings, policy=_policy())
    assert first.ok and first.added == 100 and first.platform == "x"
    [second] = collect(engine, settings, policy=_policy())
    assert second.ok and second.pages == 1 and second.added == 0 and second.duplicates == 0
    (drop / "stream.jsonl").write_bytes((shared / "fixtures/x/twarc/streaming_output_with_error.jsonl").read_bytes())
    [third] = collect(engine, settings, policy=_policy())
    assert third.added == 7 and third.rejected == 1


def test_build_source_needs_reddit_user_for_mentions() -> None:
    spec = SourceSettings(name="m", platform="reddit", kind="mentions")
    settings = ListenerSettings(reddit_client_id="a1", reddit_client_secret="b2", sources=[spec])
    try:
        build_source(spec, settings, env={})
    except RuntimeError as exc:
        assert "REDDIT_USERNAME" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("mentions without the brand account must be refused")


@responses.activate
def test_reddit_429_retry_after_and_timeouts(engine: Engine, shared: Path) -> None:
    import json as _json

    responses.post(
        "https://www.reddit.com/api/v1/access_token",
        json={"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"},
    )
    listing = _json.loads((shared / "fixtures/reddit/bodies/TestSubredditListings.test_new.1.json").read_text())["body"]
    url = "https://oauth.reddit.com/r/askreddit/new"
    responses.get(
        url,
        status=429,
        headers={"Retry-After": "7"},
        json={"message": "Too Many Requests", "error": 429},
    )
    responses.get(url, body=requests.exceptions.ConnectTimeout("timed out"))
    responses.get(url, json=listing)
    settings = ListenerSettings(
        **REDDIT_CREDS,
        sources=[
            {
                "name": "r-new",
                "platform": "reddit",
                "kind": "subreddit",
                "subreddits": ["askreddit"],
                "listings": ["submissions"],
                "max_pages": 1,
            }
        ],
    )
    waits: list[float] = []
    [result] = collect(engine, settings, policy=_policy(waits))
    assert result.ok and result.added == 100
    # our wait honours Retry-After (+ jitter); the timeout is retried by prawcore's own bounded retry
    assert len(waits) == 1 and 7 <= waits[0] <= 8


def test_cli_collect_runs_configured_sources(tmp_path: Path, shared: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from engagebot.cli import app

    (tmp_path / "engagebot.toml").write_text(
        f'database_url = "sqlite:///{tmp_path / "cli.db"}"\n'
        "[listener]\n"
        "[[listener.sources]]\n"
        'name = "drop"\nplatform = "file"\nfile_platform = "x"\n'
        f'files = ["{shared / "fixtures/x/twarc/brexit.jsonl"}"]\n'
        "[[listener.sources]]\n"
        'name = "x-live"\nplatform = "x"\nquery = "acme"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    runner = CliRunner()
    result = runner.invoke(app, ["collect", "--json"])
    assert result.exit_code == 1  # x-live has no credentials: reported, the file source still ran
    rows = {r["source"]: r for r in json.loads(result.stdout)}
    assert rows["drop"]["added"] == 100 and rows["drop"]["ok"]
    assert not rows["x-live"]["ok"] and "X_BEARER_TOKEN" in rows["x-live"]["error"]
    only = runner.invoke(app, ["collect", "--source", "drop"])
    assert only.exit_code == 0 and "drop" in only.stdout
    unknown = runner.invoke(app, ["collect", "--source", "nope"])
    assert unknown.exit_code == 2 and "unknown source" in unknown.output
