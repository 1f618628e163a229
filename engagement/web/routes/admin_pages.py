"""The admin pages: People, Teams, Routing, Brand and the go-live checklist.

They render what ``/api/admin/`` answers and act through it (``static/admin.js`` sends each
form as JSON with the CSRF header), so the pages and the API can never disagree. Leads see
Teams and Routing read-only (the rule tester works for them); the rest is for admins.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from db.models import User
from engagement.golive import checklist
from engagement.settings_store import ROUTING_RULES, brand, effective, history
from engagement.teams import teams
from engagement.web.deps import AdminUser, DbSession, LeadUser, State
from engagement.web.routes.admin_api import user_out
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
