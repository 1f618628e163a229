"""Saved replies: leads keep their team's, admins every team's and the shared ones (page and API).

Everyone can list and use the saved replies of their team; the reply box offers them. Names
are unique per team; texts are checked for unknown ``{variables}`` when saved, so a typo is
caught by the lead who wrote it rather than by a customer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from db.engine import session_scope
from db.models import SavedReply, User
from engagement.actors import actor_for
from engagement.queue import templates
from engagement.queue.policy import authorize_saved_reply
from engagement.web.deps import CsrfLead, CurrentUser, DbSession, LeadUser, State
from engagement.web.ids import DbId
from engagement.web.routes.auth import flash
from engagement.web.routes.pages import base_context

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["saved replies"])
SHARED = "*"


class SavedReplyIn(BaseModel):
    name: str = Field(min_length=1, max_length=templates.NAME_MAX)
    text: str = Field(min_length=1, max_length=10_000)
    team: str | None = Field(default=None, max_length=64, description="the team; null: every team (admins only)")


class SavedReplyOut(BaseModel):
    id: int | None
    name: str
    team: str | None
    text: str
    is_default: bool
    updated_by: str | None
    updated_at: str | None


def _out(view: templates.SavedReplyView) -> SavedReplyOut:
    return SavedReplyOut(
        id=view.id,
        name=view.name,
        team=view.team,
        text=view.text,
        is_default=view.is_default,
        updated_by=view.updated_by,
        updated_at=view.updated_at.isoformat(timespec="seconds") if view.updated_at else None,
    )


def manageable_team(user: User, team: str | None) -> str | None:
    """The team a saved reply is filed under, refused where the person may not manage it."""
    team = None if team in (None, "", SHARED) else team
    authorize_saved_reply(actor_for(user), team)
    return team


def _check_row(user: User, row: SavedReply | None, reply_id: int) -> SavedReply:
    if row is None:
        raise templates.SavedReplyNotFound(reply_id)
    manageable_team(user, row.team)
    return row


EXAMPLE = {
    "first_name": "Zoë",
    "name": "Zoë Martin",
    "handle": "@zoe",
    "case_id": "123",
    "agent": "you",
}


class TextIn(BaseModel):
    text: str = Field(default="", max_length=10_000)


@router.post("/saved-replies/preview")
def preview_page(state: State, user: CsrfLead, body: TextIn) -> dict[str, Any]:
    """The text filled for an example case, or the unknown variable by name."""
    values = dict(EXAMPLE, brand=templates.brand_name(state.settings.replies))
    try:
        return {"ok": bool(body.text.strip()), "text": templates.fill(body.text, values), "error": None}
    except templates.UnknownVariable as exc:
        return {"ok": False, "text": body.text, "error": str(exc), "variable": exc.variable}


@router.get("/saved-replies")
def saved_replies_page(request: Request, state: State, session: DbSession, user: LeadUser) -> Response:
    views = templates.saved_replies(
        session, team=None if user.role == "admin" else user.team, settings=state.settings.replies
    )
    context = {
        **base_context(request, user),
        "replies": views,
        "variables": templates.VARIABLES,
        "teams": [user.team] if user.role == "lead" else sorted({v.team for v in views if v.team} | {user.team}),
        "can_share": user.role == "admin",
    }
    return state.templates.TemplateResponse(request, "saved_replies.html", context)


@router.post("/saved-replies")
def save_page(
    request: Request,
    state: State,
    user: CsrfLead,
    name: Annotated[str, Form(max_length=templates.NAME_MAX)],
    text: Annotated[str, Form(max_length=10_000)],
    team: Annotated[str, Form(max_length=64)] = "",
    reply_id: Annotated[int | None, Form()] = None,
) -> Response:
    filed = manageable_team(user, team)
    with session_scope(state.engine, write=True) as session:
        if reply_id is not None:
            _check_row(user, session.get(SavedReply, reply_id), reply_id)
        row = templates.save_reply(session, name=name, text=text, team=filed, by=user.name, reply_id=reply_id)
        label = row.name
    flash(request, f"Saved reply “{label}” saved for {filed or 'every team'}.")
    return RedirectResponse("/saved-replies", status_code=303)


@router.post("/saved-replies/{reply_id}/delete")
def delete_page(request: Request, state: State, user: CsrfLead, reply_id: DbId) -> Response:
    with session_scope(state.engine, write=True) as session:
        _check_row(user, session.get(SavedReply, reply_id), reply_id)
        row = templates.delete_reply(session, reply_id)
        label = row.name
    flash(request, f"Saved reply “{label}” deleted.")
    return RedirectResponse("/saved-replies", status_code=303)


@api.get("/saved-replies")
def list_api(state: State, session: DbSession, user: CurrentUser) -> list[SavedReplyOut]:
    """The saved replies my team can use (settings defaults included, ``id`` null for those)."""
    return [_out(v) for v in templates.saved_replies(session, team=user.team, settings=state.settings.replies)]


@api.post("/saved-replies", status_code=201)
def create_api(state: State, user: CsrfLead, body: SavedReplyIn) -> SavedReplyOut:
    """Add a saved reply (lead: own team; admin: any team, or null for every team)."""
    filed = manageable_team(user, body.team)
    with session_scope(state.engine, write=True) as session:
        row = templates.save_reply(session, name=body.name, text=body.text, team=filed, by=user.name)
        return _out(templates.view_of(row))


@api.put("/saved-replies/{reply_id}")
def update_api(state: State, user: CsrfLead, reply_id: DbId, body: SavedReplyIn) -> SavedReplyOut:
    """Change a saved reply's name, text or team."""
    filed = manageable_team(user, body.team)
    with session_scope(state.engine, write=True) as session:
        _check_row(user, session.get(SavedReply, reply_id), reply_id)
        row = templates.save_reply(session, name=body.name, text=body.text, team=filed, by=user.name, reply_id=reply_id)
        return _out(templates.view_of(row))


@api.delete("/saved-replies/{reply_id}", status_code=204)
def delete_api(state: State, user: CsrfLead, reply_id: DbId) -> Response:
    """Delete a saved reply."""
    with session_scope(state.engine, write=True) as session:
        _check_row(user, session.get(SavedReply, reply_id), reply_id)
        templates.delete_reply(session, reply_id)
    return Response(status_code=204)
