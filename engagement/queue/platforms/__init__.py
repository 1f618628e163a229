"""Posting replies to the platforms: one module a platform, dry-run unless turned on and
configured.

Credentials come from ``[engagement.replies]`` or, as for the collectors, the environment
(``FACEBOOK_PAGE_TOKEN``, ``INSTAGRAM_ACCESS_TOKEN``, ``ASC_*``, ``GOOGLE_APPLICATION_CREDENTIALS``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from engagement.queue.platforms.base import (
    PermanentPostError,
    Poster,
    ReplyTarget,
    TransientPostError,
    UnknownOutcome,
)
from engagement.queue.platforms.dryrun import DryRunPoster
from engagement.settings import ReplySettings
from listener.base import MissingCredentials

log = logging.getLogger(__name__)

__all__ = [
    "REPLY_PLATFORMS",
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


REPLY_PLATFORMS = ("x", "reddit", "facebook", "instagram", "appstore", "googleplay")
"""Platforms engagebot can answer on (given credentials); other platforms' posts are read-only."""


def _secret(value: object, env: Mapping[str, str], *names: str) -> str | None:
    """A setting's secret value, else the first of the environment variables that is set."""
    reveal = getattr(value, "get_secret_value", None)
    text = str(reveal()) if reveal is not None else (str(value) if value else "")
    return text or next((env[n] for n in names if env.get(n)), None)


def _api_poster(platform: str, settings: ReplySettings, env: Mapping[str, str]) -> Poster | str:
    """The Facebook, Instagram, App Store or Google Play poster, or why there is none."""
    if platform == "facebook":
        token = _secret(settings.facebook_page_token, env, "FACEBOOK_PAGE_TOKEN")
        if not token:
            return "no credentials for 'facebook': set FACEBOOK_PAGE_TOKEN"
        from engagement.queue.platforms.facebook import FacebookPoster

        return FacebookPoster(base_url=settings.graph_api_base, token=token, page_id=settings.facebook_page_id)
    if platform == "instagram":
        token = _secret(settings.instagram_access_token, env, "INSTAGRAM_ACCESS_TOKEN", "FACEBOOK_PAGE_TOKEN")
        if not token or not settings.instagram_username:
            return (
                "no credentials for 'instagram': set INSTAGRAM_ACCESS_TOKEN and engagement.replies.instagram_username"
            )
        from engagement.queue.platforms.instagram import InstagramPoster

        return InstagramPoster(base_url=settings.graph_api_base, token=token, username=settings.instagram_username)
    try:
        if platform == "appstore":
            from engagement.queue.platforms.appstore import AppStorePoster
            from listener.store_auth import appstore_connect_key

            key = appstore_connect_key(settings.appstore_connect, env)
            return AppStorePoster(base_url=settings.appstore_connect.api_base, key=key)
        if platform == "googleplay":
            if not settings.googleplay_package:
                return "no app for 'googleplay': set engagement.replies.googleplay_package"
            from engagement.queue.platforms.googleplay import GooglePlayPoster
            from listener.store_auth import googleplay_token

            token_source = googleplay_token(settings.googleplay_api, env)
            return GooglePlayPoster(
                base_url=settings.googleplay_api.api_base, token=token_source, package=settings.googleplay_package
            )
    except MissingCredentials as exc:
        return f"no credentials for {platform!r}: {exc}"
    return f"{platform!r} takes no replies"


def poster_for(platform: str, settings: ReplySettings, env: Mapping[str, str] | None = None) -> Poster:
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
    if platform in ("x", "reddit"):
        reason = f"no credentials for {platform!r}"
    else:
        found = _api_poster(platform, settings, os.environ if env is None else env)
        if not isinstance(found, str):
            return found
        reason = found
    log.warning("replies to %s stay dry-run: %s", platform, reason)
    return DryRunPoster(platform, reason=reason)
