"""Parse Facebook Page Graph API bodies: feed posts, comments and replies to comments.

Accepted bodies (``fixtures/meta/README.md``): an edge page ``{"data": [...], "paging": ...}``
(``/{page-id}/feed``, ``/{object-id}/comments``), one object, or a batch by ``?ids=`` (an object
keyed by id). The traps: a comment carries no ``id`` unless the call asks for it, so its id is
rebuilt from ``permalink_url`` (``/posts/{post}/?comment_id=C&reply_comment_id=R``, giving
``{post}_{R or C}``, the shape Graph's own comment ids have); no ``from`` unless asked (then no
author); ``+0000`` timestamps.

Threads: Facebook comments nest one level. A comment thread (the top-level comment and the
replies under it) is the unit a Page answers, so ``conversation_id`` is the top-level comment's
id and a Page reply in it marks the customer's comment answered (``listener.threads``), without
touching the other commenters of the same post. A post's ``conversation_id`` is its own id;
a top-level comment replies to the post (``in_reply_to_id``), a reply to its top-level comment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from listener.records import (
    ParsedAuthor,
    ParsedPage,
    ParsedPost,
    RecordError,
    as_int,
    as_text,
    parse_time,
    reject,
)

PLATFORM = "facebook"
_POST_PATH = re.compile(r"/(\d+)/posts/(\d+)")
_BATCH_ID = re.compile(r"^\d+(_\d+)?$")


def _author(value: Any) -> ParsedAuthor | None:
    """``from`` is ``{"id", "name"}``: Pages and people have no handle, the id names them."""
    if not isinstance(value, Mapping) or not as_text(value.get("id")):
        return None
    return ParsedAuthor(platform=PLATFORM, external_id=str(value["id"]), display_name=as_text(value.get("name")))


def _permalink_ids(url: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(page id, post object id, top-level comment id, reply id) from a permalink."""
    if not url:
        return None, None, None, None
    parts = urlsplit(url)
    match = _POST_PATH.search(parts.path)
    query = parse_qs(parts.query)
    page_id, post_obj = (match.group(1), match.group(2)) if match else (None, None)
    if post_obj is None and query.get("story_fbid"):
        post_obj = query["story_fbid"][0]
        page_id = query.get("id", [None])[0]
    comment = query.get("comment_id", [None])[0]
    reply = query.get("reply_comment_id", [None])[0]
    return page_id, post_obj, comment, reply


def _is_comment(item: Mapping[str, Any]) -> bool:
    """Comments have neither ``updated_time``/``status_type`` nor a page-prefixed post id shape;
    their permalink names a ``comment_id`` and a fetched comment has ``parent`` or ``comment_count``."""
    url = as_text(item.get("permalink_url")) or ""
    if "comment_id=" in url:
        return True
    return "parent" in item or "comment_count" in item


def parse_comment(item: Mapping[str, Any], *, post_id: str | None = None, parent_id: str | None = None) -> ParsedPost:
    """One comment or reply. ``post_id`` (the full ``{page}_{post}`` id) is known to the live
    collector; a file has the permalink only."""
    url = as_text(item.get("permalink_url"))
    page_id, post_obj, comment, reply = _permalink_ids(url)
    external_id = as_text(item.get("id"))
    if not external_id:
        if not (post_obj and comment):
            raise RecordError("comment without id or a permalink_url naming it")
        external_id = f"{post_obj}_{reply or comment}"
    text = as_text(item.get("message"))
    if text is None or not text.strip():
        raise RecordError("comment without message (a sticker or photo only)")
    prefix = external_id.split("_", 1)[0] if "_" in external_id else post_obj
    parent = item.get("parent")
    if parent_id is None and isinstance(parent, Mapping):
        parent_id = as_text(parent.get("id"))
    if parent_id is None and reply and comment:
        parent_id = f"{post_obj or prefix}_{comment}"
    if post_id is None and post_obj:
        post_id = f"{page_id}_{post_obj}" if page_id else post_obj
    return ParsedPost(
        platform=PLATFORM,
        external_id=external_id,
        text=text,
        created_at=parse_time(item.get("created_time")),
        author=_author(item.get("from")),
        url=url,
        conversation_id=parent_id or external_id,
        in_reply_to_id=parent_id or post_id,
        engagement=(as_int(item.get("like_count")) or 0) + (as_int(item.get("comment_count")) or 0),
        raw=dict(item),
    )


def parse_post(item: Mapping[str, Any]) -> ParsedPost | None:
    """One feed post (the Page's own or a visitor's); ``None`` when it has no text (a shared
    link or photo alone: nothing to read or answer)."""
    external_id = as_text(item.get("id"))
    if not external_id:
        raise RecordError("post without id")
    text = as_text(item.get("message"))
    if text is None or not text.strip():
        return None
    engagement = 0
    for key in ("reactions", "comments"):
        summary = item.get(key, {}).get("summary") if isinstance(item.get(key), Mapping) else None
        if isinstance(summary, Mapping):
            engagement += as_int(summary.get("total_count")) or 0
    shares = item.get("shares")
    if isinstance(shares, Mapping):
        engagement += as_int(shares.get("count")) or 0
    return ParsedPost(
        platform=PLATFORM,
        external_id=external_id,
        text=text,
        created_at=parse_time(item.get("created_time")),
        author=_author(item.get("from")),
        url=as_text(item.get("permalink_url")),
        conversation_id=external_id,
        engagement=engagement,
        raw={k: v for k, v in item.items() if k != "comments"},
    )


def _items(body: Any) -> list[Any] | None:
    """The records of an edge page, a single object or an ``?ids=`` batch."""
    if not isinstance(body, Mapping):
        return None
    data = body.get("data")
    if isinstance(data, list):
        return data
    if "id" in body or "permalink_url" in body or "message" in body:
        return [body]
    if body and all(_BATCH_ID.match(str(key)) and isinstance(value, Mapping) for key, value in body.items()):
        return list(body.values())
    return None


def parse_response(body: Any, *, post_id: str | None = None, parent_id: str | None = None) -> ParsedPage:
    """A Graph body of posts and/or comments (nested ``comments.data`` included).

    ``post_id`` / ``parent_id`` say the body is the comments of that post / replies to that
    comment (the live collector knows; a file's comments are recognised by their permalink)."""
    page = ParsedPage()
    items = _items(body)
    if items is None:
        page.rejected.append(reject(None, "not a Facebook Graph body (no data list, object or id batch)", body))
        return page
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            page.rejected.append(reject(f"[{index}]", "record is not an object", item))
            continue
        ref = as_text(item.get("id")) or as_text(item.get("permalink_url")) or f"[{index}]"
        comment = post_id is not None or parent_id is not None or _is_comment(item)
        try:
            post = parse_comment(item, post_id=post_id, parent_id=parent_id) if comment else parse_post(item)
        except (RecordError, TypeError, ValueError, OverflowError) as exc:
            page.rejected.append(reject(ref, exc, item))
            continue
        if post is None:
            page.skipped += 1
        else:
            page.posts.append(post)
        nested = item.get("comments")  # a post's comments, or a comment's replies, asked as a field
        if isinstance(nested, Mapping) and isinstance(nested.get("data"), list) and nested["data"]:
            if comment and post is not None:
                page.extend(parse_response({"data": nested["data"]}, post_id=post_id, parent_id=post.external_id))
            elif not comment:
                page.extend(parse_response({"data": nested["data"]}, post_id=as_text(item.get("id"))))
    return page
