"""Parse the App Store customer-reviews RSS feed (JSON form) into review posts.

The traps (fixtures/reviews/README.md): every scalar is ``{"label": ...}``; one review comes
as an object instead of a list; a feed without ``entry`` is throttled or empty (flagged, not
"no reviews"); older feeds start with an app-metadata entry (skipped); no language, no
developer replies. The author id is the number at the end of ``author.uri``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
    stable_id,
)

PLATFORM = "appstore"
_TRAILING_ID = re.compile(r"id(\d+)\D*$")


def _label(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if isinstance(value, Mapping):
        return as_text(value.get("label"))
    return as_text(value)


def _author(entry: Mapping[str, Any]) -> ParsedAuthor | None:
    author = entry.get("author")
    if not isinstance(author, Mapping):
        return None
    name = _label(author, "name")
    uri = _label(author, "uri")
    match = _TRAILING_ID.search(uri or "")
    if match:
        external_id = match.group(1)
    elif name:
        external_id = f"name:{stable_id(name.casefold())}"
    else:
        return None
    return ParsedAuthor(platform=PLATFORM, external_id=external_id, handle=clean_handle(name), display_name=name)


def _link(entry: Mapping[str, Any]) -> str | None:
    link = entry.get("link")
    links = link if isinstance(link, list) else [link]
    for item in links:
        if isinstance(item, Mapping):
            attributes = item.get("attributes")
            if isinstance(attributes, Mapping) and as_text(attributes.get("href")):
                return as_text(attributes.get("href"))
    return None


def parse_entry(entry: Mapping[str, Any]) -> ParsedPost | None:
    """One feed entry; ``None`` for the app-metadata entry older feeds put first."""
    rating_text = _label(entry, "im:rating")
    if rating_text is None:
        if "im:name" in entry:
            return None
        raise RecordError("review entry without im:rating")
    rating = as_int(rating_text)
    if rating is None or not 1 <= rating <= 5:
        raise RecordError(f"rating out of range: {rating_text!r}")
    review_id = _label(entry, "id")
    if not review_id:
        raise RecordError("review entry without id")
    text = _label(entry, "content")
    title = _label(entry, "title")
    if text is None and title is None:
        raise RecordError("review without content or title")
    return ParsedPost(
        platform=PLATFORM,
        external_id=review_id,
        text=text if text is not None else (title or ""),
        title=title,
        created_at=parse_time(_label(entry, "updated")),
        author=_author(entry),
        url=_link(entry),
        conversation_id=review_id,
        rating=rating,
        engagement=as_int(_label(entry, "im:voteSum")),
        app_version=(_label(entry, "im:version") or None),
        raw=dict(entry),
    )


def parse_feed(body: Any) -> ParsedPage:
    """One feed page; a feed without entries sets ``empty_feed`` so live mode retries later."""
    page = ParsedPage()
    feed = body.get("feed") if isinstance(body, Mapping) else None
    if not isinstance(feed, Mapping):
        page.rejected.append(reject(None, "not an App Store reviews feed (no 'feed' object)", body))
        return page
    entries = feed.get("entry")
    if entries is None:
        page.empty_feed = True
        return page
    if isinstance(entries, Mapping):
        entries = [entries]
    if not isinstance(entries, list):
        page.rejected.append(reject(None, "feed.entry is neither an object nor a list", body))
        return page
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            page.rejected.append(reject(f"entry[{index}]", "entry is not an object", entry))
            continue
        try:
            post = parse_entry(entry)
        except (RecordError, TypeError, ValueError, OverflowError) as exc:
            page.rejected.append(reject(_label(entry, "id") or f"entry[{index}]", exc, entry))
            continue
        if post is None:
            page.skipped += 1
        else:
            page.posts.append(post)
    return page
