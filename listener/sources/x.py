"""X (API v2 through tweepy's ``Client``): recent search and the brand account's mentions.

Pages go newest first, so ``since_id`` only advances once a run reaches the end of the
result set; until then the position keeps the page token and the newest id seen, and a
crashed or capped run resumes at the token. Responses are requested as plain dicts
(``return_type=dict``): the raw body the file importer also accepts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

from listener.base import MissingCredentials, Page
from listener.parsers import x as x_parser
from listener.ratelimit import RateLimited, Retriable, retry_after_seconds
from listener.records import ParsedPage
from listener.settings import ListenerSettings, SourceSettings

log = logging.getLogger(__name__)

EXPANSIONS = ["author_id", "referenced_tweets.id", "in_reply_to_user_id"]
TWEET_FIELDS = [
    "author_id",
    "conversation_id",
    "created_at",
    "in_reply_to_user_id",
    "lang",
    "public_metrics",
    "referenced_tweets",
    "note_tweet",
]
USER_FIELDS = ["username", "name", "public_metrics", "verified", "verified_type"]
MIN_RESULTS = {"search": 10, "mentions": 5}


class _TimeoutAdapter(HTTPAdapter):
    """tweepy sends no timeout; a hung connection must fail and be retried, not block a worker."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def make_client(settings: ListenerSettings, env: Mapping[str, str]) -> tweepy.Client:
    token = settings.x_bearer_token.get_secret_value() if settings.x_bearer_token else None
    token = token or env.get("X_BEARER_TOKEN") or env.get("TWITTER_BEARER_TOKEN")
    if not token:
        raise MissingCredentials("X needs a bearer token: set X_BEARER_TOKEN (or ENGAGEBOT_LISTENER__X_BEARER_TOKEN)")
    client = tweepy.Client(bearer_token=token, return_type=dict, wait_on_rate_limit=False)
    adapter = _TimeoutAdapter(settings.retry.timeout_seconds)
    client.session.mount("https://", adapter)
    client.session.mount("http://", adapter)
    return client


def build_query(source: SourceSettings) -> str:
    """The configured query plus language and retweet filters (X search operators)."""
    query = (source.query or "").strip()
    if source.languages:
        langs = " OR ".join(f"lang:{code}" for code in source.languages)
        query = f"({query}) ({langs})" if len(source.languages) > 1 else f"({query}) {langs}"
    if source.exclude_retweets and "is:retweet" not in query:
        query = f"{query} -is:retweet"
    return query


class XSource:
    """One configured X source (search or mentions)."""

    platform = "x"

    def __init__(self, source: SourceSettings, client: tweepy.Client) -> None:
        self.name = source.name
        self.settings = source
        self.client = client

    def parse(self, body: Any) -> ParsedPage:
        return x_parser.parse_response(body)

    def min_results(self) -> int:
        return MIN_RESULTS[self.settings.kind]

    def _user_id(self, position: Mapping[str, Any]) -> str:
        if self.settings.user_id:
            return self.settings.user_id
        if position.get("user_id"):
            return str(position["user_id"])
        body = self._call(self.client.get_user, username=(self.settings.handle or "").lstrip("@"))
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping) or not data.get("id"):
            raise LookupError(f"X user @{self.settings.handle} not found")
        return str(data["id"])

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        since_id = position.get("since_id")
        token = position.get("next_token")
        size = max(self.min_results(), min(self.settings.page_size, max_results or self.settings.page_size))
        params: dict[str, Any] = {
            "max_results": size,
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
        }
        if since_id:
            params["since_id"] = since_id
        base: dict[str, Any] = {}
        if self.settings.kind == "mentions":
            user_id = self._user_id(position)
            base["user_id"] = user_id
            if token:
                params["pagination_token"] = token
            method = self.client.get_users_mentions
            args: tuple[Any, ...] = (user_id,)
        else:
            if token:
                params["next_token"] = token
            method = self.client.search_recent_tweets
            args = (build_query(self.settings),)
        try:
            body = self._call(method, *args, **params)
        except tweepy.BadRequest as exc:
            if token or since_id:
                # An expired page token or a since_id older than the search window: start
                # over from the newest posts (re-reads are deduplicated, nothing is skipped).
                log.warning(
                    "%s: X refused the cursor (%s); starting over from the newest posts",
                    self.name,
                    exc,
                )
                keep = {"since_id": since_id} if token and since_id else {}
                return Page(body=None, position={**base, **keep}, done=False, note="cursor reset")
            raise
        if not isinstance(body, Mapping):
            body = {}
        meta = body.get("meta") if isinstance(body.get("meta"), Mapping) else {}
        data = body.get("data")
        reads = len(data) if isinstance(data, list) else (1 if isinstance(data, Mapping) else 0)
        newest = position.get("newest_id") or meta.get("newest_id")
        next_token = meta.get("next_token")
        if next_token:
            return Page(
                body=body,
                position={
                    **base,
                    "since_id": since_id,
                    "next_token": next_token,
                    "newest_id": newest,
                },
                done=False,
                reads=reads,
            )
        return Page(body=body, position={**base, "since_id": newest or since_id}, done=True, reads=reads)

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except tweepy.TooManyRequests as exc:
            headers = getattr(exc.response, "headers", None)
            raise RateLimited(f"X rate limit: {exc}", retry_after=retry_after_seconds(headers)) from exc
        except tweepy.TwitterServerError as exc:
            raise Retriable(f"X server error: {exc}") from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Retriable(f"X connection error: {exc}") from exc
