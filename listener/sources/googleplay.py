"""Google Play reviews through google-play-scraper (newest first, per app and country).

The scraper's continuation token cannot be stored, so a pass starts at the newest review
and pages within the run until it meets one it saw before; only then does the cursor
advance (a crash means re-reading, never skipping). The scraper swallows HTTP errors and
returns nothing, so an empty first page leaves the cursor where it was.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from typing import Any

from listener.base import Page
from listener.parsers import googleplay as googleplay_parser
from listener.records import ParsedPage, parse_time
from listener.settings import SourceSettings

ReviewsFn = Callable[..., tuple[list[dict[str, Any]], Any]]


def _scraper() -> Any:
    """The ``google_play_scraper`` module, imported without its side effect.

    Importing the package replaces ``ssl._create_default_https_context`` with an unverified
    context for the whole process; the original (verifying) one is put back.
    """
    original = ssl._create_default_https_context
    try:
        import google_play_scraper
    finally:
        ssl._create_default_https_context = original
    return google_play_scraper


def scraper_reviews() -> ReviewsFn:
    reviews: ReviewsFn = _scraper().reviews
    return reviews


class GooglePlaySource:
    """One app's Google Play reviews across the configured countries."""

    platform = "googleplay"

    def __init__(self, source: SourceSettings, reviews_fn: ReviewsFn | None = None) -> None:
        self.name = source.name
        self.settings = source
        self.reviews_fn = reviews_fn or scraper_reviews()
        self.countries = [c.lower() for c in source.countries] or ["us"]
        self._tokens: dict[str, Any] = {}

    def parse(self, body: Any) -> ParsedPage:
        return googleplay_parser.parse_reviews(body, naive_tz=None, app_id=self.settings.app_id)

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        country = str(position.get("country") or "")
        if country not in self.countries:
            country = self.countries[0]
        index = self.countries.index(country)
        states: dict[str, Any] = dict(position.get("countries") or {})
        state: dict[str, Any] = dict(states.get(country) or {})
        since = state.get("since")
        token = self._tokens.get(country)
        pending = state.get("pending") if token is not None else None
        kwargs: dict[str, Any] = (
            {"continuation_token": token}
            if token is not None
            else {
                "lang": self.settings.lang,
                "country": country,
                "sort": _scraper().Sort.NEWEST,
            }
        )
        items, next_token = self.reviews_fn(
            self.settings.app_id, count=min(self.settings.page_size, max_results or 100), **kwargs
        )
        body = [dict(item) for item in items]
        parsed = self.parse(body)
        times = [p.created_at for p in parsed.posts]
        candidates = [*times, *([parse_time(pending)] if pending else [])]
        newest = max(candidates) if candidates else None
        reached_old = since is not None and any(t <= parse_time(since) for t in times)
        last_country = index == len(self.countries) - 1
        next_country = self.countries[0] if last_country else self.countries[index + 1]
        has_more = bool(items) and next_token is not None and getattr(next_token, "token", None) is not None
        if has_more and not reached_old:
            self._tokens[country] = next_token
            states[country] = {"since": since, "pending": newest.isoformat() if newest else None}
            return Page(
                body=body,
                position={"countries": states, "country": country},
                done=False,
                parsed=parsed,
                reads=len(items),
            )
        self._tokens.pop(country, None)
        finished = max(
            [t for t in (newest, parse_time(since) if since else None) if t is not None],
            default=None,
        )
        states[country] = {"since": finished.isoformat()} if finished else {}
        note = f"{country}: no reviews returned" if not items and token is None else None
        return Page(
            body=body,
            position={"countries": states, "country": next_country},
            done=last_country,
            parsed=parsed,
            reads=len(items),
            note=note,
        )
