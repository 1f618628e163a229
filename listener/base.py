"""The one interface every live source implements; the shared loop in ``collect`` runs it.

A source fetches one page from a cursor position and says where the next page starts; it
never touches the database. The loop parses, stores posts and the new position in one
transaction, retries, caps pages and counts. Client objects (tweepy, praw) stay inside
``listener/sources``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from listener.records import ParsedPage


@dataclass(slots=True)
class Page:
    """One fetched page: the raw body, the cursor to save with it, and whether to go on."""

    body: Any
    position: dict[str, Any]
    done: bool
    reads: int = 0
    parsed: ParsedPage | None = field(default=None)
    note: str | None = None


class Source(Protocol):
    """What the collect loop needs from a platform module."""

    name: str
    platform: str

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        """Fetch the page that starts at ``position``; raise ``ratelimit.FetchError`` kinds."""
        ...

    def parse(self, body: Any) -> ParsedPage:
        """Parse a body this source fetched (the same parsers ``import-posts`` uses)."""
        ...


class MissingCredentials(RuntimeError):
    """A live source is configured but the environment lacks what it needs (names the variable)."""
