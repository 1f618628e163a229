"""Lead view (team load, SLA breaches, tiers, throughput), settings and sign-in security (admin), CSV exports."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlmodel import col, select

from db.engine import session_scope
from db.models import AuditEvent, User, WebSession
from db.types import utcnow
from engagement import csv_safe, settings_store
from engagement.errors import BadInput, NotFound
from engagement.users import end_sessions
from engagement.web import ops_view, queue_view, sessions, throttle
from engagement.web.deps import AdminUser, CsrfUser, CurrentUser, DbSession, Forbidden, LeadUser, State
from engagement.web.ids import DbId
from engagement.web.queue_view import QueueFilters, QueueRow
from engagement.web.routes.auth import flash
from engagement.web.routes.pages import Text, base_context, filters_from_query

router = APIRouter(include_in_schema=False)

CSV_COLUMNS = (
    "case_id", "status", "team", "tier", "priority", "money_at_risk", "sla_due_at", "platform",
    "lang",
    "customer_id", "customer_name", "author_handle", "followers", "sentiment", "p_negative",
    "claimed_by", "assignee", "created_at", "closed_at", "close_reason", "post_url", "text",
)  # fmt: skip


def _csv_row(row: QueueRow) -> list[object]:
    values = (
        row.id, row.status, row.team, row.tier, f"{row.priority:.2f}", f"{row.money_at_risk:.2f}",
        row.sla_due_at, row.platform, row.lang, row.customer_id, row.customer_name,
        row.author_handle,
        row.followers, row.sentiment, None if row.p_negative is None else f"{row.p_negative:.3f}",
        row.claimed_by, row.assignee, row.created_at, row.closed_at, row.close_reason, row.url,
        row.text,
    )  # fmt: skip
    return list(values)


def _stream_csv(state: State, filters: QueueFilters) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv_safe.writer(buffer)  # post text is untrusted: no cell may run as a formula
    writer.writerow(CSV_COLUMNS)
    with session_scope(state.engine) as session:
        for count, row in enumerate(queue_view.iter_rows(session=session, filters=filters), start=1):
            writer.writerow(_csv_row(row))
            if count % 200 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


def _csv_response(state: State, filters: QueueFilters, name: str) -> Response:
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        _stream_csv(state, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'},
    )


@router.get("/export/queue.csv")
def export_queue(
    state: State,
    user: CurrentUser,
    team: Text = None,
    platform: Text = None,
    tier: Text = None,
    status: Text = None,
    lang: Text = None,
    q: Text = None,
) -> Response:
    """Every row of the filtered queue (not just the page on screen)."""
    filters = filters_from_query(user, team=team, platform=platform, tier=tier, status=status, lang=lang, q=q)
    return _csv_response(state, filters, "queue")


@router.get("/export/closed.csv")
def export_closed(
    state: State,
    user: CurrentUser,
    team: Text = None,
    platform: Text = None,
    tier: Text = None,
    status: Text = None,
    lang: Text = None,
    q: Text = None,
) -> Response:
    """Closed cases (replied, dismissed, closed; or one of them) with the same filters."""
    filters = filters_from_query(
        user,
        team=team,
        platform=platform,
        tier=tier,
        status=status,
        lang=lang,
        q=q,
        default_status="finished",
    )
    if not set(filters.statuses()) <= set(queue_view.CLOSED_STATUSES):
        raise BadInput(f"closed cases are {', '.join(queue_view.CLOSED_STATUSES)}; not {filters.status!r}")
    return _csv_response(state, filters, "closed")


@router.get("/lead")
def lead_page(
    request: Request,
    state: State,
    session: DbSession,
    user: LeadUser,
    team: Text = None,
    days: Annotated[int, Query(ge=1, le=365)] = 7,
) -> Response:
    view = ops_view.lead_view(session=session, days=days, team=team or None)
    context = {**base_context(request, user), "v": view, "team": team or "", "days": days}
    return state.templates.TemplateResponse(request, "lead.html", context)


@router.get("/settings")
def settings_page(request: Request, state: State, session: DbSession, user: AdminUser) -> Response:
    settings = state.settings
    context = {
        **base_context(request, user),
        "sources": ops_view.source_statuses(session=session, configured=state.sources),
        "runs": ops_view.recent_runs(session=session),
        "rules": settings_store.effective(session, settings).routing.rules,  # as edited in the app
        "routing": {k: v for k, v in ops_view.public_settings(settings.routing).items() if k != "rules"},
        "triage": ops_view.public_settings(settings.triage),
        "slack": ops_view.public_settings(settings.slack),
        "replies": ops_view.public_settings(settings.replies),
        "web": ops_view.public_settings(settings.web),
        "users": ops_view.users(session=session),
        "lock_count": len(throttle.active_locks(session=session, now=state.clock())),
    }
    return state.templates.TemplateResponse(request, "settings.html", context)


SIGNIN_ACTIONS = ("signin_locked", "signin_unlocked", "sessions_ended")


@router.get("/admin/security")
def security_page(request: Request, state: State, session: DbSession, user: AdminUser) -> Response:
    """Locked sign-ins (unlock them), everyone's live sessions (end them), recent sign-in events."""
    now = state.clock()
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.action).in_(SIGNIN_ACTIONS))
        .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        .limit(50)
    ).all()
    context = {
        **base_context(request, user),
        "locks": throttle.active_locks(session=session, now=now),
        "sessions": sessions.active(session=session, now=now, settings=state.settings.web),
        "events": events,
        "limits": state.settings.web.login_throttle,
    }
    return state.templates.TemplateResponse(request, "admin_security.html", context)


def _csrf_admin(user: CsrfUser) -> User:
    if user.role != "admin":
        raise Forbidden("this needs the admin role")
    return user


CsrfAdmin = Annotated[User, Depends(_csrf_admin)]


@router.post("/admin/security/unlock")
def unlock(request: Request, state: State, user: CsrfAdmin, key: Annotated[str, Form(max_length=300)]) -> Response:
    with session_scope(state.engine, write=True) as session:
        done = throttle.unlock(session=session, key=key, actor=user.name, now=state.clock())
    flash(request, f"Unlocked {key}." if done else f"{key} was not locked.")
    return RedirectResponse("/admin/security", status_code=303)


def _audit_ended(session: DbSession, *, actor: str, user_id: int, count: int, scope: str) -> None:
    target = session.get(User, user_id)
    detail = {"user": target.name if target else user_id, "sessions": count, "scope": scope}
    session.add(AuditEvent(actor=actor, action="sessions_ended", detail=detail, created_at=utcnow()))


@router.post("/admin/sessions/{session_id}/end")
def end_one(request: Request, state: State, user: CsrfAdmin, session_id: DbId) -> Response:
    """End someone's session at once (a lost laptop): their next request signs in again."""
    with session_scope(state.engine) as session:
        row = session.get(WebSession, session_id)
        if row is None:
            raise NotFound(f"no session {session_id}")
        sessions.revoke(session=session, row=row, now=state.clock(), reason="admin")
        _audit_ended(session, actor=user.name, user_id=row.user_id, count=1, scope=f"session {session_id}")
    flash(request, f"Session {session_id} ended.")
    return RedirectResponse("/admin/security", status_code=303)


@router.post("/admin/users/{user_id}/end-sessions")
def end_all(request: Request, state: State, user: CsrfAdmin, user_id: DbId) -> Response:
    """End every session of one person (their API tokens end with a password change)."""
    with session_scope(state.engine) as session:
        if session.get(User, user_id) is None:
            raise NotFound(f"no user {user_id}")
        count = end_sessions(session=session, user_id=user_id, reason="admin", now=state.clock())
        _audit_ended(session, actor=user.name, user_id=user_id, count=count, scope="all")
    flash(request, f"Ended {count} session{'s' if count != 1 else ''}.")
    return RedirectResponse("/admin/security", status_code=303)
