"""The Sources page's buttons: "run now" and "test connection" (``/api/admin/sources/{name}/...``).

They need the listener's settings and the collect step, which the web package does not hold
(it gets the sources as plain dicts), so the composition root mounts this router next to the
app (``engagebot.commands.web.extra_routers``), under the same admin policy and CSRF check.

Run now starts the same step the scheduler runs (``engagebot.pipeline.collect`` for that one
source, which records its own job run) in a background thread: the page answers at once and the
run's outcome shows under "last run" as any scheduled run's does. A source already collecting,
here or in a worker, is not started twice.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Engine
from sqlmodel import col, select

from db.engine import session_scope
from db.models import JobRun
from db.vocab import JobStatus
from engagebot.config import Settings
from engagement.errors import EngagebotError, NotFound
from engagement.web.routes.admin_api import CsrfAdmin
from listener.check import SourceBuilder, check_connection

log = logging.getLogger(__name__)


class AlreadyRunning(EngagebotError):
    """A collect run of the source is under way: 409."""

    status_code = 409


class SourceRuns:
    """The background collect runs this process started, one per source at a time."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self.lock = threading.Lock()
        self.running: dict[str, threading.Thread] = {}

    def _collecting_elsewhere(self, name: str) -> bool:
        """A worker's run of ``name`` still marked running (a dead one is marked died by status)."""
        with session_scope(self.engine) as session:
            row = session.exec(
                select(JobRun.id).where(col(JobRun.source) == name, col(JobRun.status) == JobStatus.RUNNING).limit(1)
            ).first()
        return row is not None

    def start(self, name: str) -> threading.Thread:
        """Start collecting ``name`` now in a background thread; ``AlreadyRunning`` if it is."""
        from engagebot.pipeline import collect

        with self.lock:
            current = self.running.get(name)
            if (current is not None and current.is_alive()) or self._collecting_elsewhere(name):
                raise AlreadyRunning(f"{name} is collecting now: its outcome shows under last run when it ends")

            def run() -> None:
                try:
                    collect(self.settings, self.engine, only=[name])
                except Exception:  # the run's own job row says what failed; the thread must not die loudly
                    log.exception("run now of source %s failed", name)

            thread = threading.Thread(target=run, name=f"run-now-{name}", daemon=True)
            self.running[name] = thread
            thread.start()
            return thread


def sources_router(settings: Settings, engine: Engine, *, builder: SourceBuilder | None = None) -> APIRouter:
    """``POST /api/admin/sources/{name}/run`` and ``/test`` for ``settings``' sources."""
    router = APIRouter(prefix="/api/admin/sources", tags=["admin"])
    runs = SourceRuns(settings, engine)
    router.runs = runs  # type: ignore[attr-defined]  # tests wait on the runs they start

    def known(name: str) -> None:
        if name not in {s.name for s in settings.listener.sources}:
            raise NotFound(f"no source named {name!r}")

    @router.post("/{name}/run", status_code=202)
    def run_now(name: str, user: CsrfAdmin) -> dict[str, Any]:
        """Collect this source now (in the background); its outcome shows as its last run."""
        known(name)
        runs.start(name)
        log.info("%s started a collect run of %s", user.name, name)
        message = f"Collecting {name} now: reload to see its last run."
        return {"source": name, "started": True, "message": message, "text": message}

    @router.post("/{name}/test")
    def test(name: str, user: CsrfAdmin) -> dict[str, Any]:
        """One cheap authenticated call to the platform (nothing stored): ok, why not, budget left."""
        known(name)
        check = check_connection(engine, settings.listener, name, builder=builder)
        return {**check.as_dict(), "text": check.message + (f" ({check.rate})" if check.rate else "")}

    return router
