"""The steps of one cycle, wired to settings and the engine: the only place that knows them all.

CLI commands, the scheduler and the demo call these functions; each one calls into exactly
one domain package. Heavy packages (torch, via ``sentiment``) are imported inside the step
that needs them so that ``engagebot --help`` and the web app start fast.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from db.claims import stop_requested
from db.jobs import job_run
from engagebot.config import Settings

if TYPE_CHECKING:
    from sentiment.model import SentimentModel

log = logging.getLogger("engagebot.pipeline")

_models: dict[str, SentimentModel] = {}


@dataclass
class StepResult:
    """What one step did, for printing and for the scheduler's logs."""

    step: str
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def _timed(step: str, counts: dict[str, Any], started: float) -> StepResult:
    result = StepResult(step=step, counts=dict(counts), seconds=round(time.perf_counter() - started, 3))
    log.info("%s done", step, extra={"step": step, "counts": result.counts, "seconds": result.seconds})
    return result


class StopRequested(Exception):
    """The worker was asked to stop while a source waited for a rate-limit reset."""


def stop_aware_sleep(seconds: float) -> None:
    """Sleep like ``time.sleep``, but end a long rate-limit wait as soon as a stop is requested.

    Collectors may wait up to their configured cap (minutes) for an API's reset; SIGTERM must
    not wait that long. Raising ends this source's run (recorded as a failed JobRun); its
    cursor only covers pages already saved, so the next run resumes where it stopped.
    """
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if stop_requested():
            raise StopRequested(f"stop requested during a {seconds:.0f} s wait")
        time.sleep(min(0.5, left))


def collect(settings: Settings, engine: Engine, *, only: Sequence[str] | None = None) -> StepResult:
    """Run the configured sources (each records its own JobRun; one failing never stops the rest)."""
    from listener.collect import collect as collect_sources
    from listener.ratelimit import RetryPolicy

    started = time.perf_counter()
    policy = RetryPolicy(settings.listener.retry, sleep=stop_aware_sleep)
    results = collect_sources(engine, settings.listener, only=only, policy=policy)
    counts: dict[str, Any] = {}
    for result in results:
        counts[result.source] = {
            "added": result.added,
            "duplicates": result.duplicates,
            "rejected": result.rejected,
            "error": result.error,
        }
    return _timed("collect", counts, started)


def sentiment_model(settings: Settings) -> SentimentModel:
    """The configured model, loaded once per process."""
    from sentiment.model import load_model

    key = settings.sentiment.model_dump_json()
    if key not in _models:
        _models[key] = load_model(settings.sentiment)
    return _models[key]


def score(settings: Settings, engine: Engine, *, progress: bool = False) -> StepResult:
    """Score every post that has no score from the current model."""
    from sentiment.score import score_pending

    started = time.perf_counter()
    model = sentiment_model(settings)
    with job_run(engine, "score") as counts:
        counts.update(score_pending(engine, model, chunk_size=settings.sentiment.chunk_size, progress=progress))
        counts["model_id"] = model.model_id
    return _timed("score", counts, started)


def link_and_value(settings: Settings, engine: Engine, *, now: datetime | None = None) -> StepResult:
    """Link authors to customers, then refresh CLV, P(alive) and rCLV."""
    from engagement.customers.identities import link_authors
    from engagement.customers.value import refresh_values

    started = time.perf_counter()
    with job_run(engine, "link_and_value") as counts:
        counts["links"] = link_authors(engine)
        counts["values"] = refresh_values(engine, settings.engagement.clv, now=now)
    return _timed("link_and_value", counts, started)


def triage(
    settings: Settings, engine: Engine, *, now: datetime | None = None, backlog: bool | None = None
) -> StepResult:
    """Turn unanswered negative posts into prioritised, routed cases; close answered ones.

    ``backlog`` (None: on a new install only) also takes in valued authors' complaints from
    before the window, announced in one Slack summary (``engagement.notify.backlog_summary``).
    """
    from engagement.notify.backlog_summary import announce_backlog
    from engagement.triage.cases import triage as triage_posts

    started = time.perf_counter()
    with job_run(engine, "triage") as counts:
        counts.update(triage_posts(engine, settings.engagement, now=now, backlog=backlog))
        if counts.get("backlog"):
            counts["backlog_announced"] = int(announce_backlog(engine, settings.engagement, now=now))
    return _timed("triage", counts, started)


def notify(settings: Settings, engine: Engine, *, now: datetime | None = None) -> StepResult:
    """Queue the notifications the current cases call for, then deliver what is due within the
    run's budget (``ops.notify_budget_seconds``; what is left goes in the next run)."""
    from engagement.notify import enqueue_notifications
    from engagement.notify.deliver import deliver_pending

    started = time.perf_counter()
    with job_run(engine, "notify") as counts:
        counts["queued"] = enqueue_notifications(engine, settings.engagement, now=now)
        counts["delivered"] = deliver_pending(
            engine, settings.engagement.slack, now, budget_seconds=settings.ops.notify_budget_seconds
        )
    return _timed("notify", counts, started)


def weekly_report(
    settings: Settings,
    engine: Engine,
    *,
    week: str | None = None,
    out_dir: Path | None = None,
    now: datetime | None = None,
) -> StepResult:
    """Write the weekly sentiment-to-CLV report and queue its Slack summary (records its JobRun)."""
    from engagement.report.weekly import weekly_report_step

    started = time.perf_counter()
    report = weekly_report_step(
        engine, settings.engagement, out_dir=out_dir or settings.output_dir / "reports", week=week, now=now
    )
    return _timed("weekly_report", {"week": report.week, "html": str(report.html_path)}, started)
