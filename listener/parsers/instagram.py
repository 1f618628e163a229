"""Parse Instagram Graph API bodies: comments on the brand's media and @mentions of the brand.

Accepted bodies (``fixtures/meta/README.md``): ``/{ig-media-id}/comments`` pages
(``{"data": [...], "paging": ...}``, replies nested as ``replies.data``), one comment, a batch
by ``?ids=`` (an object keyed by id), ``/{ig-media-id}`` or ``/{ig-user-id}/media`` media, and
the mention lookups ``{"mentioned_comment": {...}}`` / ``{"mentioned_media": {...}}``.

Threads: a comment thread (a top-level comment and its replies) is what a brand answers, so
``conversation_id`` is the top-level comment's id (``parent_id`` for a reply) and a brand reply
in it marks the customer's comment answered. Media are posts: the brand's own are stored as
brand posts (``brand_handles.instagram``); media that @mention the brand are customer posts.
Media without a caption carry nothing to read and are skipped.
"""

from __future__ import annotations

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

PLATFORM = "instagram"


def _author(item: Mapping[str, Any]) -> ParsedAuthor | None:
    """Authors are keyed by lower-cased username, as Reddit's are: every body has ``username``,
    only some ask for ``from`` (whose id is scoped to the app), so the same person always gets
    the same key."""
    sender = item.get("from")
    username = as_text(item.get("username"))
    if isinstance(sender, Mapping):
        username = as_text(sender.get("username")) or username
    handle = clean_handle(username)
    if not handle:
        return None
    return ParsedAuthor(platform=PLATFORM, external_id=handle, handle=handle)


def _is_media(item: Mapping[str, Any]) -> bool:
    return "media_type" in item or "caption" in item or "media_url" in item or "permalink" in item


def parse_comment(item: Mapping[str, Any], *, media_id: str | None = None, parent_id: str | None = None) -> ParsedPost:
    """One comment or reply; ``media_id`` is known to the live collector (or asked as ``media``)."""
    external_id = as_text(item.get("id"))
    if not external_id:
        raise RecordError("comment without id")
    text = as_text(item.get("text"))
    if text is None or not text.strip():
        raise RecordError("comment without text")
    parent_id = parent_id or as_text(item.get("parent_id"))
    media = item.get("media")
    if media_id is None and isinstance(media, Mapping):
        media_id = as_text(media.get("id"))
    return ParsedPost(
        platform=PLATFORM,
        external_id=external_id,
        text=text,
        created_at=parse_time(item.get("timestamp")),
        author=_author(item),
        conversation_id=parent_id or external_id,
        in_reply_to_id=parent_id or media_id,
        engagement=as_int(item.get("like_count")),
        raw={k: v for k, v in item.items() if k != "replies"},
    )


def parse_media(item: Mapping[str, Any]) -> ParsedPost | None:
    """One media object; ``None`` without a caption."""
    external_id = as_text(item.get("id"))
    if not external_id:
        raise RecordError("media without id")
    caption = as_text(item.get("caption"))
    if caption is None or not caption.strip():
        return None
    return ParsedPost(
        platform=PLATFORM,
        external_id=external_id,
        text=caption,
        created_at=parse_time(item.get("timestamp")),
        author=_author(item),
        url=as_text(item.get("permalink")),
        conversation_id=external_id,
        engagement=(as_int(item.get("like_count")) or 0) + (as_int(item.get("comments_count")) or 0),
        raw={k: v for k, v in item.items() if k != "comments"},
    )


def _items(body: Any) -> list[Any] | None:
    if not isinstance(body, Mapping):
        return None
    for key in ("mentioned_comment", "mentioned_media"):
        if isinstance(body.get(key), Mapping):
            return [body[key]]
    data = body.get("data")
    if isinstance(data, list):
        return data
    if "id" in body:
        return [body]
    if body and all(str(key).isdigit() and isinstance(value, Mapping) for key, value in body.items()):
        return list(body.values())
    return None


def parse_response(body: Any, *, media_id: str | None = None, parent_id: str | None = None) -> ParsedPage:
    """A Graph body of comments, media or a mention lookup (nested replies and comments too)."""
    page = ParsedPage()
    items = _items(body)
    if items is None:
        page.rejected.append(reject(None, "not an Instagram Graph body (no data list, object or id batch)", body))
        return page
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            page.rejected.append(reject(f"[{index}]", "record is not an object", item))
            continue
        media = media_id is None and parent_id is None and _is_media(item)
        try:
            post = parse_media(item) if media else parse_comment(item, media_id=media_id, parent_id=parent_id)
        except (RecordError, TypeError, ValueError, OverflowError) as exc:
            page.rejected.append(reject(as_text(item.get("id")) or f"[{index}]", exc, item))
            continue
        if post is None:
            page.skipped += 1
        else:
            page.posts.append(post)
        nested_key = "comments" if media else "replies"
        nested = item.get(nested_key)
        if isinstance(nested, Mapping) and isinstance(nested.get("data"), list) and nested["data"]:
            own_id = as_text(item.get("id"))
            if media:
                page.extend(parse_response({"data": nested["data"]}, media_id=own_id))
            else:
                page.extend(parse_response({"data": nested["data"]}, media_id=media_id, parent_id=own_id))
    return page
