"""Parse X API v2 tweet responses (``data``/``includes``/``meta``) into posts and authors.

Accepts what the API returns for search, mentions and lookups (``data`` a list or one
object), filtered-stream messages, and twarc2's lines (an extra ``__twarc`` key). Fields a
request did not ask for are simply absent, so everything but ``id`` and ``text`` is optional;
a missing ``created_at`` is recovered from the snowflake id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from listener.records import (
    ParsedAuthor,
    ParsedPage,
    ParsedPost,
    RecordError,
    as_int,
    as_text,
    clean_handle,
    parse_time,
    reject,
)

PLATFORM = "x"
_TWITTER_EPOCH_MS = 1288834974657
_FIRST_SNOWFLAKE = 27_000_000_000_000_000  # ids below this predate snowflakes (Nov 2010)
_UNDETERMINED_LANGS = frozenset({"und", "zxx", "qme", "qht", "qam", "qct", "qst"})


def snowflake_time(tweet_id: str) -> datetime | None:
    """The creation time encoded in an X snowflake id (exact to the millisecond)."""
    number = as_int(tweet_id)
    if number is None or number < _FIRST_SNOWFLAKE or number >= 2**63:
        return None
    return datetime.fromtimestamp(((number >> 22) + _TWITTER_EPOCH_MS) / 1000, UTC)


def parse_user(user: Mapping[str, Any]) -> ParsedAuthor:
    user_id = as_text(user.get("id"))
    if not user_id:
        raise RecordError("user without id")
    metrics = user.get("public_metrics")
    followers = as_int(metrics.get("followers_count")) if isinstance(metrics, Mapping) else None
    verified = user.get("verified") is True or user.get("verified_type") in (
        "blue",
        "business",
        "government",
    )
    return ParsedAuthor(
        platform=PLATFORM,
        external_id=user_id,
        handle=clean_handle(as_text(user.get("username"))),
        display_name=as_text(user.get("name")),
        followers=followers,
        verified=verified,
    )


def _users_by_id(includes: Any) -> dict[str, ParsedAuthor]:
    users: dict[str, ParsedAuthor] = {}
    if not isinstance(includes, Mapping):
        return users
    listed = includes.get("users")
    for user in listed if isinstance(listed, list) else []:
        if isinstance(user, Mapping):
            try:
                author = parse_user(user)
            except RecordError:
                continue
            users[author.external_id] = author
    return users


def parse_tweet(tweet: Mapping[str, Any], users: Mapping[str, ParsedAuthor]) -> ParsedPost:
    """One tweet object; raises ``RecordError`` when it is not a usable tweet."""
    tweet_id = as_text(tweet.get("id"))
    if not tweet_id or not tweet_id.isdigit():
        raise RecordError(f"tweet without a numeric id: {tweet.get('id')!r}")
    note = tweet.get("note_tweet")
    text = as_text(note.get("text")) if isinstance(note, Mapping) else None
    text = text or as_text(tweet.get("text"))
    if text is None:
        kind = "a user object" if "username" in tweet else "no text"
        raise RecordError(f"not a tweet ({kind})")
    created_raw = tweet.get("created_at")
    created = parse_time(created_raw) if created_raw is not None else snowflake_time(tweet_id)
    if created is None:
        raise RecordError("tweet without created_at and without a snowflake id")

    in_reply_to: str | None = None
    refs = tweet.get("referenced_tweets")
    if isinstance(refs, list):
        for ref in refs:
            if isinstance(ref, Mapping) and ref.get("type") == "replied_to":
                in_reply_to = as_text(ref.get("id"))

    author_id = as_text(tweet.get("author_id"))
    author = users.get(author_id) if author_id else None
    if author is None and author_id:
        author = ParsedAuthor(platform=PLATFORM, external_id=author_id)

    metrics = tweet.get("public_metrics")
    engagement: int | None = None
    if isinstance(metrics, Mapping):
        parts = [as_int(metrics.get(k)) for k in ("like_count", "reply_count", "retweet_count", "quote_count")]
        if any(p is not None for p in parts):
            engagement = sum(p or 0 for p in parts)

    lang = as_text(tweet.get("lang"))
    if lang is not None and (lang in _UNDETERMINED_LANGS or len(lang) > 16):
        lang = None
    handle = author.handle if author else None
    url = f"https://x.com/{handle}/status/{tweet_id}" if handle else f"https://x.com/i/web/status/{tweet_id}"
    conversation = as_text(tweet.get("conversation_id"))
    return ParsedPost(
        platform=PLATFORM,
        external_id=tweet_id,
        text=text,
        created_at=created,
        author=author,
        lang=lang,
        url=url,
        conversation_id=conversation,
        in_reply_to_id=in_reply_to,
        engagement=engagement,
        raw=dict(tweet),
    )


def parse_response(body: Any) -> ParsedPage:
    """One API response body (or stream message). Bad tweets are rejected one by one."""
    page = ParsedPage()
    if not isinstance(body, Mapping):
        page.rejected.append(reject(None, f"not an X API response object: {type(body).__name__}", body))
        return page
    data = body.get("data")
    if data is None:
        if "errors" in body and "meta" not in body:
            page.rejected.append(reject(None, f"X API error response: {_error_summary(body.get('errors'))}", body))
        elif "meta" not in body and "errors" not in body:
            page.rejected.append(reject(None, "not an X API v2 response (no data, meta or errors)", body))
        return page
    tweets = [data] if isinstance(data, Mapping) else data
    if not isinstance(tweets, list):
        page.rejected.append(reject(None, f"'data' is a {type(data).__name__}, not tweets", body))
        return page
    users = _users_by_id(body.get("includes"))
    for index, tweet in enumerate(tweets):
        if not isinstance(tweet, Mapping):
            page.rejected.append(reject(f"data[{index}]", "tweet is not an object", tweet))
            continue
        try:
            page.posts.append(parse_tweet(tweet, users))
        except (RecordError, TypeError, ValueError, OverflowError) as exc:
            page.rejected.append(reject(tweet.get("id", f"data[{index}]"), exc, tweet))
    return page


def _error_summary(errors: Any) -> str:
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        first = errors[0]
        return str(first.get("title") or first.get("message") or first.get("detail") or first)[:200]
    return str(errors)[:200]
