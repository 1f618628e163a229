"""Shared work that every worker runs: steps that claim their own batches with SKIP LOCKED.

Scoring, notification delivery and replies are not scheduled on the leader alone: every
worker calls them in a loop, and each call claims batches (``db.claims``) that no other
worker holds, so two workers split the backlog instead of doing it twice. A step that found
work is called again at once; one that found none waits, twice as long each time, up to its
scheduled interval, so idle workers cost the database one cheap query now and then. A step
that failed (the database is unreachable, say) waits the same way, up to at least
``FAILURE_MAX_WAIT``, so an outage is not hammered every ``idle_seconds``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from engagebot.scheduler import JobQueue, did_work

log = logging.getLogger(__name__)

#: the longest wait after failed calls of a step whose own interval is shorter
FAILURE_MAX_WAIT = 30.0


@dataclass
class SharedStep:
    """One shared step and when this worker calls it next."""

    step: str
    max_wait: float
    wait: float = 0.0
    due: float = 0.0


class SharedWork:
    """Run the shared steps until ``stop`` is set; a stop finishes the call in progress."""

    def __init__(
        self,
        queue: JobQueue,
        steps: Sequence[str],
        *,
        stop: threading.Event,
        idle_seconds: float,
        max_wait: dict[str, float] | None = None,
    ) -> None:
        self.queue = queue
        self.stop = stop
        self.idle_seconds = idle_seconds
        waits = max_wait or {}
        self.steps = [SharedStep(step, max(waits.get(step, idle_seconds), idle_seconds)) for step in steps]
        self.thread = threading.Thread(target=self.run, name="shared-work", daemon=True)

    def run_due(self) -> int:
        """Call every step that is due once; return how many found work."""
        busy = 0
        for shared in self.steps:
            if self.stop.is_set():
                break
            if time.monotonic() < shared.due:
                continue
            outcome = self.queue.run_job(shared.step)
            if outcome.ok and did_work(outcome.counts):
                busy += 1
                shared.wait = 0.0
            else:
                longest = shared.max_wait if outcome.ok else max(shared.max_wait, FAILURE_MAX_WAIT)
                shared.wait = min(max(shared.wait * 2, self.idle_seconds), longest)
            shared.due = time.monotonic() + shared.wait
        return busy

    def run(self) -> None:
        log.info("shared work: %s", ", ".join(s.step for s in self.steps) or "none")
        while self.steps and not self.stop.is_set():
            self.run_due()
            next_due = min(s.due for s in self.steps)
            self.stop.wait(max(next_due - time.monotonic(), 0.0))
        log.info("shared work stopped")

    def start(self) -> SharedWork:
        self.thread.start()
        return self

    def join(self, timeout: float) -> bool:
        """Wait for the call in progress to end; False if it still runs after ``timeout``."""
        self.thread.join(timeout)
        return not self.thread.is_alive()
