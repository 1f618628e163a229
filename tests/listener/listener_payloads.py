"""Payload builders with the platforms' real shapes, for edge cases no recording covers."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import vcr
from vcr.persisters.filesystem import FilesystemPersister
from vcr.serialize import deserialize

BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def tweet(
    tweet_id: str,
    text: str,
    *,
    author_id: str,
    minutes: int = 0,
    conversation_id: str | None = None,
    reply_to: str | None = None,
    lang: str = "en",
    likes: int = 0,
) -> dict[str, Any]:
    """An X API v2 tweet object as returned with our expansions and fields."""
    body: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "author_id": author_id,
        "conversation_id": conversation_id or tweet_id,
        "created_at": iso(BASE + timedelta(minutes=minutes)),
        "lang": lang,
        "public_metrics": {
            "retweet_count": 1,
            "reply_count": 2,
            "like_count": likes,
            "quote_count": 0,
        },
        "edit_history_tweet_ids": [tweet_id],
    }
    if reply_to:
        body["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        body["in_reply_to_user_id"] = "1"
    return body


def user(user_id: str, username: str, *, followers: int = 10, name: str | None = None) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "name": name or username.title(),
        "verified": False,
        "public_metrics": {"followers_count": followers, "following_count": 1, "tweet_count": 5},
    }


def x_response(
    tweets: Sequence[dict[str, Any]],
    users: Sequence[dict[str, Any]] = (),
    *,
    next_token: str | None = None,
) -> dict[str, Any]:
    ids = [t["id"] for t in tweets]
    meta: dict[str, Any] = {"result_count": len(tweets)}
    if ids:
        meta["newest_id"] = max(ids, key=int)
        meta["oldest_id"] = min(ids, key=int)
    if next_token:
        meta["next_token"] = next_token
    body: dict[str, Any] = {"meta": meta}
    if tweets:
        body["data"] = list(tweets)
    if users:
        body["includes"] = {"users": list(users)}
    return body


def reddit_comment(
    comment_id: str,
    body: str,
    *,
    author: str,
    link: str = "abc123",
    parent: str | None = None,
    created: float = 1_762_070_400.0,
    score: int = 3,
) -> dict[str, Any]:
    return {
        "kind": "t1",
        "data": {
            "id": comment_id,
            "name": f"t1_{comment_id}",
            "body": body,
            "author": author,
            "link_id": f"t3_{link}",
            "parent_id": parent or f"t3_{link}",
            "created_utc": created,
            "score": score,
            "permalink": f"/r/acme/comments/{link}/x/{comment_id}/",
            "subreddit": "acme",
            "replies": "",
        },
    }


def reddit_listing(children: Sequence[dict[str, Any]], *, after: str | None = None) -> dict[str, Any]:
    return {
        "kind": "Listing",
        "data": {"after": after, "before": None, "children": list(children), "dist": len(children)},
    }


def appstore_entry(review_id: str, *, rating: int = 1, updated: str = "2023-02-01T05:06:45-07:00") -> dict[str, Any]:
    return {
        "author": {
            "uri": {"label": f"https://itunes.apple.com/nl/reviews/id{int(review_id) % 10**10}"},
            "name": {"label": f"User{review_id}"},
            "label": "",
        },
        "updated": {"label": updated},
        "im:rating": {"label": str(rating)},
        "im:version": {"label": "2023.2.0"},
        "id": {"label": review_id},
        "title": {"label": "Crashes on start"},
        "content": {
            "label": "The app crashes every time since the update.",
            "attributes": {"type": "text"},
        },
        "link": {
            "attributes": {
                "rel": "related",
                "href": f"https://itunes.apple.com/nl/review?id=1&type=Purple%20Software&r={review_id}",
            }
        },
        "im:voteSum": {"label": "2"},
        "im:voteCount": {"label": "3"},
        "im:contentType": {"attributes": {"term": "Application", "label": "Applicatie"}},
    }


def appstore_feed(entries: Sequence[dict[str, Any]] | dict[str, Any] | None) -> dict[str, Any]:
    feed: dict[str, Any] = {
        "author": {
            "name": {"label": "iTunes Store"},
            "uri": {"label": "http://www.apple.com/nl/itunes/"},
        },
        "updated": {"label": "2023-02-01T06:00:00-07:00"},
        "title": {"label": "iTunes Store: Customer Reviews"},
        "id": {"label": "https://itunes.apple.com/nl/rss/customerreviews/page=1/id=1/sortby=mostrecent/json"},
        "link": [
            {
                "attributes": {
                    "rel": "next",
                    "href": "https://itunes.apple.com/nl/rss/customerreviews/page=2/id=1/sortby=mostrecent/xml",
                }
            }
        ],
    }
    if entries is not None:
        feed["entry"] = entries if isinstance(entries, dict) else list(entries)
    return {"feed": feed}


def play_review(
    review_id: str,
    *,
    name: str = "Ann Smith",
    at: datetime | str,
    reply: str | None = None,
    replied_at: datetime | str | None = None,
    score: int = 2,
) -> dict[str, Any]:
    return {
        "reviewId": review_id,
        "userName": name,
        "userImage": "https://play-lh.googleusercontent.com/a/x",
        "content": "Keeps logging me out.",
        "score": score,
        "thumbsUpCount": 4,
        "reviewCreatedVersion": "5.1.0",
        "at": at,
        "replyContent": reply,
        "repliedAt": replied_at,
        "appVersion": "5.1.0",
    }


def write_json(path: Path, body: Any) -> Path:
    path.write_text(json.dumps(body, default=str), encoding="utf-8")
    return path


class JoinedPersister(FilesystemPersister):
    """Plays several recorded cassettes as one: ``use_cassette("a.yaml+b.yaml")``."""

    @classmethod
    def load_cassette(cls, cassette_path: Any, serializer: Any) -> Any:
        path = Path(cassette_path)
        requests: list[Any] = []
        responses: list[Any] = []
        for name in path.name.split("+"):
            loaded = deserialize((path.parent / name).read_text(), serializer)
            requests.extend(loaded[0])
            responses.extend(loaded[1])
        return requests, responses


def x_tape() -> vcr.VCR:
    """tweepy's cassettes; queries are not matched (our collector asks for more fields)."""
    tape = vcr.VCR(
        cassette_library_dir=str(_shared() / "fixtures/x/cassettes"),
        filter_headers=["Authorization"],
        record_mode="none",
        decode_compressed_response=True,
        match_on=["method", "scheme", "host", "port", "path"],
    )
    tape.register_persister(JoinedPersister)
    return tape


FILL = {"<TEST_SUBREDDIT>": "testsub", "<USERNAME>": "brandbot"}


class PlaceholderPersister(FilesystemPersister):
    """Fills praw's recording placeholders on load (as praw's own test suite does)."""

    @classmethod
    def load_cassette(cls, cassette_path: Any, serializer: Any) -> Any:
        text = Path(cassette_path).read_text()
        for token, value in FILL.items():
            text = text.replace(token, value)
        return deserialize(text, serializer)


def reddit_tape(*, match_query: bool = False) -> vcr.VCR:
    match_on = ["method", "scheme", "host", "port", "path"] + (["query"] if match_query else [])
    tape = vcr.VCR(
        cassette_library_dir=str(_shared() / "fixtures/reddit/cassettes"),
        serializer="json",
        record_mode="none",
        match_on=match_on,
    )
    tape.register_persister(PlaceholderPersister)
    return tape


def _shared() -> Path:
    repo = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("ENGAGEBOT_SHARED", repo.parent / "shared"))
