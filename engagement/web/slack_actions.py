"""Slack's buttons act on cases: verify the request's signature, then claim, snooze or assign.

Slack is a surface like the web and the CLI: each button becomes a case command
(``engagement.commands``) performed as the engagebot user behind the Slack member.

The web app mounts ``handle_interaction`` as its Slack interactivity route (it passes the raw
body and the headers). Unsigned, badly signed or stale (over 5 minutes) requests are refused
with 401 before anything is parsed. The message is then updated through its ``response_url``
(via the outbox, so Slack's 3-second deadline is never at risk) to show who took the case.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from slack_sdk.signature import Clock, SignatureVerifier
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Case
from db.types import utcnow
from engagement import queue
from engagement.actors import Actor, UnknownPerson, slack_actor
from engagement.commands import CaseCommand, Claim, Reassign, Snooze, perform
from engagement.notify.blocks import taken_blocks
from engagement.notify.outbox import enqueue
from engagement.settings import EngagementSettings
from engagement.slack_text import escape

log = logging.getLogger(__name__)


class _FixedClock(Clock):
    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


@dataclass
class InteractionResult:
    """What the route answers Slack (status and JSON body), and what was done."""

    status_code: int
    body: dict[str, Any] = field(default_factory=dict)
    action: str | None = None
    case_id: int | None = None
    error: str | None = None


def verify_request(body: bytes, headers: Mapping[str, Any], signing_secret: str, *, now: float | None = None) -> bool:
    """True when Slack signed this exact body within the last 5 minutes."""
    flat = {str(k): (v[0] if isinstance(v, list) and v else v) for k, v in headers.items()}
    verifier = SignatureVerifier(signing_secret, clock=_FixedClock(now) if now is not None else Clock())
    try:
        return verifier.is_valid_request(body, flat)
    except (ValueError, TypeError):  # a timestamp that is not a number
        return False


def _actor(engine: Engine, payload: dict[str, Any], settings: EngagementSettings) -> Actor | None:
    """The engagebot user behind the Slack member who clicked (None: not one of ours)."""
    user_id = str((payload.get("user") or {}).get("id", ""))
    with session_scope(engine) as session:
        return slack_actor(session, user_id, settings.slack.user_map)


def _refuse(
    engine: Engine,
    settings: EngagementSettings,
    payload: dict[str, Any],
    *,
    key: str,
    text: str,
    now: datetime,
    case_id: int | None,
) -> None:
    """Tell only the clicker (ephemeral) why nothing happened."""
    _respond(
        engine,
        settings,
        payload,
        key=key,
        now=now,
        case_id=case_id,
        message={"text": escape(text), "replace_original": False, "response_type": "ephemeral"},
    )


def _respond(
    engine: Engine,
    settings: EngagementSettings,
    payload: dict[str, Any],
    *,
    key: str,
    message: dict[str, Any],
    now: datetime,
    case_id: int | None,
) -> None:
    url = payload.get("response_url")
    if not url:
        return
    with session_scope(engine, write=True) as session:
        enqueue(session, kind="update", key=key, case_id=case_id, payload=dict(message, response_url=url), now=now,
                slack=settings.slack, urgent=True)  # fmt: skip


def _command(action_id: str, assignee: str, settings: EngagementSettings) -> CaseCommand | None:
    """The case command behind a Slack button (None: not one of ours)."""
    if action_id == "case_claim":
        return Claim()
    if action_id == "case_snooze":
        return Snooze(minutes=settings.slack.snooze_minutes)
    if action_id == "case_assign" and assignee:
        return Reassign(to=assignee)
    return None


def _note(action_id: str, actor: Actor, case: Case, now: datetime) -> str:
    """The line that replaces the buttons: who did what."""
    if action_id == "case_claim":
        return f"Claimed by {actor.name} at {now:%H:%M} UTC"
    if action_id == "case_snooze":
        return f"Snoozed by {actor.name} until {case.snoozed_until:%H:%M} UTC"
    return f"Assigned to {case.assignee} by {actor.name}"


def handle_interaction(
    engine: Engine,
    settings: EngagementSettings,
    *,
    body: bytes,
    headers: Mapping[str, Any],
    now: datetime | None = None,
) -> InteractionResult:
    """Verify and act on one Slack ``block_actions`` request (Claim, Snooze, Assign buttons)."""
    now = now or utcnow()
    secret = settings.slack.signing_secret.get_secret_value() if settings.slack.signing_secret else ""
    if not secret:
        return InteractionResult(503, {"error": "Slack signing secret not configured"}, error="no signing secret")
    if not verify_request(body, headers, secret, now=now.timestamp()):
        return InteractionResult(401, {"error": "invalid or stale Slack signature"}, error="bad signature")
    try:
        form = parse_qs(body.decode("utf-8"))
        payload = json.loads(form["payload"][0])
    except (KeyError, IndexError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return InteractionResult(400, {"error": "no interaction payload"}, error=str(exc))
    actions = payload.get("actions") or []
    if payload.get("type") != "block_actions" or not actions:
        return InteractionResult(200, {}, error="ignored: not a block action")
    action = actions[0]
    action_id = str(action.get("action_id", ""))
    raw_value = str((action.get("selected_option") or {}).get("value") or action.get("value") or "")
    case_part, _, assignee = raw_value.partition(":")
    try:
        case_id = int(case_part)
    except ValueError:
        return InteractionResult(400, {"error": f"bad case id {case_part!r}"}, error="bad value")
    stamp = str(payload.get("trigger_id") or action.get("action_ts") or now.timestamp())
    actor = _actor(engine, payload, settings)
    if actor is None:
        _refuse(
            engine,
            settings,
            payload,
            key=f"update:{case_id}:{action_id}:{stamp}:unknown",
            now=now,
            case_id=case_id,
            text="You are not an engagebot user, so engagebot did nothing. Ask an admin to link your Slack "
            "account (engagebot users add ... --slack-id, or [engagement.slack] user_map).",
        )
        return InteractionResult(200, {}, action=action_id, case_id=case_id, error="unknown Slack user")
    try:
        command = _command(action_id, assignee, settings)
        if command is None:
            return InteractionResult(200, {}, action=action_id, case_id=case_id, error="ignored: unknown action")
        case = perform(engine, actor, case_id, command, settings=settings, now=now).case
    except (queue.QueueError, queue.CaseNotFound, UnknownPerson) as exc:
        _refuse(
            engine,
            settings,
            payload,
            key=f"update:{case_id}:{action_id}:{stamp}:error",
            now=now,
            case_id=case_id,
            text=f"Could not {action_id.removeprefix('case_')} case {case_id}: {exc}",
        )
        return InteractionResult(200, {}, action=action_id, case_id=case_id, error=str(exc))
    note = _note(action_id, actor, case, now)
    message_blocks = list((payload.get("message") or {}).get("blocks") or [])
    _respond(
        engine,
        settings,
        payload,
        key=f"update:{case_id}:{action_id}:{stamp}",
        now=now,
        case_id=case_id,
        message={
            "text": escape(note),
            "replace_original": True,
            "blocks": taken_blocks(message_blocks, note),
        },
    )
    log.info("slack: %s on case %s by %s", action_id, case.id, actor.name)
    return InteractionResult(200, {}, action=action_id, case_id=case_id)


def router(engine: Engine, settings: EngagementSettings, *, path: str = "/slack/interactivity") -> APIRouter:
    """A FastAPI router for Slack's interactivity URL (mounted by the web app; signed, no login).

    After answering Slack (within its 3 s), the message update is delivered in the background.
    """
    from engagement.notify.deliver import deliver_pending

    api = APIRouter()

    @api.post(path, include_in_schema=False)
    async def slack_interactivity(request: Request, background: BackgroundTasks) -> JSONResponse:
        body = await request.body()
        result = handle_interaction(engine, settings, body=body, headers=dict(request.headers))
        if result.status_code == 200:
            background.add_task(deliver_pending, engine, settings.slack)
        return JSONResponse(result.body, status_code=result.status_code)

    return api
