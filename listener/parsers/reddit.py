"""Parse Reddit JSON (Listings of t1 comments and t3 submissions) into posts and authors.

Accepts one Listing, a list of Listings (what ``/comments/:id`` returns: the submission,
then its comment tree), or a single thing. Comment trees are walked through ``replies``;
``more`` stubs are skipped. Thread keys are fullnames: a submission's ``t3_...`` is the
conversation of every comment under it.
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
)

PLATFORM = "reddit"
_DELETED_AUTHORS = frozenset({"[deleted]", "[removed]"})
_DELETED_TEXTS = frozenset({"[deleted]", "[removed]"})
_CONTEXT_LINK = re.compile(r"/comments/([a-z0-9]+)/", re.IGNORECASE)
_MAX_DEPTH = 200


def _author(data: Mapping[str, Any]) -> ParsedAuthor | None:
    name = as_text(data.get("author"))
    if not name or name in _DELETED_AUTHORS:
        return None
    handle = clean_handle(name.removeprefix("u/"))
    if handle is None:
        return None
    # Usernames are unique and permanent on Reddit; old payloads lack ``author_fullname``,
    # so the lower-cased name is the id that stays the same across all payloads.
    return ParsedAuthor(platform=PLATFORM, external_id=handle, handle=handle, display_name=name)


def _fullname(kind: str, data: Mapping[str, Any]) -> str:
    name = as_text(data.get("name"))
    if name and name.startswith(("t1_", "t3_")):
        return name
    thing_id = as_text(data.get("id"))
    if not thing_id:
        raise RecordError(f"{kind} without id or name")
    return f"{kind}_{thing_id}"


def _thread_of_comment(data: Mapping[str, Any]) -> str | None:
    link = as_text(data.get("link_id"))
    if link:
        return link
    context = as_text(data.get("context"))  # inbox mentions carry only the permalink
    match = _CONTEXT_LINK.search(context or "")
    if match:
        return f"t3_{match.group(1).lower()}"
    parent = as_text(data.get("parent_id"))
    return parent if parent and parent.startswith("t3_") else None


def parse_thing(kind: str, data: Mapping[str, Any]) -> ParsedPost | None:
    """One t1/t3 thing; ``None`` when it was deleted (nothing left to read)."""
    fullname = _fullname(kind, data)
    created_raw = data.get("created_utc", data.get("created"))
    created = parse_time(created_raw)
    score = as_int(data.get("score"))
    comments = as_int(data.get("num_comments"))
    engagement = None if score is None and comments is None else (score or 0) + (comments or 0)
    permalink = as_text(data.get("permalink")) or as_text(data.get("context"))
    url = f"https://www.reddit.com{permalink}" if permalink and permalink.startswith("/") else permalink
    if kind == "t3":
        title = as_text(data.get("title"))
        body = as_text(data.get("selftext")) or ""
        if body in _DELETED_TEXTS:
            body = ""
        if title is None and not body:
            raise RecordError("submission without title or text")
        text = body or title or ""
        if not text:
            return None
        return ParsedPost(
            platform=PLATFORM,
            external_id=fullname,
            text=text,
            title=title,
            created_at=created,
            author=_author(data),
            url=url,
            conversation_id=fullname,
            engagement=engagement,
            raw=_slim(data),
        )
    body_text = as_text(data.get("body"))
    if body_text is None:
        raise RecordError("comment without body")
    if body_text.strip() in _DELETED_TEXTS or not body_text.strip():
        return None
    parent = as_text(data.get("parent_id"))
    return ParsedPost(
        platform=PLATFORM,
        external_id=fullname,
        text=body_text,
        title=as_text(data.get("link_title")),
        created_at=created,
        author=_author(data),
        url=url,
        conversation_id=_thread_of_comment(data),
        in_reply_to_id=parent,
        engagement=engagement,
        raw=_slim(data),
    )


def _slim(data: Mapping[str, Any]) -> dict[str, Any]:
    """The raw thing without its nested reply tree (each reply is stored as its own post)."""
    return {k: v for k, v in data.items() if k not in ("replies", "body_html", "selftext_html")}


def parse_listing(body: Any) -> ParsedPage:
    """A Listing, a list of Listings, or one thing; bad things are rejected one by one."""
    page = ParsedPage()
    if isinstance(body, list):
        for index, item in enumerate(body):
            if isinstance(item, Mapping) and "kind" in item:
                _walk(item, page, 0, f"[{index}]")
            else:
                page.rejected.append(reject(f"[{index}]", "not a Reddit thing or Listing", item))
        return page
    if not isinstance(body, Mapping) or "kind" not in body:
        page.rejected.append(reject(None, "not a Reddit Listing or thing (no 'kind')", body))
        return page
    _walk(body, page, 0, "")
    return page


def _walk(thing: Mapping[str, Any], page: ParsedPage, depth: int, ref: str) -> None:
    kind = thing.get("kind")
    data = thing.get("data")
    if depth > _MAX_DEPTH:
        page.rejected.append(reject(ref, "comment tree nested too deep", thing))
        return
    if not isinstance(data, Mapping):
        page.rejected.append(reject(ref, f"{kind!r} thing without a data object", thing))
        return
    if kind == "Listing":
        children = data.get("children")
        if not isinstance(children, list):
            page.rejected.append(reject(ref, "Listing without children", thing))
            return
        for index, child in enumerate(children):
            if isinstance(child, Mapping):
                _walk(child, page, depth + 1, f"{ref}.children[{index}]")
            else:
                page.rejected.append(reject(f"{ref}.children[{index}]", "child is not an object", child))
        return
    if kind == "more":
        page.skipped += 1
        return
    if kind not in ("t1", "t3"):
        page.rejected.append(reject(data.get("name", ref), f"unsupported Reddit kind {kind!r}", thing))
        return
    try:
        post = parse_thing(str(kind), data)
    except (RecordError, TypeError, ValueError, OverflowError) as exc:
        page.rejected.append(reject(data.get("name", ref), exc, thing))
    else:
        if post is None:
            page.skipped += 1
        else:
            page.posts.append(post)
    replies = data.get("replies")
    if isinstance(replies, Mapping) and replies.get("kind") == "Listing":
        _walk(replies, page, depth + 1, f"{ref}.replies")
