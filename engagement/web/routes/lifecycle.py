"""A case's life beyond one reply, on pages and in the JSON API: snooze, reopen, notes with
@mentions, tags, similar cases and bulk actions.

Each route is thin: it resolves the signed-in user to an ``Actor`` and calls the one queue
function (``engagement.queue``: ``snooze``, ``reopen``, ``notes.add_note``, ``tags.tag_case``,
``bulk.bulk``) that the CLI calls too; permissions and audit happen there.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, Field

from db.types import MAX_ID, utcnow
from engagement import queue
from engagement.actors import actor_for
from engagement.commands.bulk import MAX_BULK, BulkAction, BulkOutcome, BulkRequest, bulk
from engagement.errors import BadInput
from engagement.queue.notes import case_notes
from engagement.queue.reads import opening_texts, same_author, similar_cases
from engagement.queue.tags import tags_of
from engagement.queue.templates import saved_replies
from engagement.web import snooze_input
from engagement.web.deps import CsrfUser, CurrentUser, DbSession, State, csrf_token
from engagement.web.ids import DbId
from engagement.web.routes.auth import flash

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["case lifecycle"])


def _summary(verb: str, outcomes: list[BulkOutcome]) -> tuple[str, str]:
    done = [o for o in outcomes if o.ok]
    refused = [o for o in outcomes if not o.ok]
    message = f"{verb} {len(done)} of {len(outcomes)} case(s)."
    if refused:
        message += " Not done: " + "; ".join(f"case {o.case_id}: {o.error}" for o in refused[:5])
    return message, ("error" if refused and not done else "info")


def _local(path: str) -> str:
    """Where a form goes back to: the page it came from with its filters (``/queue?assigned=…``),
    never another site (``//host`` and ``/\\host`` are other sites to a browser)."""
    if path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return "/queue"


# --- pages (forms, post/redirect/get) -----------------------------------------------------


@router.get("/cases/{case_id}/lifecycle")
def lifecycle_panel(request: Request, state: State, session: DbSession, user: CurrentUser, case_id: DbId) -> Response:
    """The case page's follow-up card (snooze or reopen, tags, notes, similar cases)."""
    case = queue.get_case(session, case_id)
    similar = similar_cases(session, case)
    duplicates = same_author(case, similar)
    now = utcnow()
    context = {
        "case": case,
        "csrf": csrf_token(request),
        "finished": case.status in queue.TERMINAL_STATUSES,
        "snoozed": case.snoozed_until is not None and case.snoozed_until > now,
        "tags": tags_of(session, case_id),
        "notes": case_notes(session, case_id),
        "similar": similar,
        "others": [c for c in similar if c not in duplicates],
        "duplicates": duplicates,
        "saved_replies": saved_replies(session, team=case.team, settings=state.settings.replies),
        "texts": opening_texts(session, similar),
    }
    return state.templates.TemplateResponse(request, "_lifecycle.html", context)


@router.post("/queue/bulk")
async def bulk_form(request: Request, state: State, user: CsrfUser) -> Response:
    """The queue page's bulk bar (and "act on all similar" on a case page): checked ``ids``."""
    form = await request.form()
    try:
        ids = [int(str(v)) for v in form.getlist("ids")]
    except ValueError as exc:
        raise BadInput("case ids must be numbers") from exc
    if any(not 1 <= i <= MAX_ID for i in ids):
        raise BadInput("a case id is out of range")
    action = BulkAction(str(form.get("action") or ""))
    now = utcnow()
    fields = ("reason", "to", "label", "until", "hours", "tag", "text", "template")
    text = {k: str(form.get(k) or "").strip() for k in fields}
    for key, value in text.items():
        if len(value) > 10_000:
            raise BadInput(f"{key} is too long")
    until = None
    if action is BulkAction.SNOOZE:
        until = snooze_input.from_form(text["until"], text["hours"], now)
    request_ = BulkRequest(action=action, reason=text["reason"] or None, to=text["to"] or None,
                           label=text["label"] or None, until=until, tag=text["tag"] or None,
                           text=text["text"] or None, template=text["template"] or None)  # fmt: skip
    outcomes = bulk(state.engine, ids, request_, actor=actor_for(user), settings=state.settings, now=now)
    message, kind = _summary(f"{action.value.capitalize()}:", outcomes)
    flash(request, message, kind)
    return RedirectResponse(_local(str(form.get("next") or "")), status_code=303)


# --- JSON API ---------------------------------------------------------------------------


class BulkIn(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=MAX_BULK)
    action: BulkAction
    reason: str | None = Field(default=None, max_length=500, description="dismiss")
    to: str | None = Field(default=None, max_length=255, description="assign: a user's name or email")
    label: str | None = Field(default=None, max_length=32, description="label: negative, neutral or positive")
    until: AwareDatetime | None = Field(default=None, description="snooze")
    tag: str | None = Field(default=None, max_length=64, description="tag")
    text: str | None = Field(default=None, max_length=10_000, description="reply: the same reply to each case")
    template: str | None = Field(default=None, max_length=100, description="reply: a saved reply, filled per case")


@api.get("/cases/{case_id}/notes")
def notes_api(session: DbSession, user: CurrentUser, case_id: DbId) -> list[dict[str, Any]]:
    """The case's internal notes, oldest first."""
    queue.get_case(session, case_id)
    return [
        {"id": n.id, "author": n.author, "text": n.text, "mentions": n.mentions, "at": n.created_at.isoformat()}
        for n in case_notes(session, case_id)
    ]


@api.get("/cases/{case_id}/tags")
def get_tags_api(session: DbSession, user: CurrentUser, case_id: DbId) -> dict[str, Any]:
    queue.get_case(session, case_id)
    return {"case_id": case_id, "tags": tags_of(session, case_id)}


@api.get("/cases/{case_id}/similar")
def similar_api(session: DbSession, user: CurrentUser, case_id: DbId) -> list[dict[str, Any]]:
    """Active cases of other authors with near-identical text (act on them with ``/api/cases/bulk``)."""
    case = queue.get_case(session, case_id)
    return [queue.case_to_dict(c) for c in similar_cases(session, case)]


@api.post("/cases/bulk")
def bulk_api(state: State, user: CsrfUser, body: BulkIn) -> dict[str, Any]:
    """One action on many cases, each checked and audited on its own; ``results`` says per case."""
    request_ = BulkRequest(action=body.action, reason=body.reason, to=body.to, label=body.label,
                           until=snooze_input.check_until(body.until, utcnow()) if body.until else None, tag=body.tag,
                           text=body.text, template=body.template)  # fmt: skip
    outcomes = bulk(state.engine, body.ids, request_, actor=actor_for(user), settings=state.settings)
    return {
        "done": sum(1 for o in outcomes if o.ok),
        "results": [{"case_id": o.case_id, "ok": o.ok, "status": o.status, "error": o.error} for o in outcomes],
    }
