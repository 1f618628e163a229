"""Posting replies to the platforms: one module a platform, dry-run unless turned on and
configured."""

from __future__ import annotations

import logging

from engagement.queue.platforms.base import (
    PermanentPostError,
    Poster,
    ReplyTarget,
    TransientPostError,
    UnknownOutcome,
)
from engagement.queue.platforms.dryrun import DryRunPoster
from engagement.settings import ReplySettings

log = logging.getLogger(__name__)

__all__ = [
    "DryRunPoster",
    "PermanentPostError",
    "Poster",
    "ReplyTarget",
    "TransientPostError",
    "UnknownOutcome",
    "poster_for",
]


def _has(*secrets: object) -> bool:
    """True when every value is given and non-empty (``SecretStr`` or plain)."""
    for secret in secrets:
        if secret is None:
            return False
        reveal = getattr(secret, "get_secret_value", None)
        if not str(reveal() if reveal is not None else secret):
            return False
    return True


def poster_for(platform: str, settings: ReplySettings) -> Poster:
    """The poster for a platform: dry-run when ``dry_run`` is on or the credentials are missing."""
    if settings.dry_run:
        return DryRunPoster(platform, reason="dry_run setting is on")
    if platform == "x" and _has(
        settings.x_consumer_key,
        settings.x_consumer_secret,
        settings.x_access_token,
        settings.x_access_token_secret,
    ):
        from engagement.queue.platforms.x import XPoster

        return XPoster.from_settings(settings)
    if platform == "reddit" and _has(
        settings.reddit_client_id,
        settings.reddit_client_secret,
        settings.reddit_username,
        settings.reddit_password,
    ):
        from engagement.queue.platforms.reddit import RedditPoster

        return RedditPoster.from_settings(settings)
    reason = f"no credentials for {platform!r}" if platform in ("x", "reddit") else f"{platform!r} takes no replies"
    log.warning("replies to %s stay dry-run: %s", platform, reason)
    return DryRunPoster(platform, reason=reason)
