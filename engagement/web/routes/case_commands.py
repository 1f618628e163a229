"""Every case command, as a form action and as a JSON API call: one handler per command.

The handlers are made from ``engagement.commands.COMMANDS``, so a new command is on both
surfaces at once and the two can never drift: each parses its input into the command (forms
through a small adapter where a form says it differently, JSON as the command's own schema),
calls ``perform`` as the signed-in person, and answers a redirect with a flash (forms) or the
case as JSON (``/api``). ``/replies/{id}/approve|reject`` find the reply's case first.

(No ``from __future__ import annotations`` here: FastAPI reads the generated handlers'
annotations, including the command class of each, at registration.)
"""

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from db.models import User
from engagement import errors, i18n, queue
from engagement.actors import actor_for
from engagement.commands import (
    COMMANDS,
    ApproveReply,
    CaseCommand,
    Outcome,
    RejectReply,
    case_of_reply,
    perform,
)
from engagement.queue.replies import reply_to_dict
from engagement.web import locale, snooze_input
from engagement.web.deps import CsrfUser, State, WebState
from engagement.web.ids import DbId
from engagement.web.routes.auth import flash

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["case commands"])


class BadInput(errors.BadInput):
    """A form (or body) that does not make a valid command: 422, like a JSON body that does not
    fit its schema, said on the page."""

    status_code = 422


def _snooze_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The snooze form: a "for N hours" choice, or a ``datetime-local`` time in UTC (read as the
    bulk bar reads it), as an absolute time."""
    try:
        return {"until": snooze_input.from_form(form.get("until", ""), form.get("hours", ""), datetime.now(UTC))}
    except errors.BadInput as exc:
        raise BadInput(str(exc)) from exc


#: Forms that name a field differently from the command (older pages, select widgets).
FORM_ADAPTERS: dict[str, Callable[[Mapping[str, str]], dict[str, Any]]] = {
    "snooze": _snooze_form,
    "label": lambda form: {"post_id": form.get("post_id") or None, "label": form.get("new_label") or form.get("label")},
    "tags": lambda form: {
        "add": form.get("add", "").replace(",", " ").split(),
        "remove": [form["remove"]] if form.get("remove") else [],
    },
}

#: Where a form goes after the command: the queue when the case is done with, else the case.
_BACK_TO_QUEUE = frozenset({"release", "reply", "answered-elsewhere", "dismiss", "escalate", "snooze"})


def _check_snooze(command: CaseCommand) -> None:
    """The pages' ceiling (``snooze_input.MAX_SNOOZE``) for a snooze sent as JSON too."""
    until = getattr(command, "until", None)
    minutes = getattr(command, "minutes", None)
    if minutes:
        until = datetime.now(UTC) + timedelta(minutes=minutes)
    if until is not None:
        try:
            snooze_input.check_until(until, datetime.now(UTC))
        except errors.BadInput as exc:
            raise BadInput(str(exc)) from exc


def command_from_form(name: str, form: FormData) -> CaseCommand:
    """The command a form describes, or ``BadInput`` naming what is wrong."""
    cls = COMMANDS[name]
    flat = {key: str(value) for key, value in form.items() if isinstance(value, str)}
    adapter = FORM_ADAPTERS.get(name)
    data = adapter(flat) if adapter else {key: value for key, value in flat.items() if key in cls.model_fields}
    try:
        command = cls.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise BadInput(problems) from exc
    _check_snooze(command)
    return command


def _empty(cls: type[CaseCommand]) -> CaseCommand:
    try:
        return cls()
    except ValidationError as exc:
        raise BadInput("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from exc


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    """A command's answer as JSON: the case's fields, what happened, and what it produced."""
    return {
        **queue.case_to_dict(outcome.case),
        "ok": outcome.ok,
        "message": outcome.message,
        "warnings": list(outcome.warnings),
        "reply": reply_to_dict(outcome.reply) if outcome.reply is not None else None,
        "relabelled": outcome.relabelled.__dict__ if outcome.relabelled is not None else None,
        "tags": outcome.tags,
        "mentioned": list(outcome.mentioned),
        "unknown": list(outcome.unknown),
    }


#: Commands whose success the case page's holder banner already says ("You hold this case
#: until 14:05 UTC"): a flash saying it again was a second banner with the same news.
_BANNER_SAYS_IT = frozenset({"claim", "take-over"})


def _page_answer(request: Request, name: str, case_id: int, outcome: Outcome) -> Response:
    if not (outcome.ok and name in _BANNER_SAYS_IT and not outcome.warnings):
        flash(request, outcome.message + "".join(f" {w}." for w in outcome.warnings), "info" if outcome.ok else "error")
    if outcome.ok and name in _BACK_TO_QUEUE:
        return RedirectResponse("/queue", status_code=303)
    anchor = "#notes" if name == "notes" else ""
    return RedirectResponse(f"/cases/{case_id}{anchor}", status_code=303)


def _perform(request: Request, state: WebState, user: User, case_id: int, command: CaseCommand) -> Outcome:
    """``perform`` as the signed-in person, its sentences in the person's language (the CLI and
    Slack keep English)."""
    with i18n.using(locale.request_language(request)):
        return perform(state.engine, actor_for(user), case_id, command, settings=state.settings)


def _register(name: str, cls: type[CaseCommand]) -> None:
    async def form_handler(request: Request, state: State, user: CsrfUser, case_id: DbId) -> Response:
        command = command_from_form(name, await request.form())
        return _page_answer(request, name, case_id, _perform(request, state, user, case_id, command))

    def api_handler(
        request: Request,
        state: State,
        user: CsrfUser,
        case_id: DbId,
        body: Annotated[cls | None, Body()] = None,  # type: ignore[valid-type]
    ) -> dict[str, Any]:
        command = body if body is not None else _empty(cls)  # a command without fields needs no body
        _check_snooze(command)
        return outcome_dict(_perform(request, state, user, case_id, command))

    api_handler.__doc__ = cls.__doc__
    pages.add_api_route(f"/cases/{{case_id}}/{name}", form_handler, methods=["POST"], name=f"form_{name}")
    api.add_api_route(
        f"/cases/{{case_id}}/{name}",
        api_handler,
        methods=["POST"],
        name=f"api_{name}",
        summary=f"{name}: {cls.__doc__.splitlines()[0] if cls.__doc__ else ''}",
        response_model=None,
    )


for _name, _cls in COMMANDS.items():
    _register(_name, _cls)


# --- reply approval, keyed by the reply (the lead's buttons under a waiting reply) -----------


@pages.post("/replies/{reply_id}/{decision}")
async def reply_decision_form(
    request: Request, state: State, user: CsrfUser, reply_id: DbId, decision: str
) -> Response:
    form = await request.form()
    case_id = case_of_reply(state.engine, reply_id)
    command = _reply_decision(decision, reply_id, str(form.get("reason") or ""))
    return _page_answer(request, decision, case_id, _perform(request, state, user, case_id, command))


@api.post("/replies/{reply_id}/{decision}", summary="approve or reject a reply waiting for a lead")
def reply_decision_api(
    request: Request,
    state: State,
    user: CsrfUser,
    reply_id: DbId,
    decision: str,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    """``decision``: ``approve`` (posted at once) or ``reject`` (back to its writer; ``reason``)."""
    case_id = case_of_reply(state.engine, reply_id)
    command = _reply_decision(decision, reply_id, str((body or {}).get("reason") or ""))
    return outcome_dict(_perform(request, state, user, case_id, command))


def _reply_decision(decision: str, reply_id: int, reason: str) -> CaseCommand:
    if decision == "approve":
        return ApproveReply(reply_id=reply_id)
    if decision == "reject":
        return RejectReply(reply_id=reply_id, reason=reason[:500])
    raise BadInput(f"unknown decision {json.dumps(decision)}: approve or reject")
