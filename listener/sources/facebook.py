"""Facebook Page (Graph API, a Page access token): posts on the Page and the comments under them.

One pass, one HTTP call per page of the collect loop:

1. ``GET /{page-id}/feed`` (the Page's posts and visitors' posts), newest first, back to
   ``lookback_days``; each post whose ``updated_time`` (Graph moves it when someone comments)
   is after the last complete pass joins the queue;
2. for each queued post, ``GET /{post-id}/comments?filter=stream&order=reverse_chronological``
   (comments and replies in one flat list, each with its ``parent``), paging back until the
   comments are older than the last pass.

The position holds the pass's queue and page parameters, so a capped or crashed run resumes
where it stopped; only a finished pass moves the watermark (to the time the pass started).
Posts are upserted on their ids, so re-reading a post's newest comments stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from listener.base import MissingCredentials, Page
from listener.parsers import facebook as fb_parser
from listener.records import ParsedPage, parse_time
from listener.settings import ListenerSettings
from listener.sources.graph import GraphClient, GraphSource, next_params

FEED_FIELDS = "id,message,created_time,updated_time,permalink_url,from,status_type,shares"
COMMENT_FIELDS = "id,message,created_time,from,parent{id},permalink_url,like_count,comment_count"


def make_client(settings: ListenerSettings, env: Mapping[str, str]) -> GraphClient:
    token = settings.facebook_page_token.get_secret_value() if settings.facebook_page_token else None
    token = token or env.get("FACEBOOK_PAGE_TOKEN")
    if not token:
        raise MissingCredentials(
            "Facebook needs a Page access token: set FACEBOOK_PAGE_TOKEN (or ENGAGEBOT_LISTENER__FACEBOOK_PAGE_TOKEN)"
        )
    return GraphClient(
        base_url=settings.graph_api_base,
        token=token,
        timeout=settings.retry.timeout_seconds,
        pause_percent=settings.graph_usage_pause_percent,
        token_setting="FACEBOOK_PAGE_TOKEN",
    )


def _after(value: Any, mark: datetime | None) -> bool:
    return mark is None or (value is not None and parse_time(value) > mark)


class FacebookSource(GraphSource):
    """One configured Facebook Page."""

    platform = "facebook"

    def parse(self, body: Any) -> ParsedPage:
        return fb_parser.parse_response(body)

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        state = self._pass_state(position)
        mark = parse_time(state["watermark"]) if state.get("watermark") else None
        if not state.get("post") and state["queue"]:
            state["post"], state["queue"] = state["queue"][0], state["queue"][1:]
            state.pop("comments_after", None)
        if state.get("post"):
            return self._comments(state, mark)
        if not state.get("feed_done"):
            return self._feed(state, mark)
        return Page(body=None, position=self._finished(state), done=True)

    def _feed(self, state: dict[str, Any], mark: datetime | None) -> Page:
        start = parse_time(state["pass_start"])
        params: dict[str, Any] = {
            "fields": FEED_FIELDS,
            "limit": self.settings.page_size,
            "since": int((start - timedelta(days=self.settings.lookback_days)).timestamp()),
            **(state.get("feed_params") or {}),
        }
        body = self.client.get(f"{self.settings.page_id}/feed", params)
        items = body.get("data") if isinstance(body, Mapping) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping) and item.get("id") and _after(item.get("updated_time"), mark):
                state["queue"].append(str(item["id"]))
        following = next_params(body)
        if following and items:
            state["feed_params"] = following
        else:
            state.pop("feed_params", None)
            state["feed_done"] = True
        return self._page(body, state, fb_parser.parse_response(body))

    def _comments(self, state: dict[str, Any], mark: datetime | None) -> Page:
        post = str(state["post"])
        params: dict[str, Any] = {
            "fields": COMMENT_FIELDS,
            "filter": "stream",
            "order": "reverse_chronological",
            "limit": self.settings.page_size,
            "after": state.get("comments_after"),
        }
        body = self.client.get(f"{post}/comments", params)
        parsed = fb_parser.parse_response(body, post_id=post)
        following = next_params(body)
        oldest = min((p.created_at for p in parsed.posts), default=None)
        older_than_mark = mark is not None and oldest is not None and oldest <= mark
        if following and following.get("after") and not older_than_mark and parsed.posts:
            state["comments_after"] = following["after"]
        else:
            state.pop("post", None)
            state.pop("comments_after", None)
        return self._page(body, state, parsed)

    def _page(self, body: Any, state: dict[str, Any], parsed: ParsedPage) -> Page:
        if state.get("feed_done") and not state.get("post") and not state["queue"]:
            return Page(body=body, position=self._finished(state), done=True, parsed=parsed)
        return Page(body=body, position=state, done=False, parsed=parsed)

    def _finished(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"watermark": state["pass_start"]}
