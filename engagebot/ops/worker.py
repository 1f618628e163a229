"""One worker process: elect a leader, schedule on it, share work on all, stop cleanly.

Every worker runs the shared steps (``ops.shared_work``); only the elected leader runs the
schedule (collect, link/value, triage, the weekly report). On SIGTERM or Ctrl-C the worker
stops taking work, lets the batch in progress finish for up to ``shutdown_grace_seconds``,
gives up the lead (a follower takes over at its next poll) and exits. A batch still running
after the grace time is released by exiting: its transaction rolls back and its rows are
free for the next worker.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from db.claims import request_stop
from db.engine import session_scope
from db.jobs import mark_dead_runs
from engagebot.config import Settings
from engagebot.ops.leader import Election, election_for
from engagebot.ops.logrepeats import first_line
from engagebot.ops.observability import IS_LEADER
from engagebot.ops.scheduler import JobQueue
from engagebot.ops.workqueue import SharedWork

log = logging.getLogger(__name__)


class Worker:
    """The long-running process behind ``engagebot run``."""

    def __init__(self, settings: Settings, engine: Engine, *, election: Election | None = None) -> None:
        self.settings = settings
        self.engine = engine
        ops = settings.ops
        self.stop = threading.Event()
        self.election = election or election_for(engine, lease_seconds=ops.lease_seconds)
        self.queue = JobQueue(settings, engine)
        self.queue.schedule_cycle(skip=ops.shared_work)
        timing = ops.scheduler
        intervals = {
            "score": timing.score_minutes,
            "refresh_values": timing.refresh_values_minutes,
            "triage": timing.triage_minutes,
            "notify": timing.notify_minutes,
        }
        self.shared = SharedWork(
            self.queue,
            ops.shared_work,
            stop=self.stop,
            idle_seconds=ops.idle_seconds,
            max_wait={step: minutes * 60 for step, minutes in intervals.items()},
        )
        self.leading = False
        self._signals = 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting now; the batch in progress is released")
            os._exit(1)
        log.info("%s: finishing the current batch, then stopping", signal.Signals(signum).name)
        request_stop()
        self.stop.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _set_leading(self, leading: bool) -> None:
        if leading == self.leading:
            return
        self.leading = leading
        IS_LEADER.set(1 if leading else 0)
        if leading:
            log.info("%s is the scheduler leader now", self.election.holder)
            self.sweep_dead_runs()
            self.queue.resume()
        else:
            log.warning("%s is no longer the leader; pausing the schedule", self.election.holder)
            self.queue.pause()

    def sweep_dead_runs(self) -> None:
        """Mark ``died`` the runs a killed process left ``running``, before this leader's first job.

        The old leader's last run (a triage killed with it) is found on this first pass, not
        by whichever job happens to run next.
        """
        try:
            with session_scope(self.engine, write=True) as session:
                mark_dead_runs(session)
        except SQLAlchemyError as exc:
            if not self.queue.database_failed("dead-run sweep", exc):
                log.warning("could not look for dead runs: %s", first_line(exc))

    def poll_leadership(self) -> None:
        """Take, keep or lose the lead; then write failures kept from an outage, if any."""
        try:
            leading = self.election.poll()
        except Exception as exc:
            if not self.queue.database_failed("leader election", exc):
                reason = first_line(exc)
                log.warning(
                    "leader election failed (%s); %s", reason, "stepping down" if self.leading else "still a follower"
                )
            leading = False
        else:
            self.queue.database_answered()
        self._set_leading(leading)
        if len(self.queue.failures) and not self.queue.database.ongoing:
            self.queue.failures.flush(self.engine)

    def run(self) -> int:
        """Work until stopped; return the exit code."""
        log.info(
            "worker %s starting: %d scheduled jobs, shared work %s",
            self.election.holder,
            len(self.queue.scheduler.get_jobs()),
            list(self.settings.ops.shared_work),
            extra={"worker": self.election.holder},
        )
        self.queue.start(paused=True)
        self.shared.start()
        poll_every = self.settings.ops.lease_seconds / 3
        while not self.stop.is_set():
            self.poll_leadership()
            self.stop.wait(poll_every)
        return self.shutdown()

    def shutdown(self) -> int:
        grace = self.settings.ops.shutdown_grace_seconds
        deadline = time.monotonic() + grace
        self.queue.shutdown()
        finished = self.shared.join(grace) and self.queue.wait_idle(max(deadline - time.monotonic(), 0.0))
        try:
            self.election.release()
        except Exception:
            log.exception("could not release the lead; it expires on its own")
        if len(self.queue.failures) and not self.queue.failures.flush(self.engine):
            log.warning(
                "%d job failure(s) kept during the outage are lost: the database is still unreachable",
                len(self.queue.failures),
            )
        IS_LEADER.set(0)
        if not finished:
            log.warning("work still running after %.0fs: exiting, its batch is released", grace)
            logging.shutdown()
            sys.stdout.flush()
            os._exit(0)
        log.info("worker %s stopped", self.election.holder)
        return 0
