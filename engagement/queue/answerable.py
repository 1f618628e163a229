"""Can engagebot answer on this platform right now, and if not, what should a person do?

Why this exists: a reply that was never posted used to look like an answer (issue 25). The
poster already knows why it would not post (dry run, missing credentials, a platform that takes
no replies); this module turns that into one sentence for the case page before Send, and into
the per-platform credential lines of ``engagebot status``, so people learn it before they write
a reply rather than after.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum

from engagement.i18n import N_
from engagement.queue import platforms
from engagement.settings import ReplySettings

DRY_RUN_MESSAGE = N_("Replies are in dry run: nothing will be posted (set replies.dry_run = false)")

#: What to set for the platforms whose poster only says "no credentials" (the API platforms'
#: reasons already name their environment variables and settings).
CREDENTIAL_SETTINGS: dict[str, tuple[str, ...]] = {
    "x": (
        "engagement.replies.x_consumer_key",
        "x_consumer_secret",
        "x_access_token",
        "x_access_token_secret",
    ),
    "reddit": (
        "engagement.replies.reddit_client_id",
        "reddit_client_secret",
        "reddit_username",
        "reddit_password",
    ),
}


_asking: ContextVar[bool] = ContextVar("answerable_asking", default=False)


class _QuietWhileAsking(logging.Filter):
    """Drops ``poster_for``'s "replies stay dry-run" warning while this module only asks: the
    case page and ``status`` ask on every view, and the answer is shown, not logged. Context-
    local, so a real send in another request still logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _asking.get()


logging.getLogger(platforms.__name__).addFilter(_QuietWhileAsking())


@contextmanager
def _quietly() -> Iterator[None]:
    token = _asking.set(True)
    try:
        yield
    finally:
        _asking.reset(token)


class Reach(StrEnum):
    """Why a reply would or would not reach the platform."""

    LIVE = "live"
    DRY_RUN = "dry_run"
    NO_CREDENTIALS = "no_credentials"
    NO_REPLIES = "no_replies"


@dataclass(frozen=True)
class Answerability:
    """The verdict for one platform: ``can_post`` only when a reply would really be posted."""

    platform: str
    reach: Reach
    message: str

    @property
    def can_post(self) -> bool:
        return self.reach is Reach.LIVE


def _no_replies(platform: str) -> Answerability:
    return Answerability(
        platform,
        Reach.NO_REPLIES,
        f"engagebot cannot post on {platform}: answer it on {platform} and close it as answered elsewhere",
    )


def credentials_problem(platform: str, settings: ReplySettings, env: Mapping[str, str] | None = None) -> str | None:
    """Why replies to ``platform`` could not be posted even with dry run off (missing
    credentials, naming what to set), or None when they could. Dry run is ignored on purpose:
    ``status`` names missing credentials while dry run is still on, so turning it off holds no
    surprise."""
    if platform not in platforms.REPLY_PLATFORMS:
        return f"{platform!r} takes no replies"
    with _quietly():
        poster = platforms.poster_for(platform, settings.model_copy(update={"dry_run": False}), env)
    if not getattr(poster, "dry_run", False):
        return None
    reason = str(getattr(poster, "reason", "") or f"no credentials for {platform!r}")
    needed = CREDENTIAL_SETTINGS.get(platform)
    if needed and "set " not in reason:
        reason = f"{reason}: set {', '.join(needed)}"
    return reason


def answerability(platform: str, settings: ReplySettings, env: Mapping[str, str] | None = None) -> Answerability:
    """Whether a reply on ``platform`` would be posted, and if not, what a person can do."""
    if platform not in platforms.REPLY_PLATFORMS:
        return _no_replies(platform)
    if settings.dry_run:
        return Answerability(platform, Reach.DRY_RUN, DRY_RUN_MESSAGE)
    problem = credentials_problem(platform, settings, env)
    if problem is None:
        return Answerability(platform, Reach.LIVE, f"Replies are posted on {platform}.")
    if "takes no replies" in problem:
        return _no_replies(platform)
    return Answerability(
        platform,
        Reach.NO_CREDENTIALS,
        f"Replies to {platform} cannot be posted: {problem}. Until then, answer it on {platform} "
        "and close it as answered elsewhere.",
    )


def replies_status(settings: ReplySettings, env: Mapping[str, str] | None = None) -> dict[str, object]:
    """What ``engagebot status`` says about replies: dry run or not, and per reply platform what
    is missing before a reply there is posted (absent when nothing is). Named even while dry
    run is on, so an operator fixes credentials before turning it off, not after."""
    missing = {
        platform: problem
        for platform in platforms.REPLY_PLATFORMS
        if (problem := credentials_problem(platform, settings, env)) is not None
    }
    return {"dry_run": settings.dry_run, "missing_credentials": missing}


def replies_status_lines(status: Mapping[str, object]) -> list[str]:
    """The status screen's reply lines: one for dry run or live, one per platform without credentials."""
    found = status.get("missing_credentials")
    missing: Mapping[str, object] = found if isinstance(found, Mapping) else {}
    live = [p for p in platforms.REPLY_PLATFORMS if p not in missing]
    if status.get("dry_run"):
        head = "replies: DRY RUN, nothing is posted on any platform (set replies.dry_run = false)"
    else:
        head = f"replies: posted on {', '.join(live) or 'no platform'}"
    return [head, *(f"  replies to {platform} not posted: {reason}" for platform, reason in missing.items())]
