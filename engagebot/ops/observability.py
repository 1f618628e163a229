"""Prometheus metrics, ``/healthz``, ``/readyz`` and ``/metrics``, and a small server for workers.

Two kinds of metrics. Per process (this worker's jobs): run counts, failures and durations,
and whether it leads. Per deployment, read from the database when scraped (cached briefly):
posts collected per source, posts scored (``rate()`` of it is scoring throughput), open
cases by tier, SLA breaches, outbox backlog, quarantined records.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Iterable, Iterator

import prometheus_client
import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text

from db.engine import session_scope
from db.migrate import is_current
from engagebot.opsdata import Backlog, backlog

log = logging.getLogger(__name__)
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created: noise

JOB_RUNS = Counter("engagebot_job_runs", "Scheduled and shared job runs in this process", ["job", "status"])
JOB_FAILURES = Counter("engagebot_job_failures", "Job runs that raised or reported an error", ["job"])
JOB_DURATION = Histogram(
    "engagebot_job_duration_seconds",
    "How long each job run took",
    ["job"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
IS_LEADER = Gauge("engagebot_scheduler_leader", "1 while this process leads (schedules the jobs)")


def record_job(job: str, *, ok: bool, seconds: float) -> None:
    """Count one job run and its duration."""
    JOB_RUNS.labels(job=job, status="ok" if ok else "failed").inc()
    JOB_DURATION.labels(job=job).observe(seconds)
    if not ok:
        JOB_FAILURES.labels(job=job).inc()


class DatabaseCollector(Collector):
    """Deployment-wide figures read from the database at scrape time, cached for ``ttl`` seconds."""

    def __init__(self, engine: Engine, *, ttl: float = 10.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._cached: tuple[float, Backlog] | None = None
        self._lock = threading.Lock()

    def _backlog(self) -> Backlog:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > self.ttl:
                with session_scope(self.engine) as session:
                    self._cached = (time.monotonic(), backlog(session))
            return self._cached[1]

    def collect(self) -> Iterator[Metric]:
        try:
            data = self._backlog()
        except Exception:  # a scrape must still answer (the up metric says what failed)
            log.warning("metrics: database unreachable", exc_info=True)
            yield GaugeMetricFamily("engagebot_database_up", "1 when the database answered the last scrape", value=0)
            return
        yield GaugeMetricFamily("engagebot_database_up", "1 when the database answered the last scrape", value=1)
        collected = CounterMetricFamily("engagebot_posts_collected", "Posts stored, per source", labels=["source"])
        for source, n in sorted(data.posts_by_source.items()):
            collected.add_metric([source], n)
        yield collected
        yield CounterMetricFamily("engagebot_posts_scored", "Posts with a sentiment score", value=data.scored_posts)
        yield GaugeMetricFamily("engagebot_unscored_posts", "Posts waiting for a score", value=data.unscored_posts)
        cases = GaugeMetricFamily(
            "engagebot_open_cases",
            "Cases still to act on (open, claimed, pending approval, escalated), per tier",
            labels=["tier"],
        )
        for tier, n in sorted(data.open_cases_by_tier.items()):
            cases.add_metric([tier], n)
        yield cases
        yield GaugeMetricFamily("engagebot_sla_breaches", "Open cases past their SLA due time", value=data.sla_breaches)
        outbox = GaugeMetricFamily(
            "engagebot_outbox_backlog", "Notifications not delivered, per status", labels=["status"]
        )
        outbox.add_metric(["pending"], data.outbox_pending)
        outbox.add_metric(["failed"], data.outbox_failed)
        yield outbox
        yield GaugeMetricFamily(
            "engagebot_quarantined_records",
            "Raw records that failed to parse",
            value=data.quarantined_records,
        )


def database_ready(engine: Engine) -> tuple[bool, dict[str, str]]:
    """Readiness: the database answers and its schema is at the newest migration."""
    checks: dict[str, str] = {}
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        return False, checks
    try:
        checks["migrations"] = "current" if is_current(engine) else "behind: run 'engagebot init'"
    except Exception as exc:
        checks["migrations"] = f"unknown: {type(exc).__name__}"
    return checks["migrations"] == "current", checks


def bearer_matches(request: Request, token: str) -> bool:
    """``Authorization: Bearer <token>`` with exactly this token (compared in constant time)."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def ops_router(
    engine: Engine, *, registries: Iterable[CollectorRegistry] = (REGISTRY,), metrics_token: str | None = None
) -> APIRouter:
    """``/healthz``, ``/readyz`` and ``/metrics``, for ``create_app(extra_routers=...)``.

    ``metrics_token`` (``ops.metrics_token``) makes /metrics answer only that bearer token: the
    figures (backlogs, sources, failures) are for the operators' Prometheus, not the internet.
    Health and readiness stay open for load balancers; they tell nothing but up or not.
    """
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(engine))
    sources = [*registries, database]
    router = APIRouter(tags=["ops"])

    @router.get("/healthz", summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="The database is reachable and migrated")
    def readyz() -> JSONResponse:
        ready, checks = database_ready(engine)
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", responses={401: {"description": "token needed"}})
    def metrics(request: Request) -> Response:
        if metrics_token and not bearer_matches(request, metrics_token):
            return Response(
                "metrics need 'Authorization: Bearer <ops.metrics_token>'\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        body = b"".join(generate_latest(registry) for registry in sources)
        return Response(content=body, media_type=CONTENT_TYPE_LATEST)

    return router


class HealthServer:
    """An app served from a daemon thread: a ``--no-web`` worker's ops endpoints, or the web app."""

    def __init__(
        self, engine: Engine, *, host: str, port: int, app: FastAPI | None = None, metrics_token: str | None = None
    ) -> None:
        if app is None:
            app = FastAPI(title="engagebot worker", docs_url=None, redoc_url=None, openapi_url=None)
            app.include_router(ops_router(engine, metrics_token=metrics_token))
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="health-server", daemon=True)

    def start(self) -> HealthServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
