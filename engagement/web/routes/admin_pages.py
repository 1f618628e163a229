"""The admin pages: People, Teams, Routing, Brand, Sources, Slack, the CRM upload and the go-live
checklist.

They render what ``/api/admin/`` answers and act through it (``static/admin.js`` sends each
form as JSON with the CSRF header), so the pages and the API can never disagree. Leads see
Teams and Routing read-only (the rule tester works for them); the rest is for admins.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from db.models import User
from engagement.customers import crm_upload
from engagement.customers.crm_columns import ALIASES, CANONICAL, IGNORE
from engagement.errors import EngagebotError
from engagement.golive import checklist
from engagement.settings_store import ROUTING_RULES, brand, effective, history
from engagement.teams import teams
from engagement.web.deps import AdminUser, CsrfUser, DbSession, Forbidden, LeadUser, State
from engagement.web.routes.admin_api import read_upload, slack_overview, sources, user_out
from engagement.web.routes.pages import base_context

router = APIRouter(include_in_schema=False)


def _page(request: Request, state: State, user: User, name: str, **context: Any) -> Response:
    return state.templates.TemplateResponse(request, name, {**base_context(request, user), **context})


def _conditions(rule: dict[str, Any]) -> str:
    """A rule's conditions in one line: ``languages: de; max_rating: 2``."""
    parts = []
    for key, value in rule.items():
        if key in ("name", "team"):
            continue
        parts.append(f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    return "; ".join(parts)


@router.get("/admin")
def admin_home(user: LeadUser) -> Response:
    return RedirectResponse("/admin/go-live" if user.role == "admin" else "/admin/teams", status_code=303)


@router.get("/admin/people")
def people_page(request: Request, state: State, session: DbSession, user: AdminUser) -> Response:
    people = [user_out(u) for u in session.exec(select(User).order_by(User.team, User.role, User.name)).all()]
    known = sorted({t.name for t in teams(session, effective(session, state.settings).routing)})
    return _page(request, state, user, "admin_people.html", people=people, teams=known)


@router.get("/admin/teams")
def teams_page(request: Request, state: State, session: DbSession, user: LeadUser) -> Response:
    found = teams(session, effective(session, state.settings).routing)
    return _page(request, state, user, "admin_teams.html", teams=found)


@router.get("/admin/routing")
def routing_page(request: Request, state: State, session: DbSession, user: LeadUser) -> Response:
    routing = effective(session, state.settings).routing
    return _page(
        request,
        state,
        user,
        "admin_routing.html",
        rules=[
            {"name": r.name, "team": r.team, "conditions": _conditions(r.model_dump(exclude_defaults=True))}
            for r in routing.rules
        ],
        default_team=routing.default_team,
        history=history(session, ROUTING_RULES, limit=10),
    )


@router.get("/admin/brand")
def brand_page(request: Request, state: State, session: DbSession, user: AdminUser) -> Response:
    return _page(request, state, user, "admin_brand.html", brand=brand(session, state.settings))


@router.get("/admin/go-live")
def golive_page(request: Request, state: State, session: DbSession, user: AdminUser) -> Response:
    checks = checklist(session, state.settings, sources=state.sources)
    return _page(request, state, user, "admin_golive.html", checks=checks, done=sum(c.ok for c in checks))


#: The fields a column can be read as, in the mapping's drop-downs.
CRM_FIELDS = (*CANONICAL, *(f for f in ALIASES if f not in CANONICAL), IGNORE)


def _crm_page(request: Request, state: State, session: Any, user: User, **context: Any) -> Response:
    return _page(
        request,
        state,
        user,
        "admin_crm.html",
        remembered=crm_upload.remembered_map(session),
        fields=CRM_FIELDS,
        **context,
    )


def _admin(user: User) -> User:
    if user.role != "admin":
        raise Forbidden("this needs the admin role")
    return user


@router.get("/admin/crm")
def crm_page(request: Request, state: State, session: DbSession, user: AdminUser) -> Response:
    return _crm_page(request, state, session, user)


@router.post("/admin/crm/preview")
async def crm_preview_page(
    request: Request,
    state: State,
    session: DbSession,
    user: CsrfUser,
    file: Annotated[UploadFile | None, File()] = None,
    upload: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Upload (or re-map) a CRM file: its first rows, the mapping to confirm, what would change."""
    _admin(user)
    form = await request.form()
    try:
        if file is not None and file.filename:
            upload = crm_upload.keep_upload(await read_upload(file))
        if not upload:
            raise EngagebotError("choose the CRM's CSV file to upload")
        header, _ = crm_upload.read_head(crm_upload.upload_path(upload))
        changes = {h: str(form.get(f"field_{i}") or "") for i, h in enumerate(header)}
        shown = crm_upload.preview(state.engine, upload, changes, max_clv=state.settings.clv.max_imported_clv)
    except EngagebotError as exc:
        return _crm_page(request, state, session, user, error=str(exc), upload=upload)
    return _crm_page(request, state, session, user, preview=shown)


@router.post("/admin/crm/import")
async def crm_import_page(
    request: Request,
    state: State,
    session: DbSession,
    user: CsrfUser,
    upload: Annotated[str, Form(max_length=64)],
) -> Response:
    """Import the previewed file with the mapping as confirmed on the page (and remember it)."""
    _admin(user)
    form = await request.form()
    try:
        header, _ = crm_upload.read_head(crm_upload.upload_path(upload))
        mapping = {h: str(form.get(f"field_{i}") or IGNORE) for i, h in enumerate(header)}
        report = crm_upload.import_upload(
            state.engine, upload, mapping, actor=user.name, max_clv=state.settings.clv.max_imported_clv
        )
    except EngagebotError as exc:
        return _crm_page(request, state, session, user, error=str(exc), upload=upload)
    return _crm_page(request, state, session, user, imported=report)


@router.get("/admin/sources")
def sources_page(request: Request, state: State, session: DbSession, user: LeadUser) -> Response:
    """Each collector's state; admins get Run now and Test connection (``/api/admin/sources/...``)."""
    return _page(request, state, user, "admin_sources.html", sources=sources(state, session, user))


@router.get("/admin/slack")
def slack_page(request: Request, state: State, session: DbSession, user: AdminUser) -> Response:
    """The Slack app: manifest to download, token status, a test message, a channel per team."""
    return _page(request, state, user, "admin_slack.html", slack=slack_overview(state, session))
