"""Parsers on the real recorded payloads (fixtures) and on built edge cases."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from listener_payloads import (
    appstore_entry,
    appstore_feed,
    play_review,
    reddit_comment,
    reddit_listing,
    tweet,
    user,
    x_response,
)

from listener.parsers import appstore, googleplay, parse_body, reddit, x
from listener.parsers.tabular import parse_row
from listener.records import RecordError


def _line(shared: Path, name: str) -> dict:
    return json.loads((shared / "fixtures/x/twarc" / name).read_text().splitlines()[0])


def _body(shared: Path, folder: str, name: str) -> object:
    return json.loads((shared / "fixtures" / folder / "bodies" / name).read_text())["body"]


# --- X -------------------------------------------------------------------------------------


def test_x_search_page_with_full_expansions(shared: Path) -> None:
    page = x.parse_response(_line(shared, "brexit.jsonl"))
    assert len(page.posts) == 100 and not page.rejected
    langs = Counter(p.lang for p in page.posts)
    assert langs["en"] == 92 and langs["de"] == 4 and langs["es"] == 1
    assert langs[None] == 3  # "und" is no language: left for detection
    replies = [p for p in page.posts if p.in_reply_to_id]
    assert len(replies) == 10
    assert all(p.conversation_id != p.external_id for p in replies)
    reply = next(p for p in replies if p.external_id == "1440716745577140229")
    assert reply.conversation_id == reply.in_reply_to_id == "1440621713281093641"
    assert reply.author is not None and reply.author.handle == "calin_a"
    assert reply.author.followers == 1150 and reply.author.external_id == "870028999"
    assert reply.url == "https://x.com/calin_a/status/1440716745577140229"
    assert reply.created_at == datetime(2021, 9, 22, 16, 36, 54, tzinfo=UTC)
    assert all(p.author is not None and p.author.followers is not None for p in page.posts)


def test_x_engagement_sums_public_metrics() -> None:
    body = x_response([tweet("1600000000000000001", "hi", author_id="7", likes=5)], [user("7", "Ann")])
    post = x.parse_response(body).posts[0]
    assert post.engagement == 5 + 2 + 1 + 0
    assert post.author is not None and post.author.handle == "ann"


def test_x_partial_errors_keep_the_page(shared: Path) -> None:
    body = _line(shared, "noflat.jsonl")
    assert body["errors"]
    page = x.parse_response(body)
    assert len(page.posts) == len(body["data"]) == 100 and not page.rejected


def test_x_retweet_edit_and_single_object_data(shared: Path) -> None:
    retweet = x.parse_response(_line(shared, "mentions_tweet.jsonl")).posts
    assert len(retweet) == 1 and retweet[0].text.startswith("RT @")
    edited = x.parse_response(_line(shared, "edited.jsonl")).posts
    before = x.parse_response(_line(shared, "edited_before.jsonl")).posts
    assert len(edited) == len(before) == 1
    single = x.parse_response({"data": tweet("1600000000000000002", "ok", author_id="9")})
    assert [p.external_id for p in single.posts] == ["1600000000000000002"]


def test_x_default_fields_only_recover_time_from_snowflake(shared: Path) -> None:
    page = x.parse_response(_body(shared, "x", "test_client_search_recent_tweets.0.GET.json"))
    assert len(page.posts) == 10
    first = page.posts[0]
    assert first.external_id == "1578516068309794817"
    # the tweet's text is the time tweepy's test posted it: the snowflake gives the same second
    assert first.created_at.replace(microsecond=0) == datetime(2022, 10, 7, 22, 42, 12, tzinfo=UTC)
    assert first.author is None and first.conversation_id is None and first.engagement is None


def test_x_user_lookups_and_garbage_are_rejected_not_raised(shared: Path) -> None:
    page = x.parse_response(_line(shared, "users.jsonl"))
    assert not page.posts and page.rejected
    assert all("user object" in r.error for r in page.rejected)
    for body in (
        None,
        [],
        "text",
        {"foo": 1},
        {"data": 3},
        {"data": [1, {"id": "x", "text": "t"}]},
    ):
        result = x.parse_response(body)
        assert not result.posts and result.rejected


def test_x_deleted_author_and_non_latin_text() -> None:
    body = x_response(
        [
            tweet("1600000000000000003", "航空会社の対応が最悪 😡", author_id="404", lang="ja"),
            tweet("1600000000000000004", "ужасный сервис", author_id="5", lang="ru"),
        ],
        [user("5", "Ivan")],
    )
    page = x.parse_response(body)
    ja, ru = page.posts
    assert ja.text == "航空会社の対応が最悪 😡" and ja.lang == "ja"
    assert ja.author is not None and ja.author.external_id == "404" and ja.author.handle is None
    assert ja.url == "https://x.com/i/web/status/1600000000000000003"
    assert ru.author is not None and ru.author.handle == "ivan"


# --- Reddit --------------------------------------------------------------------------------


def test_reddit_submission_with_comment_tree(shared: Path) -> None:
    page = reddit.parse_listing(_body(shared, "reddit", "TestSubmission.test_comments.1.json"))
    submission = page.posts[0]
    assert submission.external_id == "t3_2gmzqe" and submission.conversation_id == "t3_2gmzqe"
    assert submission.title
    comments = page.posts[1:]
    assert comments and all(c.conversation_id == "t3_2gmzqe" for c in comments)
    assert all(c.in_reply_to_id and c.in_reply_to_id.startswith(("t1_", "t3_")) for c in comments)


def test_reddit_listings_comments_and_submissions(shared: Path) -> None:
    comments = reddit.parse_listing(_body(shared, "reddit", "TestSubredditListings.test_comments.1.json"))
    assert len(comments.posts) + comments.skipped == 100 and not comments.rejected
    assert all(p.external_id.startswith("t1_") and p.conversation_id for p in comments.posts)
    new = reddit.parse_listing(_body(shared, "reddit", "TestSubredditListings.test_new.1.json"))
    assert len(new.posts) == 100
    assert all(p.title and p.engagement is not None and p.lang is None for p in new.posts)


def test_reddit_mentions_get_thread_from_context(shared: Path) -> None:
    page = reddit.parse_listing(_body(shared, "reddit", "TestInbox.test_mentions.1.json"))
    assert len(page.posts) == 16
    assert all(p.conversation_id and p.conversation_id.startswith("t3_") for p in page.posts)


def test_reddit_deleted_things_and_more_stubs() -> None:
    listing = reddit_listing(
        [
            reddit_comment("c1", "[deleted]", author="[deleted]"),
            reddit_comment("c2", "still here, author gone 🙃", author="[deleted]"),
            {"kind": "more", "data": {"count": 3, "children": ["a", "b"]}},
            {"kind": "t5", "data": {"name": "t5_x"}},
        ]
    )
    page = reddit.parse_listing(listing)
    assert [p.external_id for p in page.posts] == ["t1_c2"]
    assert page.posts[0].author is None
    assert page.skipped == 2 and len(page.rejected) == 1


# --- App Store -----------------------------------------------------------------------------


def test_appstore_feed_and_its_traps() -> None:
    metadata = {"im:name": {"label": "Acme"}, "id": {"label": "1"}}
    page = appstore.parse_feed(appstore_feed([metadata, appstore_entry("9571111689")]))
    assert page.skipped == 1 and len(page.posts) == 1
    post = page.posts[0]
    assert post.external_id == "9571111689" and post.rating == 1 and post.app_version == "2023.2.0"
    assert post.created_at == datetime(2023, 2, 1, 12, 6, 45, tzinfo=UTC)
    assert post.author is not None and post.author.external_id == "9571111689"
    assert post.title == "Crashes on start" and post.lang is None
    single = appstore.parse_feed(appstore_feed(appstore_entry("1")))  # one review: an object
    assert len(single.posts) == 1
    empty = appstore.parse_feed(appstore_feed(None))
    assert empty.empty_feed and not empty.posts and not empty.rejected
    bad = appstore_entry("2", rating=1)
    bad["im:rating"] = {"label": "nine"}
    assert len(appstore.parse_feed(appstore_feed([bad])).rejected) == 1


# --- Google Play ---------------------------------------------------------------------------


def test_googleplay_naive_local_times_reply_and_name_id() -> None:
    cet = timezone(timedelta(hours=1))
    naive = datetime(2026, 11, 2, 10, 0)
    review = play_review("gp:1", at=naive, reply="Sorry! Fixed in 5.1.1", replied_at=datetime(2026, 11, 2, 12, 0))
    page = googleplay.parse_reviews([review], naive_tz=cet, app_id="com.acme")
    post = page.posts[0]
    assert post.created_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert post.answered_at == datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    assert post.rating == 2 and post.app_version == "5.1.0"
    again = googleplay.parse_reviews([play_review("gp:2", at=naive)], naive_tz=cet).posts[0]
    assert post.author is not None and again.author is not None
    assert post.author.external_id == again.author.external_id and again.answered_at is None
    json_file_review = play_review("gp:3", at="2026-11-02T10:00:00")
    assert parse_body("googleplay", [json_file_review]).posts[0].created_at.hour == 10


# --- CSV / JSONL exports -------------------------------------------------------------------


def test_trustpilot_export_with_company_reply() -> None:
    row = {
        "id": "tp-1",
        "stars": 1,
        "title": "Lost my bag",
        "text": "Nobody answers the phone.",
        "language": "en",
        "createdAt": "2026-11-01T08:00:00Z",
        "consumer": {"id": "c-9", "displayName": "Ann S"},
        "companyReply": {"text": "We are sorry", "createdAt": "2026-11-01T10:00:00Z"},
    }
    post = parse_row(row, platform="jsonl", column_map={})
    assert post.external_id == "tp-1" and post.rating == 1 and post.lang == "en"
    assert post.answered_at == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert post.author is not None and post.author.external_id == "c-9"


def test_csv_row_mapping_and_errors() -> None:
    row = {
        "Review": "Great food, slow service",
        "Date": "2026-10-30",
        "Reviewer": "@Bob",
        "Stars": "3",
    }
    post = parse_row(row, platform="csv", column_map={"Review": "text", "Date": "created_at", "Stars": "rating"})
    assert post.text == "Great food, slow service" and post.rating == 3
    assert post.author is not None and post.author.handle == "bob"
    assert (
        post.external_id
        == parse_row(row, platform="csv", column_map={"Review": "text", "Date": "created_at"}).external_id
    )
    with pytest.raises(RecordError, match="no text"):
        parse_row({"Date": "2026-10-30"}, platform="csv", column_map={})
    with pytest.raises(RecordError, match="timestamp"):
        parse_row({"text": "x", "date": "yesterday-ish"}, platform="csv", column_map={})
