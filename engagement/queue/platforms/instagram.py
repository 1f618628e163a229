"""Replies on Instagram (Graph API): ``POST /{ig-comment-id}/replies`` under the customer's comment.

Instagram threads are one level deep, so a reply to a reply goes under its top-level comment
(the post's ``conversation_id``). A caption that @mentions the brand cannot be answered with a
comment reply: it is refused as permanent, so the case says so instead of pretending.
"""

from __future__ import annotations

import httpx

from engagement.queue.platforms.base import PermanentPostError, ReplyTarget, same_text
from engagement.queue.platforms.http import call

TOKEN_SETTING = "INSTAGRAM_ACCESS_TOKEN (engagement.replies.instagram_access_token)"


class InstagramPoster:
    """Posts as the Instagram business account linked to the token's Page."""

    platform = "instagram"
    dry_run = False

    def __init__(self, *, base_url: str, token: str, username: str, timeout: float = 30.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/", timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )
        self.username = username.lstrip("@").lower()

    @staticmethod
    def comment_of(target: ReplyTarget) -> str:
        raw = target.raw or {}
        if "caption" in raw or "media_type" in raw:
            raise PermanentPostError("an Instagram caption takes no reply: answer it in a comment on that post")
        return target.conversation_id or target.external_id

    def post_reply(self, target: ReplyTarget, text: str) -> str:
        body = call(self.http, "POST", f"{self.comment_of(target)}/replies", data={"message": text},
                    what="Instagram reply", token_setting=TOKEN_SETTING)  # fmt: skip
        if not isinstance(body, dict) or not body.get("id"):
            raise PermanentPostError(f"Instagram returned no reply id: {body!r}")
        return str(body["id"])

    def find_existing(self, target: ReplyTarget, text: str) -> str | None:
        body = call(self.http, "GET", f"{self.comment_of(target)}/replies", params={"fields": "id,text,username"},
                    what="Instagram check for an earlier reply", token_setting=TOKEN_SETTING)  # fmt: skip
        for reply in body.get("data", []) if isinstance(body, dict) else []:
            if str(reply.get("username", "")).lower() == self.username and same_text(str(reply.get("text", "")), text):
                return str(reply["id"])
        return None
