"""Replies on Reddit through praw: ``comment.reply`` / ``submission.reply``; the thread for
checks."""

from __future__ import annotations

from typing import Any

import praw
import prawcore

from engagement.queue.platforms.base import (
    PermanentPostError,
    ReplyTarget,
    TransientPostError,
    UnknownOutcome,
    same_text,
)
from engagement.settings import ReplySettings


def _secret(value: Any) -> str:
    return str(value.get_secret_value()) if value is not None else ""


def split_fullname(target: ReplyTarget) -> tuple[str, str]:
    """``("t1", id)`` for a comment or ``("t3", id)`` for a submission, from the post's ids."""
    ext = target.external_id
    if ext[:3] in ("t1_", "t3_"):
        return ext[:2], ext[3:]
    name = str(target.raw.get("name", "")) if target.raw else ""
    if name[:3] in ("t1_", "t3_"):
        return name[:2], ext
    is_submission = target.title is not None or (target.conversation_id or "").removeprefix("t3_") == ext
    return ("t3" if is_submission else "t1"), ext


class RedditPoster:
    """Posts as the brand's Reddit account (script app: client id/secret, username, password)."""

    platform = "reddit"
    dry_run = False

    def __init__(self, reddit: praw.Reddit, username: str) -> None:
        self.reddit = reddit
        self.username = username

    @classmethod
    def from_settings(cls, settings: ReplySettings) -> RedditPoster:
        reddit = praw.Reddit(
            client_id=_secret(settings.reddit_client_id),
            client_secret=_secret(settings.reddit_client_secret),
            username=settings.reddit_username,
            password=_secret(settings.reddit_password),
            user_agent=settings.reddit_user_agent,
            check_for_updates=False,
        )
        return cls(reddit, settings.reddit_username or "")

    def _thing(self, target: ReplyTarget) -> Any:
        kind, ident = split_fullname(target)
        return self.reddit.submission(ident) if kind == "t3" else self.reddit.comment(ident)

    def post_reply(self, target: ReplyTarget, text: str) -> str:
        try:
            created = self._thing(target).reply(text)
        except prawcore.TooManyRequests as exc:
            raise TransientPostError(f"Reddit rate limit: {exc}") from exc
        except prawcore.ServerError as exc:
            raise UnknownOutcome(f"Reddit server error: {exc}") from exc
        except (
            prawcore.Forbidden,
            prawcore.NotFound,
            prawcore.BadRequest,
            praw.exceptions.RedditAPIException,
        ) as exc:
            raise PermanentPostError(f"Reddit refused the reply: {exc}") from exc
        except prawcore.PrawcoreException as exc:  # connection errors, timeouts
            raise UnknownOutcome(f"Reddit request failed: {exc}") from exc
        if created is None:
            raise PermanentPostError("Reddit did not create the reply (the thread may be locked or archived)")
        return str(created.fullname)

    def find_existing(self, target: ReplyTarget, text: str) -> str | None:
        """Look at the direct replies under the target for one by our account with this text."""
        try:
            thing = self._thing(target)
            if isinstance(thing, praw.models.Submission):
                thing.comments.replace_more(limit=0)
                forest: Any = thing.comments  # top-level comments only: direct replies
            else:
                thing.refresh()
                forest = thing.replies
            replies: list[Any] = list(forest)
        except prawcore.PrawcoreException as exc:
            raise UnknownOutcome(f"could not check Reddit for an earlier reply: {exc}") from exc
        for reply in replies:
            author = getattr(reply, "author", None)
            mine = author is not None and str(author.name).lower() == self.username.lower()
            if mine and same_text(str(reply.body), text):
                return str(reply.fullname)
        return None
