"""How a message leaves: a local JSONL sink (demo), the Web API (bot token) or an incoming webhook.

Every transport returns a ``Delivery`` that says what to do next: done, retry (after how long,
when Slack said so with ``Retry-After``), or give up (a permanent error such as
``channel_not_found``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from engagement.settings import SlackSettings

RETRIABLE_ERRORS = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


@dataclass(frozen=True)
class Delivery:
    """The outcome of one attempt."""

    ok: bool
    permanent: bool = False
    retry_after: float | None = None
    error: str | None = None
    ts: str | None = None


class Transport(Protocol):
    name: str

    def send(self, payload: dict[str, Any]) -> Delivery: ...


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


def classify(status: int, error: str | None, headers: Any) -> Delivery:
    """Map an HTTP status and Slack error code to retry / permanent."""
    if status == 429 or error in ("ratelimited", "rate_limited"):
        return Delivery(ok=False, retry_after=_retry_after(headers) or 1.0, error=f"rate limited ({status})")
    if status >= 500 or error in RETRIABLE_ERRORS:
        return Delivery(ok=False, error=f"Slack server error {status}: {error or ''}".strip())
    return Delivery(
        ok=False,
        permanent=True,
        error=f"Slack refused the message ({status}): {error or 'unknown'}",
    )


class SinkTransport:
    """Appends each message as one JSON line to a file: the demo's Slack, readable by people and
    tests."""

    name = "sink"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, payload: dict[str, Any]) -> Delivery:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
        return Delivery(ok=True)


class WebApiTransport:
    """``chat.postMessage`` with a bot token (``base_url`` is settable, so tests use a local
    server)."""

    name = "web_api"

    def __init__(self, token: str, base_url: str, timeout: int = 15) -> None:
        self.client = WebClient(token=token, base_url=base_url, timeout=timeout)

    def send(self, payload: dict[str, Any]) -> Delivery:
        try:
            if payload.get("update_ts"):
                response = self.client.chat_update(
                    channel=payload["channel"],
                    ts=payload["update_ts"],
                    text=payload.get("text", ""),
                    blocks=payload.get("blocks"),
                )
            else:
                response = self.client.chat_postMessage(
                    channel=payload["channel"],
                    text=payload.get("text", ""),
                    blocks=payload.get("blocks"),
                )
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            return classify(exc.response.status_code, str(data.get("error") or "") or None, exc.response.headers)
        except (SlackClientError, URLError, OSError) as exc:
            return Delivery(ok=False, error=f"could not reach Slack: {exc}")
        return Delivery(ok=True, ts=str(response.get("ts") or "") or None)


class WebhookTransport:
    """An incoming webhook (or an interaction's ``response_url``): no channel choice, no token."""

    name = "webhook"

    def __init__(self, url: str, timeout: int = 15) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, payload: dict[str, Any]) -> Delivery:
        url = payload.get("response_url") or self.url
        client = WebhookClient(url, timeout=self.timeout)
        body = {k: v for k, v in payload.items() if k in ("text", "blocks", "replace_original", "response_type")}
        try:
            response = client.send_dict(body)
        except (SlackClientError, URLError, OSError) as exc:
            return Delivery(ok=False, error=f"could not reach Slack: {exc}")
        if response.status_code == 200:
            return Delivery(ok=True)
        return classify(response.status_code, response.body, response.headers)


def transport_for(slack: SlackSettings) -> Transport | None:
    """The sink when set (never the network), else the bot token, else the webhook; None if none."""
    if slack.sink:
        return SinkTransport(slack.sink)
    if slack.bot_token is not None and slack.bot_token.get_secret_value():
        return WebApiTransport(slack.bot_token.get_secret_value(), slack.base_url)
    if slack.webhook_url is not None and slack.webhook_url.get_secret_value():
        return WebhookTransport(slack.webhook_url.get_secret_value())
    return None
