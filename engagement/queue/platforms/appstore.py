"""Developer responses on the App Store (App Store Connect API, a team API key).

``POST /v1/customerReviewResponses`` creates the response to a review, or replaces the one
already there (a review holds one developer response). ``find_existing`` reads the review's
response (``GET /v1/customerReviews/{id}/response``): ours with the same text means the first
attempt went through. Every call signs a fresh ES256 JWT (``listener.store_auth``).

Apple's ``X-Rate-Limit`` header (``user-hour-lim:3600;user-hour-rem:0;``) is read on every
answer: once no requests remain this hour, calls with that key are refused here, before sending,
as a ``TransientPostError`` (the reply stays a draft for the next retry) until the hour is over.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from engagement.queue.platforms.base import (
    PermanentPostError,
    ReplyTarget,
    TransientPostError,
    UnknownOutcome,
    same_text,
)
from engagement.queue.platforms.http import call
from listener.ratelimit import APPSTORE_CONNECT_HOUR, appstore_connect_remaining
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


#: When each key (issuer, key id) may call again: a poster is made per reply, the limit is the key's.
_SPENT_UNTIL: dict[tuple[str, str], float] = {}


class AppStorePoster:
    """Answers App Store reviews as the app's developer."""

    platform = "appstore"
    dry_run = False

    def __init__(self, *, base_url: str, key: AppStoreConnectKey, timeout: float = 30.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, event_hooks={"response": [self._note_limit]}
        )
        self.key = key

    @property
    def _key_id(self) -> tuple[str, str]:
        return (self.key.issuer_id, self.key.key_id)

    def _note_limit(self, response: httpx.Response) -> None:
        """Remember an hour without requests left (``X-Rate-Limit`` ``user-hour-rem:0``)."""
        if appstore_connect_remaining(response.headers) == 0:
            _SPENT_UNTIL[self._key_id] = time.monotonic() + APPSTORE_CONNECT_HOUR

    def _auth(self) -> dict[str, str]:
        """The call's header; refused before sending while the key's hourly limit is spent."""
        until = _SPENT_UNTIL.get(self._key_id)
        if until is not None and time.monotonic() < until:
            minutes = (until - time.monotonic()) / 60
            raise TransientPostError(
                f"App Store Connect hourly request limit spent (X-Rate-Limit user-hour-rem:0): "
                f"not sent, retried in about {minutes:.0f} minutes"
            )
        _SPENT_UNTIL.pop(self._key_id, None)
        return {"Authorization": f"Bearer {self.key.token()}"}

    def post_reply(self, target: ReplyTarget, text: str) -> str:
        body = call(self.http, "POST", "/v1/customerReviewResponses", json=response_request(target.external_id, text),
                    headers=self._auth(), what="App Store response", token_setting=TOKEN_SETTING)  # fmt: skip
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            raise PermanentPostError(f"App Store Connect returned no response id: {body!r}")
        return str(data["id"])

    def find_existing(self, target: ReplyTarget, text: str) -> str | None:
        try:
            headers = self._auth()
        except TransientPostError as exc:  # the check did not happen: the outcome stays unknown
            raise UnknownOutcome(str(exc)) from exc
        body = call(self.http, "GET", f"/v1/customerReviews/{target.external_id}/response", headers=headers,
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
