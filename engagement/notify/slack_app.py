"""The Slack app engagebot needs, and a check of the one it has: manifest, token, test message.

A Slack app missing one scope fails in ways that are hard to read later (``missing_scope`` on
the first case notification, or on the history check of an unknown send). So the scopes live
in one table here, keyed by the Web API methods the code calls (``METHOD_SCOPES``; a test reads
the code and fails on a method missing from it), and the manifest an admin downloads is made
from that table, with the app's own interactivity URL filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine
from sqlmodel import Session

from db.engine import session_scope
from db.models import Outbox
from db.vocab import OutboxStatus
from engagement.notify.deliver import deliver_pending
from engagement.notify.outbox import enqueue
from engagement.settings import SlackSettings

#: Each bot scope the app asks for, and why.
SCOPES: dict[str, str] = {
    "chat:write": "chat.postMessage / chat.update: cases, digests, SLA alerts, the backlog summary, DMs",
    "chat:write.public": "post to public channels the bot was not invited to",
    "channels:read": "conversations.list: a channel name (#care) to its id",
    "groups:read": "...for private channels too",
    "channels:history": "conversations.history: check a message went out before re-sending (exactly once)",
    "groups:history": "...in private channels",
}

#: The slack_sdk ``WebClient`` methods the code calls, and the scopes each needs.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat_postMessage": ("chat:write", "chat:write.public"),
    "chat_update": ("chat:write",),
    "conversations_list": ("channels:read", "groups:read"),
    "conversations_history": ("channels:history", "groups:history"),
    "auth_test": (),
}

INTERACTIVITY_PATH = "/slack/interactivity"


def manifest(public_url: str | None, name: str = "engagebot") -> str:
    """The app manifest as YAML (api.slack.com/apps: Create New App, From an app manifest)."""
    base = (public_url or "https://care.example.com").rstrip("/")
    width = max(len(s) for s in SCOPES)
    scopes = "\n".join(f"      - {scope.ljust(width)}  # {why}" for scope, why in SCOPES.items())
    return (
        "display_information:\n"
        f"  name: {name}\n"
        "features:\n"
        "  bot_user:\n"
        f"    display_name: {name}\n"
        "    always_online: true\n"
        "oauth_config:\n"
        "  scopes:\n"
        "    bot:\n"
        f"{scopes}\n"
        "settings:\n"
        "  interactivity:\n"
        "    is_enabled: true\n"
        f"    request_url: {base}{INTERACTIVITY_PATH}\n"
    )


@dataclass(frozen=True)
class TokenStatus:
    """How messages would leave, and whether Slack accepts the bot token (``auth.test``)."""

    transport: str
    ok: bool
    message: str
    signing_secret: bool

    def as_dict(self) -> dict[str, object]:
        return {"transport": self.transport, "ok": self.ok, "message": self.message,
                "signing_secret": self.signing_secret}  # fmt: skip


def token_status(slack: SlackSettings) -> TokenStatus:
    """Which way messages go (sink, bot token, webhook, none) and, with a bot token, one
    ``auth.test`` call saying whether Slack takes it and for which workspace."""
    signing = bool(slack.signing_secret and slack.signing_secret.get_secret_value())
    if slack.sink:
        return TokenStatus("sink", True, f"messages go to the file {slack.sink} (the demo), not to Slack", signing)
    token = slack.bot_token.get_secret_value() if slack.bot_token else ""
    if token:
        try:
            answer = WebClient(token=token, base_url=slack.base_url, timeout=slack.timeout_seconds).auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else exc.response.status_code
            return TokenStatus("bot_token", False, f"Slack refused the bot token: {error}", signing)
        except (SlackClientError, OSError) as exc:
            return TokenStatus("bot_token", False, f"could not reach Slack: {exc}", signing)
        return TokenStatus("bot_token", True, f"bot token works: {answer.get('user')} in {answer.get('team')}", signing)
    if slack.webhook_url and slack.webhook_url.get_secret_value():
        return TokenStatus("webhook", True, "an incoming webhook: one channel, no buttons' updates", signing)
    return TokenStatus("none", False, "no Slack: set ENGAGEBOT_ENGAGEMENT__SLACK__BOT_TOKEN", signing)


def send_test_message(
    engine: Engine, slack: SlackSettings, *, channel: str, actor: str, now: datetime
) -> dict[str, str]:
    """Queue a test message to ``channel`` through the outbox (``enqueue``: the one front door)
    and deliver what is due now, as the worker would; the message's state afterwards, in words."""
    with session_scope(engine, write=True) as session:
        row = enqueue(
            session,
            kind="test",
            key=f"test:{actor}:{now.isoformat()}",
            payload={"channel": channel, "text": f"Test message from engagebot, sent by {actor}. Slack works."},
            now=now,
            slack=slack,
            urgent=True,
        )
        assert row is not None  # the key is new: it names this moment
        row_id = row.id
    deliver_pending(engine, slack, now, budget_seconds=10)
    with Session(engine) as session:
        sent = session.get(Outbox, row_id)
        assert sent is not None
        status, error = sent.status, sent.last_error or ""
    if status == OutboxStatus.SENT:
        return {"status": status, "message": f"Sent to {channel}."}
    return {"status": status, "message": f"Not sent to {channel} ({status}): {error or 'waiting to be sent'}."}
