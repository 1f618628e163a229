"""App Store customer reviews: the public RSS feed in JSON, per app and storefront country.

At most 10 pages of 50, newest first. A pass per country walks pages until it meets a
review it saw before (``updated`` time), then the cursor advances. A feed without entries on
page 1 is Apple throttling (or an app with no reviews): retried next run, cursor unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from listener.base import Page
from listener.parsers import appstore as appstore_parser
from listener.ratelimit import RateLimited, Retriable, retry_after_seconds
from listener.records import ParsedPage, parse_time
from listener.settings import SourceSettings

FEED_URL = "https://itunes.apple.com/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"
MAX_PAGE = 10


class AppStoreSource:
    """One app's reviews across the configured storefronts."""

    platform = "appstore"

    def __init__(
        self,
        source: SourceSettings,
        session: requests.Session | None = None,
        *,
        timeout: float = 30.0,
    ) -> None:
        self.name = source.name
        self.settings = source
        self.session = session or requests.Session()
        self.timeout = timeout
        self.countries = [c.lower() for c in source.countries] or ["us"]

    def parse(self, body: Any) -> ParsedPage:
        return appstore_parser.parse_feed(body)

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        country = str(position.get("country") or "")
        if country not in self.countries:
            country = self.countries[0]
        index = self.countries.index(country)
        states: dict[str, Any] = dict(position.get("countries") or {})
        state: dict[str, Any] = dict(states.get(country) or {})
        page_number = int(state.get("page", 1))
        since = state.get("since")
        url = FEED_URL.format(country=country, page=page_number, app_id=self.settings.app_id)
        body = self._get(url)
        parsed = self.parse(body)
        times = [p.created_at for p in parsed.posts]
        newest = max(
            [*times, *([parse_time(state["pending"])] if state.get("pending") else [])],
            default=None,
        )
        reached_old = since is not None and any(t <= parse_time(since) for t in times)
        last_country = index == len(self.countries) - 1
        next_country = self.countries[0] if last_country else self.countries[index + 1]
        if parsed.empty_feed and page_number == 1:
            states[country] = {"since": since} if since else {}
            position_out = {"countries": states, "country": next_country}
            return Page(
                body=body,
                position=position_out,
                done=last_country,
                parsed=parsed,
                note=f"{country}: empty feed (throttled?)",
            )
        if not parsed.empty_feed and not reached_old and page_number < MAX_PAGE:
            states[country] = {
                "since": since,
                "page": page_number + 1,
                "pending": newest.isoformat() if newest else None,
            }
            return Page(
                body=body,
                position={"countries": states, "country": country},
                done=False,
                parsed=parsed,
                reads=len(times),
            )
        finished = max(
            [t for t in (newest, parse_time(since) if since else None) if t is not None],
            default=None,
        )
        states[country] = {"since": finished.isoformat()} if finished else {}
        return Page(
            body=body,
            position={"countries": states, "country": next_country},
            done=last_country,
            parsed=parsed,
            reads=len(times),
        )

    def _get(self, url: str) -> Any:
        try:
            response = self.session.get(url, timeout=self.timeout, headers={"Accept": "application/json"})
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Retriable(f"App Store connection error: {exc}") from exc
        if response.status_code in (403, 429):
            raise RateLimited(
                f"App Store HTTP {response.status_code}",
                retry_after=retry_after_seconds(response.headers),
            )
        if response.status_code >= 500:
            raise Retriable(f"App Store HTTP {response.status_code}")
        response.raise_for_status()
        try:
            return response.json()
        except ValueError as exc:
            raise Retriable(f"App Store returned non-JSON ({exc})") from exc
