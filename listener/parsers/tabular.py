"""Parse rows of CSV/JSONL exports (Trustpilot, Yelp, Facebook, ...) through a column mapping.

A mapping says which column (or dotted path in a JSON object, e.g. ``consumer.displayName``)
holds which post field. Columns with the usual names are recognised without one; an explicit
``--map col=field`` wins. Rows without an id get a stable one derived from author, time and
text, so importing the same export twice adds nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from listener.records import (
    MAX_COUNT,
    ParsedAuthor,
    ParsedPost,
    RecordError,
    as_int,
    as_text,
    clean_handle,
    parse_time,
    stable_id,
)

FIELDS: dict[str, str] = {
    "external_id": "the record's id on its platform",
    "text": "the post or review text (required)",
    "created_at": "when it was written (required; ISO-8601, epoch seconds or a common date format)",
    "title": "review title or headline",
    "author": "the author's handle or user name",
    "author_id": "the author's id on the platform",
    "author_name": "the author's display name",
    "followers": "the author's follower count",
    "rating": "star rating 1-5",
    "url": "link to the post",
    "lang": "language code",
    "conversation_id": "thread key",
    "in_reply_to_id": "id of the post this one answers",
    "engagement": "likes + comments + shares",
    "app_version": "app version of a store review",
    "answered_at": "when the brand replied (a company reply's time)",
    "reply_text": "the brand's reply text (present means answered)",
    "platform": "the platform name per row (e.g. trustpilot), instead of csv/jsonl",
}

# Column names (lower-case, dotted for nested JSON) recognised without an explicit mapping.
AUTO_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "id",
        "external_id",
        "review_id",
        "reviewid",
        "post_id",
        "tweet_id",
        "comment_id",
    ),
    "text": ("text", "content", "body", "review", "review_text", "message", "comment", "post"),
    "created_at": (
        "created_at",
        "createdat",
        "date",
        "created",
        "created_time",
        "time",
        "timestamp",
        "published_at",
        "review_date",
        "experienced_at",
    ),
    "title": ("title", "headline", "subject"),
    "author": ("author", "username", "user_name", "handle", "screen_name", "user", "reviewer"),
    "author_id": ("author_id", "user_id", "userid", "consumer.id", "reviewer_id"),
    "author_name": ("author_name", "display_name", "displayname", "name", "consumer.displayname"),
    "followers": ("followers", "followers_count"),
    "rating": ("rating", "stars", "score", "star_rating"),
    "url": ("url", "link", "permalink"),
    "lang": ("lang", "language"),
    "conversation_id": ("conversation_id", "thread_id"),
    "in_reply_to_id": ("in_reply_to_id", "parent_id", "in_reply_to"),
    "engagement": ("engagement", "likes", "reactions"),
    "app_version": ("app_version", "version"),
    "answered_at": (
        "answered_at",
        "replied_at",
        "reply_date",
        "companyreply.createdat",
        "owner_response_date",
    ),
    "reply_text": ("reply_text", "reply", "response", "companyreply.text", "owner_response"),
    "platform": ("platform",),
}


def validate_map(column_map: Mapping[str, str]) -> None:
    unknown = sorted({f for f in column_map.values() if f not in FIELDS})
    if unknown:
        raise ValueError(f"unknown field(s) in column map: {', '.join(unknown)} (known: {', '.join(FIELDS)})")


def _lookup(row: Mapping[str, Any], column: str) -> Any:
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _lower_keys(row: Mapping[str, Any], prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """All (dotted) keys of a row, lower-cased, for the automatic mapping."""
    out = {} if out is None else out
    for key, value in row.items():
        name = f"{prefix}{str(key).strip().lower()}"
        out.setdefault(name, value)
        if isinstance(value, Mapping) and len(out) < 500:
            _lower_keys(value, f"{name}.", out)
    return out


def extract(row: Mapping[str, Any], column_map: Mapping[str, str]) -> dict[str, Any]:
    """Field → value for one row: explicit mapping first, then the usual column names."""
    values: dict[str, Any] = {}
    for column, target in column_map.items():
        value = _lookup(row, column)
        if value not in (None, ""):
            values[target] = value
    lowered = _lower_keys(row)
    explicit_targets = set(column_map.values())
    for target, names in AUTO_COLUMNS.items():
        if target in values or target in explicit_targets:
            continue
        for name in names:
            value = lowered.get(name)
            if value not in (None, "") and not isinstance(value, Mapping | list):
                values[target] = value
                break
    return values


EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Plausible post times: a date outside them is a wrong column or a broken export."""


def _count(values: Mapping[str, Any], name: str, maximum: int) -> int | None:
    """A whole number in ``0..maximum`` or None when absent; anything else is a bad record
    (a wrong type, NaN, Infinity or an absurd value must not be stored as a silent None)."""
    value = values.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = as_int(value)
    if number is None or isinstance(value, bool):
        raise RecordError(f"{name} is not a number: {value!r}"[:300])
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(f"{name} is not a finite number: {value!r}")
    if not 0 <= number <= maximum:
        raise RecordError(f"{name} out of range 0..{maximum:,}: {value!r}"[:300])
    return number


def parse_row(row: Mapping[str, Any], *, platform: str, column_map: Mapping[str, str]) -> ParsedPost:
    """One exported row; raises ``RecordError`` naming what is missing."""
    values = extract(row, column_map)
    text = as_text(values.get("text"))
    if text is None or not text.strip():
        raise RecordError("no text (map the text column with --map COLUMN=text)")
    if "created_at" not in values:
        raise RecordError("no created_at (map the date column with --map COLUMN=created_at)")
    created = parse_time(values["created_at"])
    rating = _count(values, "rating", 10)
    followers = _count(values, "followers", MAX_COUNT)
    engagement = _count(values, "engagement", MAX_COUNT)
    if not EARLIEST <= created < LATEST:
        raise RecordError(f"created_at out of range: {values['created_at']!r}")
    row_platform = (as_text(values.get("platform")) or platform).strip().lower()[:32] or platform
    handle = clean_handle(as_text(values.get("author")))
    author_id = as_text(values.get("author_id"))
    name = as_text(values.get("author_name"))
    author: ParsedAuthor | None = None
    if author_id or handle or name:
        author = ParsedAuthor(
            platform=row_platform,
            external_id=(author_id or f"name:{stable_id((handle or name or '').casefold())}")[:128],
            handle=(handle or clean_handle(name)) if not author_id else handle,
            display_name=name or as_text(values.get("author")),
            followers=followers,
        )
    external_id = as_text(values.get("external_id")) or stable_id(
        row_platform, handle or name, created.isoformat(), text
    )
    answered = None
    if values.get("answered_at") not in (None, ""):
        answered = parse_time(values["answered_at"])
    elif as_text(values.get("reply_text")):
        answered = created
    lang = as_text(values.get("lang"))
    return ParsedPost(
        platform=row_platform,
        external_id=external_id[:128],
        text=text,
        title=as_text(values.get("title")),
        created_at=created,
        author=author,
        lang=lang[:16] if lang else None,
        url=as_text(values.get("url")),
        conversation_id=(as_text(values.get("conversation_id")) or None),
        in_reply_to_id=(as_text(values.get("in_reply_to_id")) or None),
        rating=rating,
        engagement=engagement,
        app_version=(as_text(values.get("app_version")) or None),
        answered_at=answered,
        raw=dict(row),
    )
