"""Developer replies on Google Play (Android Publisher API v3, a service account).

``POST /androidpublisher/v3/applications/{package}/reviews/{reviewId}:reply`` with
``{"replyText": ...}`` (the discovery document's ``ReviewsReplyRequest``) sets the review's one
developer reply, replacing an earlier one. The API gives a reply no id of its own: the id kept
is ``{reviewId}:reply@{lastEdited seconds}``, and ``find_existing`` (``reviews.get``) rebuilds
the same id from the review's ``developerComment`` when its text is ours.
"""

from __future__ import annotations

from typing import Any

import httpx

from engagement.queue.platforms.base import PermanentPostError, ReplyTarget, same_text
from engagement.queue.platforms.http import call
from listener.store_auth import GooglePlayToken

TOKEN_SETTING = "GOOGLE_APPLICATION_CREDENTIALS (engagement.replies.googleplay_api)"


def reply_id(review_id: str, edited: Any) -> str:
    seconds = edited.get("seconds") if isinstance(edited, dict) else None
    return f"{review_id}:reply@{seconds}" if seconds else f"{review_id}:reply"


class GooglePlayPoster:
    """Answers Google Play reviews of one app as its developer."""

    platform = "googleplay"
    dry_run = False

    def __init__(self, *, base_url: str, token: GooglePlayToken, package: str, timeout: float = 30.0) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.token = token
        self.package = package

    def _review_path(self, target: ReplyTarget) -> str:
        return f"/androidpublisher/v3/applications/{self.package}/reviews/{target.external_id}"

    def post_reply(self, target: ReplyTarget, text: str) -> str:
        body = call(self.http, "POST", f"{self._review_path(target)}:reply", json={"replyText": text},
                    headers={"Authorization": self.token.header()}, what="Google Play reply",
                    token_setting=TOKEN_SETTING)  # fmt: skip
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise PermanentPostError(f"Google Play returned no reply: {body!r}")
        return reply_id(target.external_id, result.get("lastEdited"))

    def find_existing(self, target: ReplyTarget, text: str) -> str | None:
        body = call(self.http, "GET", self._review_path(target), headers={"Authorization": self.token.header()},
                    what="Google Play check for an earlier reply", token_setting=TOKEN_SETTING,
                    ok_missing=True)  # fmt: skip
        for comment in body.get("comments", []) if isinstance(body, dict) else []:
            developer = comment.get("developerComment") if isinstance(comment, dict) else None
            if isinstance(developer, dict) and same_text(str(developer.get("text", "")), text):
                return reply_id(target.external_id, developer.get("lastModified"))
        return None
