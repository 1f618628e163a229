"""A thin job queue over APScheduler: each pipeline step on its interval, in UTC.

After python-telegram-bot's ``JobQueue``: scheduling lives here and nowhere else, and the
jobs know nothing about it. A job is a step *name* (and a source name for collect jobs),
never an object: ``run_job`` looks the step up in ``engagebot.pipeline`` when it runs, calls
it with the settings and engine, logs what it did, counts it in the metrics and makes sure
a failure is stored as a ``JobRun`` even when the step died before recording one itself, and
even when the database is unreachable (kept in memory until it returns: ``failures``).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from db.types import utcnow
from engagebot.config import Settings
from engagebot.failures import Failure, PendingFailures
from engagebot.observability import record_job

log = logging.getLogger(__name__)

StepFn = Callable[..., Any]

#: scheduler job names that differ from the pipeline function they run
STEP_FUNCTIONS: Mapping[str, str] = {"refresh_values": "link_and_value"}
#: the order of one cycle (``engagebot run --once``); collect runs per source
CYCLE = ("collect", "score", "refresh_values", "triage", "notify")


def resolve_step(name: str) -> StepFn:
    """The function behind a step name: a ``engagebot.pipeline`` function or ``module:function``."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        module = importlib.import_module(module_name)
    else:
        module = importlib.import_module("engagebot.pipeline")
        attr = STEP_FUNCTIONS.get(name, name)
    func = getattr(module, attr, None)
    if not callable(func):
        raise LookupError(f"unknown step {name!r}: no function {attr!r} in {module.__name__}")
    return func  # type: ignore[no-any-return]


def counts_of(result: Any) -> dict[str, Any]:
    """The counts a step returned (a ``StepResult``, a list of them, a dict or a number)."""
    if result is None:
        return {}
    if isinstance(result, Mapping):
        return dict(result)
    if isinstance(result, list):
        return {getattr(item, "step", str(i)): counts_of(item) for i, item in enumerate(result)}
    counts = getattr(result, "counts", None)
    if isinstance(counts, Mapping):
        return dict(counts)
    return {"result": result}


#: Counts of rows a step looked at and left exactly as they were: the next call finds the same
#: rows again, so they are no reason to call it again at once. (Notify's ``unconfigured``:
#: messages kept pending because no Slack transport is set; counted as work, every worker ran
#: notify back to back, a job run row each time, for as long as Slack stayed off.)
UNCHANGED_COUNTS = frozenset({"unconfigured"})


def did_work(counts: Mapping[str, Any]) -> bool:
    """True when any count is a positive number (nested dicts included): the step found work.

    Counts named in ``UNCHANGED_COUNTS`` are not work: they would never drop to zero by calling
    the step again.
    """
    for key, value in counts.items():
        if key in UNCHANGED_COUNTS:
            continue
        if isinstance(value, Mapping) and did_work(value):
            return True
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return True
    return False


def source_errors(counts: Mapping[str, Any]) -> dict[str, str]:
    """Errors a step reported per source instead of raising (collect keeps going past them)."""
    return {
        str(name): str(value["error"])
        for name, value in counts.items()
        if isinstance(value, Mapping) and value.get("error")
    }


@dataclass
class JobOutcome:
    """One run of one job, as the scheduler saw it."""

    job: str
    step: str
    source: str | None
    ok: bool
    seconds: float
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def job_id(step: str, source: str | None = None) -> str:
    return f"{step}:{source}" if source else step


class JobQueue:
    """The leader's schedule of steps, and the one wrapper every run goes through."""

    def __init__(self, settings: Settings, engine: Engine, *, threads: int = 4) -> None:
        self.settings = settings
        self.engine = engine
        timing = settings.ops.scheduler
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=threads)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": timing.misfire_grace_seconds,
            },
        )
        self._active = 0
        self._active_lock = threading.Condition()
        self.failures = PendingFailures(settings.ops.failure_buffer)

    # --- scheduling -------------------------------------------------------------------------

    def _first_run(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.settings.ops.scheduler.first_run_delay_seconds)

    def run_repeating(self, step: str, *, minutes: float, source: str | None = None) -> Job:
        """Run ``step`` every ``minutes`` (first run shortly after start), with jitter."""
        name = job_id(step, source)
        trigger = IntervalTrigger(
            seconds=minutes * 60,
            timezone=UTC,
            jitter=self.settings.ops.scheduler.jitter_seconds or None,
        )
        return self.scheduler.add_job(
            self.run_job,
            trigger,
            args=[step, source],
            id=name,
            name=name,
            replace_existing=True,
            next_run_time=self._first_run(),
        )

    def run_weekly(self, step: str, *, day_of_week: str, hour: int) -> Job:
        """Run ``step`` once a week at ``hour`` UTC."""
        trigger = CronTrigger(
            day_of_week=day_of_week,
            hour=hour,
            timezone=UTC,
            jitter=self.settings.ops.scheduler.jitter_seconds or None,
        )
        return self.scheduler.add_job(
            self.run_job, trigger, args=[step, None], id=step, name=step, replace_existing=True
        )

    def schedule_cycle(self, *, skip: Iterable[str] = ()) -> list[str]:
        """Add every job of the settings (collect per enabled source); return their ids."""
        skipped = set(skip)
        timing = self.settings.ops.scheduler
        if "collect" not in skipped:
            for source in self.settings.listener.sources:
                if source.enabled:
                    self.run_repeating("collect", minutes=source.interval_minutes, source=source.name)
        intervals = {
            "score": timing.score_minutes,
            "refresh_values": timing.refresh_values_minutes,
            "triage": timing.triage_minutes,
            "notify": timing.notify_minutes,
        }
        for step, minutes in intervals.items():
            if step not in skipped:
                self.run_repeating(step, minutes=minutes)
        if "weekly_report" not in skipped:
            self.run_weekly(
                "weekly_report",
                day_of_week=timing.weekly_report_day,
                hour=timing.weekly_report_hour,
            )
        return [job.id for job in self.scheduler.get_jobs()]

    def start(self, *, paused: bool = True) -> None:
        """Start the scheduler thread; paused until this process becomes the leader."""
        self.scheduler.start(paused=paused)

    def resume(self) -> None:
        self.scheduler.resume()

    def pause(self) -> None:
        self.scheduler.pause()

    def shutdown(self) -> None:
        """Stop scheduling; runs in progress go on (``wait_idle`` waits for them)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job runs in this process; False if some still run after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._active_lock:
            while self._active:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._active_lock.wait(left)
        return True

    # --- running ----------------------------------------------------------------------------

    def run_job(self, step: str, source: str | None = None) -> JobOutcome:
        """Run one step now: log, count and store its outcome; never raise an ``Exception``."""
        name = job_id(step, source)
        started_at = utcnow()
        started = time.perf_counter()
        with self._active_lock:
            self._active += 1
        self.failures.flush(self.engine)  # failures kept from an outage, if the database is back
        try:
            func = resolve_step(step)
            result = func(self.settings, self.engine, only=[source]) if source else func(self.settings, self.engine)
        except Exception as exc:
            seconds = time.perf_counter() - started
            error = f"{type(exc).__name__}: {exc}"
            log.exception(
                "%s failed after %.1fs: %s",
                name,
                seconds,
                error,
                extra={
                    "step": step,
                    "source": source,
                    "seconds": round(seconds, 3),
                    "error": error,
                },
            )
            record_job(step, ok=False, seconds=seconds)
            self._store_failure(step, source, started_at, error)
            return JobOutcome(name, step, source, ok=False, seconds=seconds, error=error)
        finally:
            with self._active_lock:
                self._active -= 1
                self._active_lock.notify_all()
        seconds = time.perf_counter() - started
        counts = counts_of(result)
        errors = source_errors(counts)
        reported = "; ".join(f"{k}: {v}" for k, v in errors.items()) or None
        record_job(step, ok=reported is None, seconds=seconds)
        level = logging.WARNING if reported else logging.INFO
        log.log(
            level,
            "%s %s in %.1fs",
            name,
            f"reported errors ({reported})" if reported else "done",
            seconds,
            extra={"step": step, "source": source, "counts": counts, "seconds": round(seconds, 3)},
        )
        return JobOutcome(name, step, source, ok=reported is None, seconds=seconds, counts=counts, error=reported)

    def _store_failure(self, step: str, source: str | None, started_at: datetime, error: str) -> None:
        """Store the failure unless the step already recorded it; keep it while the database is away."""
        failure = Failure(STEP_FUNCTIONS.get(step, step), source, started_at, utcnow(), error)
        self.failures.record(self.engine, failure)

    def run_once(self, *, steps: Iterable[str] = CYCLE) -> list[JobOutcome]:
        """One cycle in order, each step through ``run_job`` (``engagebot run --once``)."""
        outcomes: list[JobOutcome] = []
        for step in steps:
            if step == "collect":
                sources = [s.name for s in self.settings.listener.sources if s.enabled]
                outcomes.extend(self.run_job("collect", name) for name in sources)
            else:
                outcomes.append(self.run_job(step))
        return outcomes
