"""Instagram (Graph API, the brand's Instagram business account): comments on its media, and
media the brand is tagged in.

Kind ``comments``, one HTTP call per page of the collect loop:

1. ``GET /{ig-user-id}/media`` newest first, back to ``lookback_days``; a media whose
   ``comments_count`` differs from the count the last complete pass saw joins the queue
   (Instagram media have no "updated" time: the count is what moves);
2. for each queued media, ``GET /{ig-media-id}/comments`` with the replies as a field, all
   pages (comments are upserted on their ids: re-reading stores nothing twice).

Kind ``mentions``: ``GET /{ig-user-id}/tags``, the media the brand is tagged in, newest first
back to the last pass. @mentions in captions and comments are announced only by Instagram's
``mentions`` webhook; the bodies its look-ups return (``mentioned_comment``,
``mentioned_media``) are parsed by ``listener.parsers.instagram`` and taken by
``import-posts --platform instagram``.

The position holds the pass's queue and cursors, so a capped or crashed run resumes; the
counts (and the watermark) move only when a pass finishes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from listener.base import MissingCredentials, Page
from listener.parsers import instagram as ig_parser
from listener.records import ParsedPage, parse_time
from listener.settings import ListenerSettings
from listener.sources.graph import GraphClient, GraphSource, next_params

MEDIA_FIELDS = "id,caption,timestamp,username,permalink,comments_count,like_count,media_type"
REPLY_FIELDS = "id,text,timestamp,username,from,like_count,parent_id"
COMMENT_FIELDS = f"{REPLY_FIELDS},replies{{{REPLY_FIELDS}}}"


def make_client(settings: ListenerSettings, env: Mapping[str, str]) -> GraphClient:
    secret = settings.instagram_access_token or settings.facebook_page_token
    token = secret.get_secret_value() if secret else None
    token = token or env.get("INSTAGRAM_ACCESS_TOKEN") or env.get("FACEBOOK_PAGE_TOKEN")
    if not token:
        raise MissingCredentials(
            "Instagram needs the linked Page's access token: set INSTAGRAM_ACCESS_TOKEN (or FACEBOOK_PAGE_TOKEN)"
        )
    return GraphClient(
        base_url=settings.graph_api_base,
        token=token,
        timeout=settings.retry.timeout_seconds,
        pause_percent=settings.graph_usage_pause_percent,
        token_setting="INSTAGRAM_ACCESS_TOKEN",
    )


class InstagramSource(GraphSource):
    """One configured Instagram business account."""

    platform = "instagram"

    def parse(self, body: Any) -> ParsedPage:
        return ig_parser.parse_response(body)

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        state = self._pass_state(position)
        state.setdefault("seen_counts", {})
        if self.settings.kind == "mentions":
            return self._tags(state)
        if not state.get("media") and state["queue"]:
            state["media"], state["queue"] = state["queue"][0], state["queue"][1:]
            state.pop("comments_after", None)
        if state.get("media"):
            return self._comments(state)
        if not state.get("media_done"):
            return self._media(state)
        return Page(body=None, position=self._finished(state), done=True)

    def _media(self, state: dict[str, Any]) -> Page:
        oldest_wanted = parse_time(state["pass_start"]) - timedelta(days=self.settings.lookback_days)
        params = {"fields": MEDIA_FIELDS, "limit": self.settings.page_size, "after": state.get("media_after")}
        body = self.client.get(f"{self.settings.ig_user_id}/media", params)
        items = body.get("data") if isinstance(body, Mapping) else None
        known: Mapping[str, Any] = state.get("counts") or {}
        reached_end = False
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping) or not item.get("id"):
                continue
            if item.get("timestamp") and parse_time(item["timestamp"]) < oldest_wanted:
                reached_end = True
                break
            media_id, count = str(item["id"]), int(item.get("comments_count") or 0)
            state["seen_counts"][media_id] = count
            if count and known.get(media_id) != count:
                state["queue"].append(media_id)
        following = next_params(body)
        if following and following.get("after") and items and not reached_end:
            state["media_after"] = following["after"]
        else:
            state.pop("media_after", None)
            state["media_done"] = True
        return self._page(body, state, ig_parser.parse_response(body))

    def _comments(self, state: dict[str, Any]) -> Page:
        media = str(state["media"])
        params = {"fields": COMMENT_FIELDS, "limit": self.settings.page_size, "after": state.get("comments_after")}
        body = self.client.get(f"{media}/comments", params)
        parsed = ig_parser.parse_response(body, media_id=media)
        following = next_params(body)
        if following and following.get("after") and parsed.posts:
            state["comments_after"] = following["after"]
        else:
            state.pop("media", None)
            state.pop("comments_after", None)
        return self._page(body, state, parsed)

    def _tags(self, state: dict[str, Any]) -> Page:
        mark = parse_time(state["watermark"]) if state.get("watermark") else None
        params = {"fields": MEDIA_FIELDS, "limit": self.settings.page_size, "after": state.get("tags_after")}
        body = self.client.get(f"{self.settings.ig_user_id}/tags", params)
        parsed = ig_parser.parse_response(body)
        following = next_params(body)
        oldest = min((p.created_at for p in parsed.posts), default=None)
        if following and following.get("after") and (mark is None or (oldest is not None and oldest > mark)):
            state["tags_after"] = following["after"]
            return Page(body=body, position=state, done=False, parsed=parsed)
        return Page(body=body, position={"watermark": state["pass_start"]}, done=True, parsed=parsed)

    def _page(self, body: Any, state: dict[str, Any], parsed: ParsedPage) -> Page:
        if state.get("media_done") and not state.get("media") and not state["queue"]:
            return Page(body=body, position=self._finished(state), done=True, parsed=parsed)
        return Page(body=body, position=state, done=False, parsed=parsed)

    def _finished(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"counts": dict(state.get("seen_counts") or {}), "watermark": state["pass_start"]}
