"""Facebook Page and Instagram collectors: the recorded Graph bodies import once, the live sources
page through a local fake Graph API incrementally, and Meta's usage headers pause them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_api import Answer, FakeApi, fake_api
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from typer.testing import CliRunner

from db.models import Author, Post, SourceCursor
from engagebot.cli import app
from listener.collect import run_source
from listener.importer import import_files
from listener.ratelimit import RetryPolicy
from listener.settings import ListenerSettings, RetrySettings, SourceSettings
from listener.sources.facebook import FacebookSource
from listener.sources.graph import GraphClient, usage_wait
from listener.sources.instagram import InstagramSource

PAGE_ID = "19292868552"
POST_ID = f"{PAGE_ID}_10158407654328553"
IG_USER = "17841406338772941"
NOW = datetime(2021, 8, 20, 12, 0, tzinfo=UTC)


def _load(shared: Path, name: str) -> Any:
    return json.loads((shared / "fixtures/meta" / name).read_text(encoding="utf-8"))


def _posts(engine: Engine, platform: str) -> dict[str, Post]:
    with Session(engine) as session:
        rows = session.exec(select(Post).where(Post.platform == platform)).all()  # type: ignore[call-overload]
        return {row[0].external_id: row[0] for row in rows}


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Post)).one()[0])  # type: ignore[call-overload]


def test_recorded_facebook_bodies_import_once_with_threads(engine: Engine, shared: Path) -> None:
    files = sorted((shared / "fixtures/meta/facebook").glob("*.json"))
    first = import_files(engine, platform="facebook", paths=files)
    # 25 records in 7 bodies; one comment is in both the single and the ?ids= batch body
    assert (first.added, first.duplicates, first.rejected) == (24, 1, 0)
    again = import_files(engine, platform="facebook", paths=files)
    assert (again.added, again.duplicates) == (0, 25)
    posts = _posts(engine, "facebook")
    assert len(posts) == 24
    # comments carry no id in the recording: rebuilt from permalink_url as Graph spells ids
    reply = posts["10158407654328553_10158409983033553"]
    assert reply.text.startswith("Hi, please access the Instagram Help Center")
    assert reply.conversation_id == reply.in_reply_to_id == "10158407654328553_10158407903973553"
    top = posts["10158407654328553_10158407903973553"]
    assert top.conversation_id == top.external_id and top.in_reply_to_id == POST_ID
    assert top.created_at.replace(tzinfo=UTC) == datetime(2021, 8, 10, 19, 38, 44, tzinfo=UTC)  # "+0000"
    # the ?ids= batch (an object keyed by id) stores both of its comments
    assert "10158371815748553_10158372268858553" in posts
    feed_post = posts["19292868552_10158349356748553"]
    assert feed_post.conversation_id == feed_post.external_id and feed_post.url


def test_recorded_instagram_bodies_and_mentions_import_once(sqlite_engine: Engine, shared: Path) -> None:
    files = sorted((shared / "fixtures/meta/instagram").glob("*.json"))
    first = import_files(sqlite_engine, platform="instagram", paths=files)
    # media without a caption (the hashtag page, the brand's media page) carry nothing to read
    assert (first.added, first.rejected) == (5, 0)
    assert import_files(sqlite_engine, platform="instagram", paths=files).added == 0
    posts = _posts(sqlite_engine, "instagram")
    mention = posts["17967008497439572"]  # mentioned_comment
    assert mention.text == "@ikroskun good"
    with Session(sqlite_engine) as session:
        author = session.get(Author, mention.author_id)
        assert author is not None and author.handle == "ikroskun"
    assert posts["17889114512354744"].text == "@ikroskun hey"  # mentioned_media's caption


def test_import_posts_cli_takes_graph_bodies(
    sqlite_engine: Engine, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGEBOT_DATABASE_URL", str(sqlite_engine.url))
    path = shared / "fixtures/meta/facebook/comments_comments_p1.json"
    result = CliRunner().invoke(app, ["import-posts", "--platform", "facebook", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{") :])["added"] == 10  # after the log line


def _settings(api: FakeApi, **source: Any) -> ListenerSettings:
    return ListenerSettings(
        brand_handles={"facebook": [PAGE_ID], "instagram": ["skylarkair"]},
        graph_api_base=api.url + "/v21.0",
        facebook_page_token="page-token-123",
        retry=RetrySettings(max_attempts=2, backoff_seconds=0, max_rate_limit_wait_seconds=60),
        sources=[SourceSettings(**source)],
    )


def _with_from(body: dict[str, Any], page_reply_ids: set[str]) -> dict[str, Any]:
    """The recorded page as the collector asks for it (``id``, ``from``, ``parent``): the same
    comments, with the Page named as the author of its own replies."""
    data = []
    for item in body["data"]:
        url = item["permalink_url"]
        comment = url.split("comment_id=")[1].split("&")[0]
        reply = url.split("reply_comment_id=")[1] if "reply_comment_id=" in url else None
        row = {**item, "id": f"10158407654328553_{reply or comment}"}
        if reply:
            row["parent"] = {"id": f"10158407654328553_{comment}"}
        if row["id"] in page_reply_ids:
            row["from"] = {"id": PAGE_ID, "name": "Facebook for Developers"}
        else:
            row["from"] = {"id": f"user{comment[-4:]}", "name": "A customer"}
        data.append(row)
    return {**body, "data": data}


def test_facebook_page_source_pages_incrementally(sqlite_engine: Engine, shared: Path) -> None:
    feed = {
        "data": [
            {
                "id": POST_ID,
                "message": "Introducing the new Page experience",
                "created_time": "2021-08-10T17:00:00+0000",
                "updated_time": "2021-08-12T18:30:51+0000",
                "from": {"id": PAGE_ID, "name": "Facebook for Developers"},
            }
        ],
        "paging": {"cursors": {"before": "b", "after": "feed2"}, "next": "https://graph.facebook.com/next"},
    }
    comments = _with_from(
        _load(shared, "facebook/comments_comments_p1.json"),
        {"10158407654328553_10158409983033553", "10158407654328553_10158409984103553"},
    )
    comments["paging"]["next"] = "https://graph.facebook.com/next"  # a second page: the last one
    with fake_api() as api:
        api.on("GET", f"/v21.0/{PAGE_ID}/feed", Answer(feed), Answer({"data": [], "paging": {}}))
        api.on("GET", f"/v21.0/{POST_ID}/comments", Answer(comments), Answer({"data": []}))
        settings = _settings(api, name="fb", platform="facebook", page_id=PAGE_ID)
        factory = _factory(api, settings)
        result = run_source(sqlite_engine, settings, "fb", factory=factory)
        assert result.ok, result.error
        assert (result.added, result.pages) == (11, 4)
        feed_call, comments_call = (
            api.seen("GET", f"/v21.0/{PAGE_ID}/feed")[0],
            api.seen("GET", f"/v21.0/{POST_ID}/comments")[0],
        )
        assert feed_call.headers["authorization"] == "Bearer page-token-123"
        assert feed_call.query["since"] == str(int(NOW.timestamp()) - 14 * 86400)
        assert comments_call.query["filter"] == "stream" and comments_call.query["order"] == "reverse_chronological"
        assert "parent{id}" in comments_call.query["fields"] and "from" in comments_call.query["fields"]
        assert api.seen("GET", f"/v21.0/{POST_ID}/comments")[1].query["after"] == comments["paging"]["cursors"]["after"]
        posts = _posts(sqlite_engine, "facebook")
        # the Page's replies mark the two threads it answered, and only those
        answered = {k for k, p in posts.items() if p.answered_at is not None}
        assert answered == {
            "10158407654328553_10158407903973553",
            "10158407654328553_10158407835073553",
        }
        assert posts[POST_ID].is_brand and posts["10158407654328553_10158409983033553"].is_brand
        with Session(sqlite_engine) as session:
            cursor = session.get(SourceCursor, "fb")
            assert cursor is not None and cursor.position == {"watermark": NOW.isoformat()}
        # the next pass: the post has not been updated since, so no comment page is read again
        before = len(api.requests)
        again = run_source(sqlite_engine, settings, "fb", factory=_factory(api, settings, now=NOW.replace(hour=13)))
        assert again.ok and again.added == 0
        assert [r.path for r in api.requests[before:]] == [f"/v21.0/{PAGE_ID}/feed"]


def _factory(api: FakeApi, settings: ListenerSettings, now: datetime = NOW) -> Any:
    def build(spec: SourceSettings, _: ListenerSettings) -> Any:
        client = GraphClient(base_url=settings.graph_api_base, token="page-token-123", timeout=5)
        if spec.platform == "facebook":
            return FacebookSource(spec, client, now=lambda: now)
        return InstagramSource(spec, client, now=lambda: now)

    return build


def test_instagram_comments_source_reads_media_whose_count_moved(sqlite_engine: Engine, shared: Path) -> None:
    media = _load(shared, "instagram/users_medias_p1.json")
    media["paging"].pop("next")
    comments = _load(shared, "instagram/medias_comments_p1.json")
    comments["data"][0]["replies"] = {
        "data": [
            {
                "id": "17900000000000001",
                "text": "So sorry, we have sent you a DM",
                "timestamp": "2021-08-14T09:00:00+0000",
                "username": "skylarkair",
            }
        ]
    }
    comments["paging"].pop("next")
    with fake_api() as api:
        api.on("GET", f"/v21.0/{IG_USER}/media", Answer(media))
        api.on("GET", "/v21.0/17896622936197745/comments", Answer(comments))
        settings = _settings(api, name="ig", platform="instagram", kind="comments", ig_user_id=IG_USER)
        result = run_source(sqlite_engine, settings, "ig", factory=_factory(api, settings))
        assert result.ok, result.error
        assert result.added == 3 and result.skipped == 2
        # only the media with comments is read (comments_count 6; the other has 0)
        assert [r.path for r in api.requests] == [f"/v21.0/{IG_USER}/media", "/v21.0/17896622936197745/comments"]
        posts = _posts(sqlite_engine, "instagram")
        assert posts["17858154961981086"].answered_at is not None  # the brand's reply in its thread
        assert posts["17874875428706419"].answered_at is None
        assert posts["17858154961981086"].in_reply_to_id == "17896622936197745"
        # nothing moved: the next pass reads the media list only
        before = len(api.requests)
        assert run_source(sqlite_engine, settings, "ig", factory=_factory(api, settings)).added == 0
        assert len(api.requests) == before + 1


def test_usage_headers_pause_the_source() -> None:
    business = json.dumps(
        {
            "112": [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 12,
                    "total_time": 20,
                    "estimated_time_to_regain_access": 12,
                }
            ]
        }
    )
    assert usage_wait({"X-Business-Use-Case-Usage": business}, pause_percent=90) == 720
    assert usage_wait({"X-App-Usage": '{"call_count": 95, "total_time": 10, "total_cputime": 10}'}, pause_percent=90)
    assert (
        usage_wait({"X-App-Usage": '{"call_count": 28, "total_time": 25, "total_cputime": 25}'}, pause_percent=90)
        is None
    )


def test_usage_at_the_limit_stops_the_run_and_resumes(sqlite_engine: Engine, shared: Path) -> None:
    feed = _load(shared, "facebook/posts_feed_fields_p1.json")
    headers = {"X-Business-Use-Case-Usage": json.dumps({"1": [{"type": "pages", "call_count": 100,
                                                               "estimated_time_to_regain_access": 30}]})}  # fmt: skip
    with fake_api() as api:
        api.on("GET", "/v21.0/4/feed", Answer(feed, headers=headers))
        settings = _settings(api, name="fb", platform="facebook", page_id="4")
        result = run_source(
            sqlite_engine,
            settings,
            "fb",
            factory=_factory(api, settings),
            policy=RetryPolicy(settings.retry, sleep=lambda s: None),
        )
        assert result.ok and result.added == 5 and result.pages == 1
        assert result.stopped is not None and "rate limited for 18" in result.stopped  # 30 min > the 60 s cap
        assert len(api.requests) == 1  # the paused call was never sent
        with Session(sqlite_engine) as session:
            cursor = session.get(SourceCursor, "fb")
            assert cursor is not None and cursor.position["feed_params"]["until"] == "1624385168"


def test_expired_token_names_the_setting(sqlite_engine: Engine) -> None:
    error = {"error": {"message": "Error validating access token: Session has expired", "type": "OAuthException",
                       "code": 190, "error_subcode": 463}}  # fmt: skip
    with fake_api() as api:
        api.on("GET", f"/v21.0/{PAGE_ID}/feed", Answer(error, status=400))
        settings = _settings(api, name="fb", platform="facebook", page_id=PAGE_ID)
        result = run_source(sqlite_engine, settings, "fb", factory=_factory(api, settings))
        assert result.error is not None and "FACEBOOK_PAGE_TOKEN" in result.error and "expired" in result.error
        assert _count(sqlite_engine) == 0


def test_instagram_mentions_kind_reads_tagged_media_back_to_the_last_pass(sqlite_engine: Engine, shared: Path) -> None:
    mentioned = _load(shared, "instagram/users_mentioned_media.json")["mentioned_media"]
    older = {**mentioned, "id": "17889114512350000", "caption": "@skylarkair lovely crew", "username": "ikroskun",
             "timestamp": "2021-08-18T09:00:00+0000"}  # fmt: skip
    first = {"data": [{**mentioned, "username": "ikroskun"}], "paging": {"cursors": {"after": "t2"}, "next": "n"}}
    second = {"data": [older], "paging": {"cursors": {"after": "t3"}}}
    with fake_api() as api:
        api.on("GET", f"/v21.0/{IG_USER}/tags", lambda seen: Answer(second if seen.query.get("after") else first))
        settings = _settings(api, name="ig-tags", platform="instagram", kind="mentions", ig_user_id=IG_USER)
        result = run_source(sqlite_engine, settings, "ig-tags", factory=_factory(api, settings))
        assert result.ok, result.error
        assert (result.added, result.pages) == (2, 2)
        assert "caption" in api.requests[0].query["fields"]
        # the next pass stops on the first page: its media is older than the last pass
        again = run_source(
            sqlite_engine, settings, "ig-tags", factory=_factory(api, settings, now=NOW.replace(hour=13))
        )
        assert (again.added, again.pages) == (0, 1)
