"""The default poster: logs what would be posted and posts nothing."""

from __future__ import annotations

import logging

from engagement.queue.platforms.base import ReplyTarget

log = logging.getLogger(__name__)


class DryRunPoster:
    """Stands in for a platform until replies are turned on and credentials are given."""

    dry_run = True

    def __init__(self, platform: str, *, reason: str) -> None:
        self.platform = platform
        self.reason = reason

    def post_reply(self, target: ReplyTarget, text: str) -> str:
        log.info(
            "dry-run (%s): would reply to %s %s: %r",
            self.reason,
            target.platform,
            target.external_id,
            text,
        )
        return f"dry-run:{target.platform}:{target.external_id}"

    def find_existing(self, target: ReplyTarget, text: str) -> str | None:
        return None
