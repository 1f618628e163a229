"""Developer responses on the App Store (App Store Connect API, a team API key).

``POST /v1/customerReviewResponses`` creates the response to a review, or replaces the one
already there (a review holds one developer response). ``find_existing`` reads the review's
response (``GET /v1/customerReviews/{id}/response``): ours with the same text means the first
attempt went through. Every call signs a fresh ES256 JWT (``listener.store_auth``).
"""

from __future__ import annotations

from typing import Any

import httpx

from engagement.queue.platforms.base import PermanentPostError, ReplyTarget, same_text
from engagement.queue.platforms.http import call
from listener.store_auth import AppStoreConnectKey

TOKEN_SETTING = "ASC_ISSUER_ID, ASC_KEY_ID and ASC_PRIVATE_KEY (engagement.replies.appstore_connect)"


def response_request(review_id: str, text: str) -> dict[str, Any]:
    """The JSON:API document Apple's OpenAPI names ``CustomerReviewResponseV1CreateRequest``."""
    return {
        "data": {
            "type": "customerReviewResponses",
            "attributes": {"responseBody": text},
            "relationships": {"review": {"data": {"type": "customerReviews", "id": review_id}}},
        }
    }


class AppStorePoster:
    """Answers App Store reviews as the app's developer."""

    platform = "appstore"
    dry_run = False

    def __init__(self, *, base_url: str, key: AppStoreConnectKey, timeout: float = 30.0) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.key = key

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key.token()}"}

    def post_reply(self, target: ReplyTarget, text: str) -> str:
        body = call(self.http, "POST", "/v1/customerReviewResponses", json=response_request(target.external_id, text),
                    headers=self._auth(), what="App Store response", token_setting=TOKEN_SETTING)  # fmt: skip
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            raise PermanentPostError(f"App Store Connect returned no response id: {body!r}")
        return str(data["id"])

    def find_existing(self, target: ReplyTarget, text: str) -> str | None:
        body = call(self.http, "GET", f"/v1/customerReviews/{target.external_id}/response", headers=self._auth(),
                    what="App Store check for an earlier response", token_setting=TOKEN_SETTING,
                    ok_missing=True)  # fmt: skip
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            return None
        attributes = data.get("attributes") or {}
        return str(data["id"]) if same_text(str(attributes.get("responseBody", "")), text) else None

    def delete_response(self, response_id: str) -> None:
        """Withdraw a response (``DELETE /v1/customerReviewResponses/{id}``); replacing one needs
        no delete: a new ``post_reply`` replaces it."""
        call(self.http, "DELETE", f"/v1/customerReviewResponses/{response_id}", headers=self._auth(),
             what="App Store delete response", token_setting=TOKEN_SETTING)  # fmt: skip
