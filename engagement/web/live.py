"""Server-sent events: tell open pages within a second that the queue or a case changed.

Every state change writes an ``AuditEvent`` and triage adds cases, so ``max(audit_events.id)``
with ``max(cases.id)`` is a cheap "last change" marker (two index look-ups); a case page watches
its own case's newest audit event and who else is on it. Each open stream polls its marker every ``POLL_S`` on the
server and sends one ``change`` event when it moves; the page then fetches what it shows. The
stream ends after ``MAX_STREAM_S`` and the browser's EventSource reconnects, so no connection
outlives a deploy for long. Pages fall back to plain polling when EventSource fails.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

from sqlalchemy import Engine, func
from sqlmodel import col, select

from db.engine import session_scope
from db.models import AuditEvent, Case
from engagement.web.presence import present

POLL_S = 0.5
KEEPALIVE_S = 15.0
MAX_STREAM_S = 300.0
RETRY_MS = 2000

Marker = tuple[int, int, tuple[tuple[str, str], ...]]


def change_marker(engine: Engine, *, case_id: int | None, user_name: str, now: datetime | None = None) -> Marker:
    """What changes when something a page shows changes.

    The queue: the newest audit event and the newest case, anywhere. A case page: that case's
    newest audit event (on the ``case_id`` index) and who else is on it, so a busy queue does
    not make every open case page refresh.
    """
    with session_scope(engine) as session:
        if case_id is None:
            last_audit = session.exec(select(func.max(col(AuditEvent.id)))).one() or 0
            last_case = session.exec(select(func.max(col(Case.id)))).one() or 0
            return int(last_audit), int(last_case), ()
        last_audit = (
            session.exec(select(func.max(col(AuditEvent.id))).where(col(AuditEvent.case_id) == case_id)).one() or 0
        )
        people = tuple((p.user_name, p.activity) for p in present(session, case_id=case_id, besides=user_name, now=now))
    return int(last_audit), 0, people


def _event(name: str, data: dict[str, object]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


async def change_stream(
    read_marker: Callable[[], Awaitable[Marker]],
    disconnected: Callable[[], Awaitable[bool]],
    *,
    poll_s: float = POLL_S,
    max_stream_s: float = MAX_STREAM_S,
) -> AsyncIterator[str]:
    """``change`` events whenever the marker moves; comments keep proxies from closing the stream."""
    yield f"retry: {RETRY_MS}\n\n"
    last = await read_marker()
    yield _event("ready", {"audit": last[0]})
    started = quiet_since = time.monotonic()
    while time.monotonic() - started < max_stream_s:
        await asyncio.sleep(poll_s)
        if await disconnected():
            return
        marker = await read_marker()
        if marker != last:
            kinds = []
            if marker[:2] != last[:2]:
                kinds.append("case")
            if marker[2] != last[2]:
                kinds.append("presence")
            last = marker
            quiet_since = time.monotonic()
            yield _event("change", {"audit": marker[0], "what": kinds})
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": still here\n\n"
