"""Replies on X through tweepy: ``create_tweet(in_reply_to_tweet_id=...)``; our timeline for
checks."""

from __future__ import annotations

from typing import Any

import requests
import tweepy

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


class XPoster:
    """Posts as the brand's X account (user-context OAuth 1.0a keys)."""

    platform = "x"
    dry_run = False

    def __init__(self, client: tweepy.Client) -> None:
        self.client = client
        self._me: str | None = None

    @classmethod
    def from_settings(cls, settings: ReplySettings) -> XPoster:
        return cls(
            tweepy.Client(
                consumer_key=_secret(settings.x_consumer_key),
                consumer_secret=_secret(settings.x_consumer_secret),
                access_token=_secret(settings.x_access_token),
                access_token_secret=_secret(settings.x_access_token_secret),
                wait_on_rate_limit=False,
            )
        )

    def post_reply(self, target: ReplyTarget, text: str) -> str:
        try:
            response = self.client.create_tweet(text=text, in_reply_to_tweet_id=target.external_id)
        except tweepy.TooManyRequests as exc:
            raise TransientPostError(f"X rate limit: {exc}") from exc
        except tweepy.TwitterServerError as exc:
            raise UnknownOutcome(f"X server error: {exc}") from exc
        except tweepy.HTTPException as exc:  # 400/401/403/404: the API refused it
            raise PermanentPostError(f"X refused the reply: {exc}") from exc
        except requests.RequestException as exc:
            raise UnknownOutcome(f"X request failed: {exc}") from exc
        data = response.data if isinstance(response, tweepy.Response) else None
        if not data or "id" not in data:
            raise UnknownOutcome(f"X returned no tweet id: {response!r}")
        return str(data["id"])

    def _my_id(self) -> str:
        if self._me is None:
            me = self.client.get_me()
            self._me = str(me.data["id"]) if isinstance(me, tweepy.Response) else ""
        return self._me

    def find_existing(self, target: ReplyTarget, text: str) -> str | None:
        """Look through our own tweets since the target for a reply to it with this text."""
        try:
            page = self.client.get_users_tweets(
                self._my_id(),
                since_id=target.external_id,
                max_results=100,
                tweet_fields=["referenced_tweets", "conversation_id"],
                user_auth=True,
            )
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise UnknownOutcome(f"could not check X for an earlier reply: {exc}") from exc
        for tweet in (page.data or []) if isinstance(page, tweepy.Response) else []:
            refs = tweet.get("referenced_tweets") or []
            replies_to = any(r.get("type") == "replied_to" and str(r.get("id")) == target.external_id for r in refs)
            if replies_to and same_text(str(tweet.get("text", "")), text):
                return str(tweet["id"])
        return None
