"""How a message leaves: a local JSONL sink (demo), the Web API (bot token) or an incoming webhook.

Every transport returns a ``Delivery`` that says what to do next: done, retry (after how long,
when Slack said so with ``Retry-After``), or give up (a permanent error such as
``channel_not_found``). A ``Delivery`` with ``unknown`` set (a timeout, a dropped connection,
a 5xx) may have reached the channel all the same, so before that message is sent again the
sender asks the transport with ``find_sent``:

- the Web API puts the outbox's dedupe key in the message's ``metadata`` and reads it back
  with ``conversations.history`` (``include_all_metadata``): exactly once;
- the sink file is checked under a file lock before every append: exactly once;
- an incoming webhook cannot read its channel, so it answers ``cannot_tell`` and the message
  is sent again: at least once.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from engagement.settings import SlackSettings

log = logging.getLogger(__name__)

#: ``metadata.event_type`` of every message engagebot posts (its payload holds the dedupe key)
EVENT_TYPE = "engagebot_notification"
#: history pages read (200 messages each) when looking for an earlier attempt
HISTORY_PAGES = 10
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")

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
    unknown: bool = False  # the message may have arrived anyway: look before sending it again


@dataclass(frozen=True)
class SentCheck:
    """Whether an earlier attempt of a message reached the channel.

    ``found`` (with its ``ts``): do not send again. ``absent``: send. ``failed``: the look-up
    itself failed for now (retry later, still in doubt). ``cannot_tell``: this transport has no
    way to look (a webhook), so the message is sent again (at least once).
    """

    state: Literal["found", "absent", "failed", "cannot_tell"]
    ts: str | None = None
    error: str | None = None


class Transport(Protocol):
    name: str

    def send(self, payload: dict[str, Any]) -> Delivery: ...

    def find_sent(self, payload: dict[str, Any], *, since: datetime) -> SentCheck: ...


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
    """Map an HTTP status and Slack error code to retry / permanent.

    A 429 was refused before posting; a 5xx or a server-side error code may have posted the
    message before failing, so its outcome is ``unknown``.
    """
    if status == 429 or error in ("ratelimited", "rate_limited"):
        return Delivery(ok=False, retry_after=_retry_after(headers) or 1.0, error=f"rate limited ({status})")
    if status >= 500 or error in RETRIABLE_ERRORS:
        return Delivery(ok=False, unknown=True, error=f"Slack server error {status}: {error or ''}".strip())
    return Delivery(
        ok=False,
        permanent=True,
        error=f"Slack refused the message ({status}): {error or 'unknown'}",
    )


class SinkTransport:
    """Appends each message as one JSON line to a file: the demo's Slack, readable by people and
    tests.

    Idempotent: under an exclusive file lock (several workers may share the file) the lines
    written since the last look are read, and a message whose ``dedupe_key`` is already there
    is not written again.
    """

    name = "sink"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._seen: set[str] = set()
        self._read_to = 0

    def _catch_up(self, handle: Any) -> None:
        """Learn the keys of lines appended (by anyone) since this transport last read."""
        handle.seek(self._read_to)
        for line in handle:
            if not line.endswith("\n"):
                break  # a line being written by a process that died mid-write: ignore it
            self._read_to += len(line.encode("utf-8"))
            try:
                key = json.loads(line).get("dedupe_key")
            except (ValueError, AttributeError):
                continue
            if key:
                self._seen.add(str(key))

    def _locked(self, payload: dict[str, Any], *, write: bool) -> bool:
        """True when the message is in the file (after writing it, with ``write``)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = str(payload.get("dedupe_key") or "")
        with self.path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._catch_up(handle)
                if key and key in self._seen:
                    return True
                if not write:
                    return False
                line = json.dumps(payload, ensure_ascii=False, default=str) + "\n"
                handle.seek(0, 2)
                handle.write(line)
                handle.flush()
                self._read_to = handle.tell()
                if key:
                    self._seen.add(key)
                return True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def send(self, payload: dict[str, Any]) -> Delivery:
        self._locked(payload, write=True)
        return Delivery(ok=True)

    def find_sent(self, payload: dict[str, Any], *, since: datetime) -> SentCheck:
        return SentCheck("found" if self._locked(payload, write=False) else "absent")


def message_metadata(payload: dict[str, Any]) -> dict[str, Any]:
    """The Slack message ``metadata`` that lets a later sender recognise this message."""
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {
            "dedupe_key": str(payload.get("dedupe_key") or ""),
            "outbox_id": payload.get("outbox_id"),
        },
    }


class WebApiTransport:
    """``chat.postMessage`` with a bot token (``base_url`` is settable, so tests use a local
    server).

    Every new message carries ``metadata`` with the outbox's dedupe key, and ``find_sent``
    reads the channel's history since an attempt of unknown outcome for that key (the bot
    needs the ``channels:history`` / ``groups:history`` scope, and ``channels:read`` when
    channels are configured by name rather than id).
    """

    name = "web_api"

    def __init__(self, token: str, base_url: str, timeout: int = 15) -> None:
        self.client = WebClient(token=token, base_url=base_url, timeout=timeout)
        self._channel_ids: dict[str, str] = {}

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
                    metadata=message_metadata(payload),
                )
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            return classify(exc.response.status_code, str(data.get("error") or "") or None, exc.response.headers)
        except (SlackClientError, URLError, OSError) as exc:
            return Delivery(ok=False, unknown=True, error=f"could not reach Slack: {exc}")
        channel = str(response.get("channel") or "")
        if channel and not CHANNEL_ID.match(str(payload["channel"])):
            self._channel_ids[str(payload["channel"])] = channel  # a name: remember its id
        return Delivery(ok=True, ts=str(response.get("ts") or "") or None)

    def _channel_id(self, channel: str) -> str:
        """A channel id for ``conversations.history`` (which takes no names): ``#care`` -> ``C…``."""
        if CHANNEL_ID.match(channel):
            return channel
        if channel not in self._channel_ids:
            wanted = channel.lstrip("#")
            cursor: str | None = None
            for _ in range(HISTORY_PAGES):
                page = self.client.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
                )
                for found in page.get("channels") or []:
                    self._channel_ids[f"#{found.get('name')}"] = str(found.get("id"))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if f"#{wanted}" in self._channel_ids or not cursor:
                    break
            if f"#{wanted}" not in self._channel_ids:
                raise LookupError(f"channel {channel} not found (is the bot a member?)")
            self._channel_ids[channel] = self._channel_ids[f"#{wanted}"]
        return self._channel_ids[channel]

    def find_sent(self, payload: dict[str, Any], *, since: datetime) -> SentCheck:
        """Look for a message with this dedupe key posted since ``since`` (newest first)."""
        if payload.get("update_ts"):
            return SentCheck("absent")  # updating a message twice leaves it the same
        key = str(payload.get("dedupe_key") or "")
        try:
            channel = self._channel_id(str(payload["channel"]))
            cursor: str | None = None
            for _ in range(HISTORY_PAGES):
                page = self.client.conversations_history(
                    channel=channel,
                    oldest=f"{since.timestamp():.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                for message in page.get("messages") or []:
                    metadata = message.get("metadata") or {}
                    event = metadata.get("event_payload") or {}
                    if metadata.get("event_type") == EVENT_TYPE and str(event.get("dedupe_key")) == key:
                        return SentCheck("found", ts=str(message.get("ts") or "") or None)
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return SentCheck("absent")
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = str(data.get("error") or exc.response.status_code)
            if exc.response.status_code == 429 or exc.response.status_code >= 500 or error in RETRIABLE_ERRORS:
                return SentCheck("failed", error=f"could not read the channel history: {error}")
            return SentCheck("cannot_tell", error=f"cannot read the channel history: {error}")
        except (SlackClientError, URLError, OSError) as exc:
            return SentCheck("failed", error=f"could not reach Slack: {exc}")
        except LookupError as exc:
            return SentCheck("cannot_tell", error=str(exc))
        log.warning("notify: %s not among the last %d history pages; sending again", key, HISTORY_PAGES)
        return SentCheck("absent")


class WebhookTransport:
    """An incoming webhook (or an interaction's ``response_url``): no channel choice, no token.

    A webhook cannot read its channel, so an attempt of unknown outcome is sent again: delivery
    through a webhook is at least once (use a bot token for exactly once).
    """

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
            return Delivery(ok=False, unknown=True, error=f"could not reach Slack: {exc}")
        if response.status_code == 200:
            return Delivery(ok=True)
        return classify(response.status_code, response.body, response.headers)

    def find_sent(self, payload: dict[str, Any], *, since: datetime) -> SentCheck:
        if payload.get("response_url") and payload.get("replace_original"):
            return SentCheck("absent")  # replacing the message twice leaves it the same
        return SentCheck("cannot_tell", error="a webhook cannot read its channel: sent again (at least once)")


def transport_for(slack: SlackSettings) -> Transport | None:
    """The sink when set (never the network), else the bot token, else the webhook; None if none."""
    if slack.sink:
        return SinkTransport(slack.sink)
    if slack.bot_token is not None and slack.bot_token.get_secret_value():
        return WebApiTransport(slack.bot_token.get_secret_value(), slack.base_url, timeout=slack.timeout_seconds)
    if slack.webhook_url is not None and slack.webhook_url.get_secret_value():
        return WebhookTransport(slack.webhook_url.get_secret_value())
    return None
