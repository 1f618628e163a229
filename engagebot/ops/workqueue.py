"""Shared work that every worker runs: steps that claim their own batches with SKIP LOCKED.

Scoring, notification delivery and replies are not scheduled on the leader alone: every
worker calls them in a loop, and each call claims batches (``db.claims``) that no other
worker holds, so two workers split the backlog instead of doing it twice. A step that found
work is called again at once; one that found none waits, twice as long each time, up to its
scheduled interval, so idle workers cost the database one cheap query now and then. A step
that failed (the database is unreachable, say) waits the same way, up to at least
``FAILURE_MAX_WAIT``, so an outage is not hammered every ``idle_seconds``.

Each shared step runs in its own thread, its lane (``engagebot.ops.lanes``): a notify run that
waits on a slow Slack never holds up scoring, as it did when one thread ran them in turn.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from engagebot.ops.scheduler import JobQueue, did_work

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
    """Run each shared step in its own thread until ``stop`` is set; a stop finishes the call in progress."""

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
        self.threads = [
            threading.Thread(target=self.run, args=(shared,), name=f"lane-{shared.step}", daemon=True)
            for shared in self.steps
        ]

    def run_once(self, shared: SharedStep) -> bool:
        """Call ``shared`` once and set when it is due next; True when it found work."""
        outcome = self.queue.run_job(shared.step)
        busy = outcome.ok and did_work(outcome.counts)
        if busy:
            shared.wait = 0.0
        else:
            longest = shared.max_wait if outcome.ok else max(shared.max_wait, FAILURE_MAX_WAIT)
            shared.wait = min(max(shared.wait * 2, self.idle_seconds), longest)
        shared.due = time.monotonic() + shared.wait
        return busy

    def run(self, shared: SharedStep) -> None:
        """One lane: call its step whenever it is due, until stopped."""
        while not self.stop.is_set():
            self.run_once(shared)
            self.stop.wait(max(shared.due - time.monotonic(), 0.0))

    def start(self) -> SharedWork:
        log.info("shared work, one lane each: %s", ", ".join(s.step for s in self.steps) or "none")
        for thread in self.threads:
            thread.start()
        return self

    def join(self, timeout: float) -> bool:
        """Wait for the calls in progress to end; False if one still runs after ``timeout``."""
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        return not any(thread.is_alive() for thread in self.threads if thread.ident is not None)
