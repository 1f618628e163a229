"""Pure parsers, one module a platform: raw API bodies (or export rows) in, posts out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from listener.parsers import appstore, googleplay, reddit, x
from listener.records import ParsedPage, reject

API_PLATFORMS = ("x", "reddit", "appstore", "googleplay")
TABULAR_PLATFORMS = ("csv", "jsonl")
PLATFORMS = API_PLATFORMS + TABULAR_PLATFORMS


def _googleplay_file(body: Any) -> ParsedPage:
    return googleplay.parse_reviews(body, naive_tz=UTC)


BODY_PARSERS: dict[str, Callable[[Any], ParsedPage]] = {
    "x": x.parse_response,
    "reddit": reddit.parse_listing,
    "appstore": appstore.parse_feed,
    "googleplay": _googleplay_file,
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
