"""Pages an agent reads: the queue (and its polled rows), a case, closed cases."""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from db.models import User
from db.vocab import SENTIMENT_LABELS
from engagement import i18n, queue
from engagement.actors import actor_for
from engagement.errors import BadInput
from engagement.notify.notices import take_unseen
from engagement.web import collisions, locale, queue_view
from engagement.web.case_view import case_detail, page_extras, sentiment_history
from engagement.web.deps import CurrentUser, DbSession, State, WebState, csrf_token
from engagement.web.ids import DbId
from engagement.web.queue_view import QueueFilters

router = APIRouter(include_in_schema=False)
_FACETS_TTL_S = 120.0

Text = Annotated[str | None, Query(max_length=200)]


def filters_from_query(
    user: User,
    *,
    team: str | None,
    platform: str | None,
    tier: str | None,
    status: str | None,
    lang: str | None,
    q: str | None,
    default_status: str = "active",
    assigned: str | None = None,
    tag: str | None = None,
    snoozed: bool = False,
) -> QueueFilters:
    """The filter bar's values; the queue defaults to my team, ``team=all`` shows every team.

    ``assigned=mine`` shows my cases of every team (assigned to me or held by me), unless a
    team is named; ``assigned=unassigned`` the ones nobody has.
    """
    if assigned == "mine" and team is None:
        team = "all"
    chosen_team = user.team if team is None else (None if team in ("", "all") else team)
    return QueueFilters(
        team=chosen_team,
        platform=platform or None,
        tier=tier or None,
        status=status or default_status,
        lang=lang or None,
        q=q or None,
        assigned=assigned or None,
        tag=tag or None,
        snoozed=snoozed,
        me=user.name,
    )


def cached_facets(state: WebState, session: Any) -> dict[str, list[str]]:
    """Filter choices, recomputed at most every two minutes (they scan the cases)."""
    cache = state.cache.setdefault("facets", {})
    if cache.get("at", 0.0) + _FACETS_TTL_S < time.monotonic():
        cache["value"] = queue_view.facets(session=session)
        cache["at"] = time.monotonic()
    value: dict[str, list[str]] = cache["value"]
    return value


def base_context(request: Request, user: User) -> dict[str, Any]:
    """What every full page needs. ``take_notices`` is called by ``base.html`` only, so a partial
    (the queue's live rows) never uses up a notice the person has not seen."""
    flashes = request.session.pop("flash", [])
    engine = request.app.state.web.engine
    # The page's language from here on, for the texts a route words in Python after this call
    # (the case page's notes on answering and value); the templates activate it again.
    i18n.activate(locale.request_language(request))
    return {
        "user": user,
        "csrf": csrf_token(request),
        "flashes": flashes,
        "path": request.url.path,
        "take_notices": partial(take_unseen, engine, user.id),
    }


def _queue_context(
    request: Request,
    state: State,
    session: DbSession,
    user: User,
    filters: QueueFilters,
    offset: int,
) -> dict[str, Any]:
    page = queue_view.queue_page(session=session, filters=filters, limit=state.settings.web.page_size, offset=offset)
    query = filters.as_query()
    if filters.team is None:
        query["team"] = "all"
    return {
        **base_context(request, user),
        "page": page,
        "filters": filters,
        "query": query,
        "facets": cached_facets(state, session),
    }


@router.get("/queue")
def queue_page(
    request: Request,
    state: State,
    session: DbSession,
    user: CurrentUser,
    team: Text = None,
    platform: Text = None,
    tier: Text = None,
    status: Text = None,
    lang: Text = None,
    q: Text = None,
    assigned: Text = None,
    tag: Text = None,
    snoozed: bool = False,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    filters = filters_from_query(
        user,
        team=team,
        platform=platform,
        tier=tier,
        status=status,
        lang=lang,
        q=q,
        assigned=assigned,
        tag=tag,
        snoozed=snoozed,
    )
    context = _queue_context(request, state, session, user, filters, offset)
    return state.templates.TemplateResponse(request, "queue.html", context)


@router.get("/queue/rows")
def queue_rows(
    request: Request,
    state: State,
    session: DbSession,
    user: CurrentUser,
    team: Text = None,
    platform: Text = None,
    tier: Text = None,
    status: Text = None,
    lang: Text = None,
    q: Text = None,
    assigned: Text = None,
    tag: Text = None,
    snoozed: bool = False,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The table body alone, for HTMX polling and the filter bar."""
    filters = filters_from_query(
        user,
        team=team,
        platform=platform,
        tier=tier,
        status=status,
        lang=lang,
        q=q,
        assigned=assigned,
        tag=tag,
        snoozed=snoozed,
    )
    context = _queue_context(request, state, session, user, filters, offset)
    return state.templates.TemplateResponse(request, "_queue_table.html", context)


@router.get("/closed")
def closed_page(
    request: Request,
    state: State,
    session: DbSession,
    user: CurrentUser,
    team: Text = None,
    platform: Text = None,
    tier: Text = None,
    status: Text = None,
    lang: Text = None,
    q: Text = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
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
    context = _queue_context(request, state, session, user, filters, offset)
    return state.templates.TemplateResponse(request, "closed.html", context)


@router.get("/cases/{case_id}")
def case_page(request: Request, state: State, session: DbSession, user: CurrentUser, case_id: DbId) -> Response:
    return render_case_page(request, state, session, user, case_id)


def render_case_page(
    request: Request,
    state: WebState,
    session: Any,
    user: User,
    case_id: int,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    """The case page; a refused send renders it again with ``conflict`` and the typed ``reply_text``."""
    detail = case_detail(session=session, case_id=case_id)
    context = {
        **base_context(request, user),
        "d": detail,
        "history": sentiment_history(detail.customer),
        "labels": SENTIMENT_LABELS,
        "is_lead": actor_for(user).is_lead,
        **page_extras(session, detail, user, state.settings),
        **extra,
    }
    return state.templates.TemplateResponse(request, "case.html", context, status_code=status_code)


@router.get("/cases/{case_id}/holder")
def case_holder(request: Request, state: State, session: DbSession, user: CurrentUser, case_id: DbId) -> Response:
    """Who holds the case now (refreshed on live changes, so collisions show without a reload)."""
    detail = case_detail(session=session, case_id=case_id)
    extras = page_extras(session, detail, user, state.settings)
    context = {"case": detail.case, "user": user, **extras}
    return state.templates.TemplateResponse(request, "_holder.html", context)


@router.get("/cases/{case_id}/actions")
def case_actions(request: Request, state: State, session: DbSession, user: CurrentUser, case_id: DbId) -> Response:
    """The status and action bar for this person now, fetched when the live stream says the case
    changed: the buttons come from the server's state, never from what the page was loaded with."""
    case = queue.get_case(session, case_id)
    hold = collisions.current_hold(session, case)
    context = {
        "case": case,
        "user": user,
        "csrf": csrf_token(request),
        "hold": hold,
        "held_by_other": hold is not None and hold.holder != user.name,
        "is_lead": actor_for(user).is_lead,
        "lease_minutes": state.settings.routing.lease_minutes,
        "refresh": True,
    }
    return state.templates.TemplateResponse(request, "_case_actions.html", context)
