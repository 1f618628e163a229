"""Replies on a Facebook Page (Graph API): a comment under the customer's comment or post, and
hiding a comment (moderation).

Facebook comments nest one level: a reply to a reply is posted under its top-level comment
(the post's ``conversation_id``), where the customer sees it. ``find_existing`` reads that
thread's comments, newest first, for one by our Page with the same text.
"""

from __future__ import annotations

from typing import Any

import httpx

from engagement.queue.platforms.base import PermanentPostError, ReplyTarget, same_text
from engagement.queue.platforms.http import call

TOKEN_SETTING = "FACEBOOK_PAGE_TOKEN (engagement.replies.facebook_page_token)"


class FacebookPoster:
    """Posts as the Page whose access token it holds."""

    platform = "facebook"
    dry_run = False

    def __init__(self, *, base_url: str, token: str, page_id: str | None = None, timeout: float = 30.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/", timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )
        self.page_id = page_id

    @staticmethod
    def thread_of(target: ReplyTarget) -> str:
        """The object to comment on: the top-level comment of the thread, or the post itself."""
        return target.conversation_id or target.external_id

    def post_reply(self, target: ReplyTarget, text: str) -> str:
        body = call(self.http, "POST", f"{self.thread_of(target)}/comments", data={"message": text},
                    what="Facebook reply", token_setting=TOKEN_SETTING)  # fmt: skip
        if not isinstance(body, dict) or not body.get("id"):
            raise PermanentPostError(f"Facebook returned no comment id: {body!r}")
        return str(body["id"])

    def _my_page(self) -> str:
        if self.page_id is None:
            me = call(self.http, "GET", "me", params={"fields": "id"}, what="Facebook /me", token_setting=TOKEN_SETTING)
            self.page_id = str(me["id"]) if isinstance(me, dict) and me.get("id") else ""
        return self.page_id

    def find_existing(self, target: ReplyTarget, text: str) -> str | None:
        params = {"fields": "id,message,from", "filter": "stream", "order": "reverse_chronological", "limit": 100}
        body = call(self.http, "GET", f"{self.thread_of(target)}/comments", params=params,
                    what="Facebook check for an earlier reply", token_setting=TOKEN_SETTING)  # fmt: skip
        page = self._my_page()
        for comment in body.get("data", []) if isinstance(body, dict) else []:
            author: Any = comment.get("from") or {}
            if str(author.get("id")) == page and same_text(str(comment.get("message", "")), text):
                return str(comment["id"])
        return None

    def hide_comment(self, comment_id: str, *, hidden: bool = True) -> bool:
        """Hide (or show again) a comment on the Page: ``POST /{comment-id}`` with ``is_hidden``.

        Hidden comments stay visible to their author and friends, so a hide never looks like a
        deletion to the customer. The caller audits who hid what."""
        body = call(self.http, "POST", comment_id, data={"is_hidden": "true" if hidden else "false"},
                    what="Facebook hide comment", token_setting=TOKEN_SETTING)  # fmt: skip
        return bool(isinstance(body, dict) and body.get("success"))
