"""What a platform poster does, and how its failures are classified for exactly-once replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ReplyTarget:
    """The post we answer, as the platform knows it."""

    platform: str
    external_id: str
    conversation_id: str | None = None
    title: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class PostError(Exception):
    """A reply could not be posted."""


class PermanentPostError(PostError):
    """The platform refused the reply (bad request, forbidden, deleted post): retrying cannot
    help."""


class TransientPostError(PostError):
    """The platform certainly did not post it (rate limit, refused before processing): safe to
    retry."""


class UnknownOutcome(PostError):
    """We cannot tell whether it was posted (timeout, 5xx, dropped connection): check before
    retrying."""


class Poster(Protocol):
    """A platform's reply endpoint, plus a way to look for a reply we may already have posted."""

    platform: str
    dry_run: bool

    def post_reply(self, target: ReplyTarget, text: str) -> str:
        """Post ``text`` as a reply to ``target``; return the platform's id of the new reply."""
        ...

    def find_existing(self, target: ReplyTarget, text: str) -> str | None:
        """The id of a reply with this text already posted by our account under ``target``, if
        any."""
        ...


def same_text(posted: str, ours: str) -> bool:
    """Compare texts as platforms return them (whitespace and HTML entities may differ)."""
    import html

    def norm(value: str) -> str:
        return " ".join(html.unescape(value).split())

    return norm(posted) == norm(ours)
