"""What parsers return: platform-neutral posts and authors, plus the records they rejected.

Parsers are pure (no database, no network) so live collection and file import share them and
tests can feed them any JSON. Anything a parser cannot turn into a post becomes a
``Rejected`` with the raw record and the reason, never an exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from db.files.raw import Rejected, dump_raw
from db.files.textfiles import storable, undecodable


class RecordError(ValueError):
    """A single record is malformed: quarantine it and keep the rest of the page."""


@dataclass(frozen=True, slots=True)
class ParsedAuthor:
    """A platform account as a payload describes it (handle lower-case, without '@')."""

    platform: str
    external_id: str
    handle: str | None = None
    display_name: str | None = None
    followers: int | None = None
    verified: bool = False


@dataclass(frozen=True, slots=True)
class ParsedPost:
    """One post, comment or review, ready to upsert on ``(platform, external_id)``."""

    platform: str
    external_id: str
    text: str
    created_at: datetime
    author: ParsedAuthor | None = None
    title: str | None = None
    lang: str | None = None
    url: str | None = None
    conversation_id: str | None = None
    in_reply_to_id: str | None = None
    rating: int | None = None
    engagement: int | None = None
    app_version: str | None = None
    answered_at: datetime | None = None
    raw: dict[str, Any] | None = None

    def shifted(self, delta: timedelta) -> ParsedPost:
        """The same post with its timestamps moved by ``delta`` (demo data made recent)."""
        return replace(
            self,
            created_at=self.created_at + delta,
            answered_at=None if self.answered_at is None else self.answered_at + delta,
        )


@dataclass(slots=True)
class ParsedPage:
    """The result of parsing one payload (an API response page, a file line, a CSV chunk)."""

    posts: list[ParsedPost] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: int = 0
    empty_feed: bool = False
    warnings: list[str] = field(default_factory=list)

    def extend(self, other: ParsedPage) -> None:
        self.posts.extend(other.posts)
        self.rejected.extend(other.rejected)
        self.skipped += other.skipped
        self.empty_feed = self.empty_feed or other.empty_feed
        self.warnings.extend(other.warnings)


MAX_TEXT_CHARS = 40_000
"""Default cap of a post's text (Reddit's own limit for a self post); longer text is cut and the
post flagged ``text_truncated`` (``listener.imports.max_text_chars``)."""

MAX_COUNT = 2**31 - 1
"""Largest follower / engagement count kept (the database column is a 32-bit integer)."""


def screen(posts: Sequence[ParsedPost], where: str | None = None) -> tuple[list[ParsedPost], list[Rejected]]:
    """Split parsed posts into those that can be stored and those that cannot (lone surrogates
    in any text field or the raw record), so one bad record never fails its whole chunk.

    ``where`` (a file and line) prefixes the rejects' refs."""
    kept: list[ParsedPost] = []
    rejected: list[Rejected] = []
    for post in posts:
        author = post.author
        quick = (post.text, post.title, post.external_id, post.url, post.lang, post.conversation_id,
                 post.in_reply_to_id, post.app_version, post.raw)  # fmt: skip
        if storable(quick) and (author is None or storable((author.external_id, author.handle, author.display_name))):
            kept.append(post)
            continue
        fields: dict[str, Any] = {
            "text": post.text,
            "title": post.title,
            "external_id": post.external_id,
            "url": post.url,
            "lang": post.lang,
            "conversation_id": post.conversation_id,
            "in_reply_to_id": post.in_reply_to_id,
            "app_version": post.app_version,
            "author": None if author is None else [author.external_id, author.handle, author.display_name],
            "raw": post.raw,
        }
        problem = undecodable(fields)
        if problem:
            ref = post.external_id.encode("utf-8", "backslashreplace").decode("utf-8")
            prefix = f"{where} " if where else ""
            rejected.append(reject(f"{prefix}{post.platform}:{ref}", problem, post.raw or fields))
        else:
            kept.append(post)
    return kept, rejected


def reject(ref: object, error: str | BaseException, raw: Any) -> Rejected:
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return Rejected(ref=None if ref is None else str(ref)[:255], error=message[:2000], raw=dump_raw(raw))


def stable_id(*parts: object) -> str:
    """A short, stable id derived from values, for records whose platform gives none."""
    digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode())
    return digest.hexdigest()[:24]


def parse_time(value: Any, *, naive_as: Any = UTC) -> datetime:
    """An aware UTC datetime from ISO-8601 text, epoch seconds or a datetime.

    Naive values are read in ``naive_as`` (UTC unless the platform says otherwise, as
    google-play-scraper does with host-local times).
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise RecordError(f"not a timestamp: {value!r}")
    elif isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise RecordError(f"timestamp out of range: {value!r}") from exc
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = _parse_loose(text)
    else:
        raise RecordError(f"missing or empty timestamp: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_as) if naive_as is not None else parsed.astimezone()
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise RecordError(f"timestamp out of range: {value!r}") from exc


_LOOSE_FORMATS = (
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M",
    "%a %b %d %H:%M:%S %z %Y",
    "%a, %d %b %Y %H:%M:%S %z",
)


def _parse_loose(text: str) -> datetime:
    for fmt in _LOOSE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise RecordError(f"unreadable timestamp: {text!r}")


def as_int(value: Any) -> int | None:
    """An int from an int or numeric string; None for missing or unreadable values."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 2**62 else None
    if isinstance(value, str):
        try:
            return int(float(value.strip()))
        except (ValueError, OverflowError):
            return None
    return None


def as_text(value: Any) -> str | None:
    """A string or None; numbers become text, containers do not."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def clean_handle(value: str | None) -> str | None:
    """Handles are stored lower-case without '@' so matching never depends on spelling."""
    if not value:
        return None
    handle = value.strip().lstrip("@").lower()
    return handle or None
