"""Pure parsers, one module a platform: raw API bodies (or export rows) in, posts out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from listener.parsers import appstore, appstore_connect, facebook, googleplay, instagram, reddit, x
from listener.records import ParsedPage, reject

API_PLATFORMS = ("x", "reddit", "appstore", "googleplay", "facebook", "instagram")
TABULAR_PLATFORMS = ("csv", "jsonl")
PLATFORMS = API_PLATFORMS + TABULAR_PLATFORMS


def _googleplay_file(body: Any) -> ParsedPage:
    """google-play-scraper dicts, or an Android Publisher ``reviews.list`` body."""
    if isinstance(body, dict) and isinstance(body.get("reviews"), list) and any(
        isinstance(r, dict) and "comments" in r for r in body["reviews"]
    ):
        return googleplay.parse_api_reviews(body)
    return googleplay.parse_reviews(body, naive_tz=UTC)


def _appstore_file(body: Any) -> ParsedPage:
    """The customer-reviews RSS feed, or an App Store Connect ``customerReviews`` body."""
    if isinstance(body, dict) and "data" in body and "feed" not in body:
        return appstore_connect.parse_reviews(body)
    return appstore.parse_feed(body)


BODY_PARSERS: dict[str, Callable[[Any], ParsedPage]] = {
    "x": x.parse_response,
    "reddit": reddit.parse_listing,
    "appstore": _appstore_file,
    "googleplay": _googleplay_file,
    "facebook": facebook.parse_response,
    "instagram": instagram.parse_response,
}


def parse_body(platform: str, body: Any) -> ParsedPage:
    """Parse one raw API body of ``platform``; never raises for bad data, only rejects it."""
    try:
        parser = BODY_PARSERS[platform]
    except KeyError:
        raise ValueError(f"unknown platform {platform!r} (one of {', '.join(API_PLATFORMS)})") from None
    try:
        return parser(body)
    except Exception as exc:  # a parser bug must cost one body, not the run: keep it for re-parsing
        page = ParsedPage()
        page.rejected.append(reject(None, f"parser error: {type(exc).__name__}: {exc}", body))
        return page
