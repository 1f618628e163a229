"""Repeated errors are logged once, then counted (``engagebot.ops.logrepeats.RepeatedErrors``)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError

from engagebot.ops.logrepeats import RepeatedErrors


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, bool]] = []  # (message, with traceback)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.getMessage(), bool(record.exc_info)))


@pytest.fixture
def setup() -> tuple[logging.Logger, Captured, Clock, RepeatedErrors]:
    handler, clock = Captured(), Clock()
    repeats = RepeatedErrors(handler, every=60, quiet=30, clock=clock)
    handler.addFilter(repeats)
    logger = logging.getLogger("test.repeats")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, handler, clock, repeats


def db_error(params: dict[str, object]) -> OperationalError:
    """A lost connection as SQLAlchemy raises it: its later lines carry the SQL's parameters."""
    return OperationalError("SELECT * FROM outbox WHERE id = %(id)s", params, Exception("server closed the connection"))


def fail(logger: logging.Logger, job: str, seconds: float, exc: Exception) -> None:
    try:
        raise exc
    except OperationalError as caught:
        logger.exception("%s failed after %.1fs: %s", job, seconds, f"OperationalError: {caught}")


def test_an_outage_of_identical_errors_is_one_traceback_and_counts(setup: tuple) -> None:  # type: ignore[type-arg]
    logger, handler, clock, _ = setup
    for i in range(2100):  # what the leader used to write in 30 s, one error every ~15 ms
        clock.now = i * 0.03
        fail(logger, "score", seconds=0.01 * i, exc=db_error({"id": i}))
    full = [line for line in handler.lines if line[1]]
    assert len(full) == 1, "one traceback for the whole run of identical errors"
    # 63 s of errors: the first, then one count per minute
    assert [text.rsplit("[", 1)[1] for text, _ in handler.lines[1:]] == ["repeated 2000 times in the last 60s]"]
    clock.now = 200.0
    logger.info("database reachable again")  # any later line reports what was still held back
    assert "[repeated 99 more times; 2100 in 63s, then it stopped]" in handler.lines[-2][0]
    assert handler.lines[-1] == ("database reachable again", False)


def test_different_jobs_and_errors_are_kept_apart(setup: tuple) -> None:  # type: ignore[type-arg]
    logger, handler, clock, repeats = setup
    for i in range(3):
        clock.now = float(i)
        fail(logger, "score", 1.0, db_error({"id": i}))
        fail(logger, "notify", 1.0, db_error({"id": i}))
        logger.warning("could not store %d job failure(s) yet: %s", i + 1, "connection refused")
    logger.warning("could not store %d job failure(s) yet: %s", 1, "disk full")
    assert [text.split(" failed")[0].split(":")[0] for text, _ in handler.lines] == [
        "score",
        "notify",
        "could not store 1 job failure(s) yet",
        "could not store 1 job failure(s) yet",
    ]
    repeats.flush()  # at exit: what is still held back is reported, not lost
    counts = sorted(text.rsplit("[", 1)[1] for text, _ in handler.lines[4:])
    assert counts == ["repeated 2 more times; 3 in 2s]"] * 3


def test_lines_meant_for_every_time_pass(setup: tuple) -> None:  # type: ignore[type-arg]
    logger, handler, _, _ = setup
    for attempt in range(1, 4):
        logger.warning("database unreachable (attempt %d)", attempt, extra={"every_time": True})
    assert len(handler.lines) == 3
