"""The queue page's "Next case" button: claim the highest-priority free case of my team.

Actions on one case are case commands (``engagement.web.routes.case_commands``).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from engagement import queue
from engagement.actors import actor_for
from engagement.web.deps import CsrfUser, State
from engagement.web.routes.auth import flash

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

ReasonText = Annotated[str, Form(max_length=500)]


def _to_case(case_id: int) -> Response:
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def _to_queue() -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.post("/queue/next")
def take_next(request: Request, state: State, user: CsrfUser) -> Response:
    case = queue.claim_next(
        state.engine, actor=actor_for(user), team=user.team, lease_minutes=state.settings.routing.lease_minutes
    )
    if case is None:
        flash(request, f"No open cases in team {user.team} right now.")
        return _to_queue()
    assert case.id is not None
    # No flash: the case page's holder banner says "You hold this case until …" (one banner).
    return _to_case(case.id)
