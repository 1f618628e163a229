"""Lanes: each kind of work has its own threads, so a slow side effect never holds up the intake.

A worker used to run its shared steps one after another in one thread, notify before score:
with Slack answering in 1-2 s, one notify run of 200 messages held that thread for minutes
and new posts waited that long to be scored. Now every shared step runs in its own thread
(``engagebot.ops.workqueue``), and the leader's schedule has one bounded executor per lane: the
intake (collect, score, link/value, triage) never waits for a thread that Slack or the report
holds. A side effect also has a time budget per run (``ops.notify_budget_seconds``): a notify
run sends what fits, then yields and is called again, so a backlog never makes one run hours
long (and SIGTERM, or a lost lead, is honoured between messages soon).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lane:
    """A kind of work with its own executor: ``threads`` runs of its steps at most at once."""

    name: str
    steps: frozenset[str]
    threads: int
    what: str


LANES: tuple[Lane, ...] = (
    Lane("intake", frozenset({"collect", "score", "refresh_values", "triage"}), 4, "collect, score, link, triage"),
    Lane("notify", frozenset({"notify"}), 1, "Slack notifications (a time budget per run)"),
    Lane("report", frozenset({"weekly_report"}), 1, "the weekly report"),
)
INTAKE = LANES[0]


def lane_of(step: str) -> Lane:
    """The lane a step runs in; a step no lane names (``module:function``) runs in the intake."""
    return next((lane for lane in LANES if step in lane.steps), INTAKE)
