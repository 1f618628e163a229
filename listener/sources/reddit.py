"""Reddit (praw): keyword search, new comments/submissions of subreddits, the brand's mentions.

Requests go through ``praw.Reddit.request`` so the body is Reddit's raw Listing JSON (the
same the file importer takes) while praw does OAuth and its own header-driven pacing. Every
listing is newest first: a pass pages back with ``after`` until it meets what the previous
pass saw (``created_utc``), then the cursor advances to the newest item of the pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import praw
import prawcore.exceptions as prawcore_errors

from listener.base import MissingCredentials, Page
from listener.parsers import reddit as reddit_parser
from listener.ratelimit import RateLimited, Retriable, retry_after_seconds
from listener.records import ParsedPage, ParsedPost
from listener.settings import ListenerSettings, SourceSettings


def make_client(settings: ListenerSettings, env: Mapping[str, str], *, needs_user: bool) -> praw.Reddit:
    def secret(value: Any, name: str) -> str | None:
        if value is not None:
            return str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)
        return env.get(name)

    client_id = secret(settings.reddit_client_id, "REDDIT_CLIENT_ID")
    client_secret = secret(settings.reddit_client_secret, "REDDIT_CLIENT_SECRET")
    if not client_id or not client_secret:
        raise MissingCredentials("Reddit needs REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET (a 'script' app)")
    username = settings.reddit_username or env.get("REDDIT_USERNAME")
    password = secret(settings.reddit_password, "REDDIT_PASSWORD")
    if needs_user and not (username and password):
        raise MissingCredentials("Reddit mentions need the brand account: set REDDIT_USERNAME and REDDIT_PASSWORD")
    kwargs: dict[str, Any] = {}
    if username and password:
        kwargs = {"username": username, "password": password}
    return praw.Reddit(
        client_id=client_id,
        client_secret=client_secret,
        user_agent=env.get("REDDIT_USER_AGENT") or settings.reddit_user_agent,
        check_for_updates=False,
        timeout=int(settings.retry.timeout_seconds),
        **kwargs,
    )


class RedditSource:
    """One configured Reddit source; ``subreddit`` watches comments, then submissions."""

    platform = "reddit"

    def __init__(self, source: SourceSettings, client: praw.Reddit, *, brand_handles: Mapping[str, list[str]]) -> None:
        self.name = source.name
        self.settings = source
        self.client = client
        self.brand = frozenset(brand_handles.get("reddit", []))
        self.keywords = [k.lower() for k in source.keywords if k.strip()]

    def streams(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(stream name, API path, fixed params) in the order a run walks them."""
        subs = "+".join(s.removeprefix("r/") for s in self.settings.subreddits) or "all"
        if self.settings.kind == "mentions":
            return [("mentions", "message/mentions", {})]
        if self.settings.kind == "search":
            params = {
                "q": self.settings.query or "",
                "sort": "new",
                "t": "all",
                "restrict_sr": "on" if self.settings.subreddits else "off",
            }
            return [("search", f"r/{subs}/search/", params)]
        paths = {"comments": f"r/{subs}/comments/", "submissions": f"r/{subs}/new"}
        return [(name, paths[name], {}) for name in paths if name in self.settings.listings]

    def parse(self, body: Any) -> ParsedPage:
        page = reddit_parser.parse_listing(body)
        if self.keywords and self.settings.kind == "subreddit":
            kept = [p for p in page.posts if self._wanted(p)]
            page.skipped += len(page.posts) - len(kept)
            page.posts = kept
        return page

    def _wanted(self, post: ParsedPost) -> bool:
        if post.author is not None and post.author.handle in self.brand:
            return True  # the brand's own replies are kept: they mark threads answered
        haystack = f"{post.title or ''}\n{post.text}".lower()
        return any(keyword in haystack for keyword in self.keywords)

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        streams = self.streams()
        names = [name for name, _, _ in streams]
        current = str(position.get("stream") or "")
        if current not in names:
            current = names[0]
        index = names.index(current)
        name, path, fixed = streams[index]
        state: dict[str, Any] = dict(position.get(name) or {})
        since = float(state.get("since", 0.0))
        params: dict[str, Any] = {
            **fixed,
            "limit": min(self.settings.page_size, max_results or 100),
            "raw_json": 1,
        }
        if state.get("after"):
            params["after"] = state["after"]
        body = self._call(path, params)
        children = []
        data = body.get("data") if isinstance(body, Mapping) else None
        if isinstance(data, Mapping) and isinstance(data.get("children"), list):
            children = [
                c.get("data", {})
                for c in data["children"]
                if isinstance(c, Mapping) and isinstance(c.get("data"), Mapping)
            ]
        created = [float(c["created_utc"]) for c in children if isinstance(c.get("created_utc"), int | float)]
        pending = max([float(state.get("pending", since)), *created])
        after = data.get("after") if isinstance(data, Mapping) else None
        reached_old = any(value <= since for value in created) if since else False
        new_position = {k: v for k, v in position.items() if k in names}
        if after and not reached_old and children:
            new_position[name] = {"since": since, "after": after, "pending": pending}
            new_position["stream"] = name
            return Page(body=body, position=new_position, done=False, reads=len(children))
        new_position[name] = {"since": max(since, pending)}
        last = index == len(streams) - 1
        new_position["stream"] = names[0] if last else names[index + 1]
        return Page(body=body, position=new_position, done=last, reads=len(children))

    def _call(self, path: str, params: dict[str, Any]) -> Any:
        try:
            return self.client.request(method="GET", path=path, params=params)
        except prawcore_errors.TooManyRequests as exc:
            headers = getattr(getattr(exc, "response", None), "headers", None)
            raise RateLimited(f"Reddit rate limit: {exc}", retry_after=retry_after_seconds(headers)) from exc
        except prawcore_errors.ServerError as exc:
            raise Retriable(f"Reddit server error: {exc}") from exc
        except prawcore_errors.RequestException as exc:
            raise Retriable(f"Reddit connection error: {exc}") from exc
