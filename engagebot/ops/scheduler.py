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
from engagebot.ops.failures import Failure, PendingFailures
from engagebot.ops.lanes import LANES, lane_of
from engagebot.ops.logrepeats import first_line, settle_repeats
from engagebot.ops.observability import record_job
from engagebot.ops.outages import Outage, database_unreachable

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


#: distinct errors remembered as "traceback already logged" (then forgotten, all at once)
TRACED_KINDS = 1000


@dataclass
class Turn:
    """Whether a scheduled job runs in this process now, and whether it missed a turn meanwhile."""

    running: bool = False
    missed: bool = False
    started: float = 0.0


def job_id(step: str, source: str | None = None) -> str:
    return f"{step}:{source}" if source else step


class JobQueue:
    """The leader's schedule of steps, and the one wrapper every run goes through."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        timing = settings.ops.scheduler
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={lane.name: ThreadPoolExecutor(max_workers=lane.threads) for lane in LANES},
            job_defaults={
                "coalesce": True,
                # 2, not 1: the second instance is ``run_scheduled`` noting a missed turn and
                # returning at once (APScheduler would drop it silently, with only its own warning)
                "max_instances": 2,
                "misfire_grace_time": timing.misfire_grace_seconds,
            },
        )
        self._active = 0
        self._active_lock = threading.Condition()
        self._turns: dict[str, Turn] = {}
        self._turns_lock = threading.Lock()
        self._traced: set[str] = set()  # errors whose traceback was logged once already
        self._scheduling = False
        self.failures = PendingFailures(settings.ops.failure_buffer)
        self.database = Outage("database", on_end=settle_repeats)
        self.slack = Outage("Slack", meanwhile="messages stay pending and are retried", on_end=settle_repeats)

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
            self.run_scheduled,
            trigger,
            args=[step, source],
            id=name,
            name=name,
            executor=lane_of(step).name,
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
            self.run_scheduled,
            trigger,
            args=[step, None],
            id=step,
            name=step,
            executor=lane_of(step).name,
            replace_existing=True,
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
        self._scheduling = not paused
        self.scheduler.start(paused=paused)

    def resume(self) -> None:
        self._scheduling = True
        self.scheduler.resume()

    def pause(self) -> None:
        self._scheduling = False
        self.scheduler.pause()

    def shutdown(self) -> None:
        """Stop scheduling; runs in progress go on (``wait_idle`` waits for them)."""
        self._scheduling = False
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

    def run_scheduled(self, step: str, source: str | None = None) -> None:
        """A scheduled turn of ``step``: run it, or, while its last run goes on, note the turn.

        A step still running at its next turn says so once (one line per overrun), and the
        turn it missed runs as soon as that run ends, in the same thread: never two copies at
        once (triage must not race itself), and never a turn dropped without a word.
        Missed turns coalesce: however many passed, one more run follows.
        """
        name = job_id(step, source)
        with self._turns_lock:
            turn = self._turns.setdefault(name, Turn())
            if turn.running:
                if not turn.missed:
                    log.warning(
                        "%s is still running at its next turn (started %.0fs ago); that turn runs when it ends",
                        name,
                        time.monotonic() - turn.started,
                        extra={"step": step, "source": source, "every_time": True},
                    )
                turn.missed = True
                return
            turn.running, turn.started = True, time.monotonic()
        try:
            while True:
                self.run_job(step, source)
                with self._turns_lock:
                    if not (turn.missed and self._scheduling):
                        break
                    turn.missed, turn.started = False, time.monotonic()
                log.info("%s: running the turn it missed", name, extra={"step": step, "source": source})
        finally:
            with self._turns_lock:
                turn.running = turn.missed = False

    def run_job(self, step: str, source: str | None = None) -> JobOutcome:
        """Run one step now: log, count and store its outcome; never raise an ``Exception``."""
        name = job_id(step, source)
        started_at = utcnow()
        started = time.perf_counter()
        with self._active_lock:
            self._active += 1
        if not self.database.ongoing:
            self.failures.flush(self.engine)  # failures kept from an outage, if the database is back
        try:
            func = resolve_step(step)
            result = func(self.settings, self.engine, only=[source]) if source else func(self.settings, self.engine)
        except Exception as exc:
            seconds = time.perf_counter() - started
            error = f"{type(exc).__name__}: {exc}"
            self._log_failure(exc, name, step, source, seconds, error)
            record_job(step, ok=False, seconds=seconds)
            self._store_failure(step, source, started_at, error)
            return JobOutcome(name, step, source, ok=False, seconds=seconds, error=error)
        finally:
            with self._active_lock:
                self._active -= 1
                self._active_lock.notify_all()
        self.database_answered()
        seconds = time.perf_counter() - started
        counts = counts_of(result)
        errors = source_errors(counts)
        reported = "; ".join(f"{k}: {v}" for k, v in errors.items()) or None
        record_job(step, ok=reported is None, seconds=seconds)
        self._watch_slack(name, counts)
        # a run that found nothing to do (an idle lane's poll) is no news: DEBUG, or an idle
        # worker writes a line per poll; its JobRun row (if it keeps one) still says it ran.
        # Nor is a run during a Slack outage: the outage's own lines count them.
        quiet = not did_work(counts) or self.slack.ongoing
        level = logging.WARNING if reported else logging.DEBUG if quiet else logging.INFO
        log.log(
            level,
            "%s %s in %.1fs",
            name,
            f"reported errors ({reported})" if reported else "done",
            seconds,
            extra={"step": step, "source": source, "counts": counts, "seconds": round(seconds, 3)},
        )
        return JobOutcome(name, step, source, ok=reported is None, seconds=seconds, counts=counts, error=reported)

    def _log_failure(
        self, exc: Exception, name: str, step: str, source: str | None, seconds: float, error: str
    ) -> None:
        """The first failure of each distinct error with its traceback; later ones briefly.

        During a database outage the outage's own lines (``engagebot.ops.outages``) stand for the
        failed runs: a start line, a count per step per minute, an end line. Otherwise each
        failure is one line (the repeat filter counts identical ones); the traceback is logged
        in full the first time an error is seen and at DEBUG after that.
        """
        extra = {"step": step, "source": source, "seconds": round(seconds, 3), "error": error}
        kind = f"{type(exc).__name__}: {first_line(exc)}"
        with self._turns_lock:
            first = kind not in self._traced
            if len(self._traced) >= TRACED_KINDS:  # errors quoting ids are all distinct: stay bounded
                self._traced.clear()
            self._traced.add(kind)
        if first:
            log.error("%s failed after %.1fs: %s", name, seconds, error, exc_info=exc, extra=extra)
        else:
            log.debug("%s failed after %.1fs: %s", name, seconds, error, exc_info=exc, extra=extra)
        if database_unreachable(exc):
            self.database.failed(name, error)
        elif not first:
            log.error("%s failed after %.1fs: %s", name, seconds, first_line(error), extra=extra)

    def _watch_slack(self, name: str, counts: Mapping[str, Any]) -> None:
        """Tell a Slack outage from a delivery run's counts: every attempt was left for a retry
        (Slack refused, timed out or was unreachable) starts or counts it; a message that went
        out ends it. Runs that attempted nothing say nothing either way."""
        delivered = counts.get("delivered", counts)
        if not isinstance(delivered, Mapping) or not {"sent", "retry"} & set(delivered):
            return
        arrived = int(delivered.get("sent", 0)) + int(delivered.get("already_sent", 0))
        if arrived:
            self.slack.ended()
        elif delivered.get("retry"):
            self.slack.failed(name, f"{delivered['retry']} message(s) not accepted, retried with back-off")

    def database_answered(self) -> None:
        """The database answered (a job ran, the election polled): end an outage if one was on,
        and write the failures it kept."""
        if self.database.ended(kept=f"{len(self.failures)} failed run(s) in memory, stored now"):
            self.failures.flush(self.engine)

    def database_failed(self, what: str, exc: BaseException) -> bool:
        """Something other than a job (the election) could not reach the database: count it in
        the outage; False when ``exc`` is not an outage (the caller logs it)."""
        if not database_unreachable(exc):
            return False
        self.database.failed(what, f"{type(exc).__name__}: {exc}")
        return True

    def _store_failure(self, step: str, source: str | None, started_at: datetime, error: str) -> None:
        """Store the failure unless the step already recorded it; keep it while the database is away."""
        failure = Failure(STEP_FUNCTIONS.get(step, step), source, started_at, utcnow(), error)
        if self.database.ongoing:
            self.failures.keep(failure)  # written when the outage ends, not tried (and warned about) now
        else:
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
