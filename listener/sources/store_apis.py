"""Reviews from the app stores' own APIs (the app owner's credentials): they say which reviews
the developer already answered, which the RSS feed and the scraper cannot.

- ``appstore`` kind ``connect``: ``GET /v1/apps/{id}/customerReviews?include=response&sort=-createdDate``
  (App Store Connect, JSON:API paging by ``links.next``), newest first back to the newest review
  of the last complete pass.
- ``googleplay`` kind ``api``: ``GET /androidpublisher/v3/applications/{package}/reviews``
  (``reviews.list``, token paging). It returns only the reviews created or changed in about
  the last week, so every pass reads all of it (a few pages): a review answered since the last
  pass is seen with its ``developerComment`` and marked answered. The scraper source stays for
  history and for apps without a service account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from listener.base import Page
from listener.parsers import appstore_connect, googleplay
from listener.ratelimit import (
    APPSTORE_CONNECT_HOUR,
    RateLimited,
    Retriable,
    appstore_connect_remaining,
    retry_after_seconds,
)
from listener.records import ParsedPage, parse_time
from listener.settings import SourceSettings
from listener.store_auth import AppStoreConnectKey, GooglePlayToken


class StoreApiError(RuntimeError):
    """The store refused the call (bad key, no access to the app): retrying cannot help."""


def checked_json(response: httpx.Response, what: str) -> Any:
    """The body of a successful response; 429 and 5xx classified for the retry policy."""
    if response.status_code == 429:
        raise RateLimited(f"{what} rate limited", retry_after=retry_after_seconds(response.headers))
    if response.status_code >= 500:
        raise Retriable(f"{what} {response.status_code}")
    if response.status_code in (401, 403):
        raise StoreApiError(f"{what} refused the credentials ({response.status_code}): {response.text[:300]}")
    if response.status_code >= 400:
        raise StoreApiError(f"{what} {response.status_code}: {response.text[:300]}")
    return response.json()


def _send(http: httpx.Client, url: str, *, auth: str, params: Mapping[str, Any] | None, what: str) -> httpx.Response:
    try:
        return http.get(url, params=params, headers={"Authorization": auth})
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise Retriable(f"{what} connection error: {exc}") from exc


def _get(http: httpx.Client, url: str, *, auth: str, params: Mapping[str, Any] | None, what: str) -> Any:
    return checked_json(_send(http, url, auth=auth, params=params, what=what), what)


class AppStoreConnectSource:
    """One app's reviews from App Store Connect, with the developer's responses."""

    platform = "appstore"

    def __init__(self, source: SourceSettings, key: AppStoreConnectKey, *, base_url: str, timeout: float) -> None:
        self.name = source.name
        self.settings = source
        self.key = key
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.hour_spent = False  # the last answer said no requests are left this hour
        self.remaining: int | None = None  # requests left this hour, as the last answer said

    def parse(self, body: Any) -> ParsedPage:
        return appstore_connect.parse_reviews(body)

    def _call(self, url: str, params: Mapping[str, Any] | None) -> Any:
        """One call, never one past the hourly limit: once ``X-Rate-Limit`` says 0 remain, the
        next call raises ``RateLimited`` for the hour without being sent, so the retry policy
        stops the run (the hour is longer than its cap) and the saved cursor resumes next run."""
        what = "App Store Connect"
        if self.hour_spent:  # cleared: after the policy's wait (if it waits an hour) the call goes
            self.hour_spent = False
            raise RateLimited(f"{what} hourly request limit spent (X-Rate-Limit user-hour-rem:0)",
                              retry_after=APPSTORE_CONNECT_HOUR)  # fmt: skip
        response = _send(self.http, url, auth=f"Bearer {self.key.token()}", params=params, what=what)
        self.remaining = appstore_connect_remaining(response.headers)
        self.hour_spent = self.remaining == 0
        if response.status_code == 429 and self.hour_spent:
            raise RateLimited(f"{what} hourly request limit spent", retry_after=APPSTORE_CONNECT_HOUR)
        return checked_json(response, what)

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        since = position.get("since")
        url = position.get("next") or f"/v1/apps/{self.settings.app_id}/customerReviews"
        params = None if position.get("next") else {
            "include": "response", "sort": "-createdDate", "limit": max(self.settings.page_size, 1)}  # fmt: skip
        body = self._call(url, params)
        parsed = appstore_connect.parse_reviews(body)
        newest = position.get("newest") or max((p.created_at.isoformat() for p in parsed.posts), default=since)
        oldest = min((p.created_at for p in parsed.posts), default=None)
        links = body.get("links") if isinstance(body, Mapping) else None
        following = links.get("next") if isinstance(links, Mapping) else None
        reached_known = since is not None and oldest is not None and oldest <= parse_time(since)
        if following and parsed.posts and not reached_known:
            return Page(body=body, position={"since": since, "next": following, "newest": newest}, done=False,
                        parsed=parsed)  # fmt: skip
        return Page(body=body, position={"since": newest}, done=True, parsed=parsed)


class GooglePlayApiSource:
    """One app's recent reviews from the Android Publisher API, with the developer's replies."""

    platform = "googleplay"

    def __init__(self, source: SourceSettings, token: GooglePlayToken, *, base_url: str, timeout: float) -> None:
        self.name = source.name
        self.settings = source
        self.token = token
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def parse(self, body: Any) -> ParsedPage:
        return googleplay.parse_api_reviews(body, app_id=self.settings.app_id)

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        params: dict[str, Any] = {"maxResults": self.settings.page_size}
        if position.get("token"):
            params["token"] = position["token"]
        url = f"/androidpublisher/v3/applications/{self.settings.app_id}/reviews"
        body = _get(self.http, url, auth=self.token.header(), params=params, what="Android Publisher")
        parsed = self.parse(body)
        pagination = body.get("tokenPagination") if isinstance(body, Mapping) else None
        token = pagination.get("nextPageToken") if isinstance(pagination, Mapping) else None
        if token and parsed.posts:
            return Page(body=body, position={"token": token}, done=False, parsed=parsed)
        return Page(body=body, position={}, done=True, parsed=parsed)
