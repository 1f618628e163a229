"""Leader election in one process: advisory lock (PostgreSQL) and lease row (any database)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from db.engine import session_scope
from db.models import SchedulerLease
from engagebot.ops.leader import (
    AdvisoryLockElection,
    LeaseElection,
    advisory_key,
    election_for,
)

pytestmark = pytest.mark.timeout(60)


def holder(engine: Engine) -> str | None:
    with session_scope(engine) as session:
        row = session.get(SchedulerLease, "scheduler")
        return row.holder if row else None


def test_one_lease_holder_and_handover_on_release(engine: Engine) -> None:
    a = LeaseElection(engine, lease_seconds=30, holder="a")
    b = LeaseElection(engine, lease_seconds=30, holder="b")
    assert a.poll() and not b.poll()
    assert a.poll(), "the holder renews"
    assert holder(engine) == "a"
    a.release()
    assert b.poll() and not a.poll()
    assert holder(engine) == "b"


def test_an_expired_lease_is_taken_over(engine: Engine) -> None:
    a = LeaseElection(engine, lease_seconds=3, holder="a")
    b = LeaseElection(engine, lease_seconds=30, holder="b")
    assert a.poll() and not b.poll()
    time.sleep(3.2)  # a stopped renewing (it died)
    assert b.poll() and not a.poll()


def test_advisory_lock_has_one_holder_and_fails_over_when_its_connection_dies(
    pg_engine: Engine,
) -> None:
    a = AdvisoryLockElection(pg_engine, lease_seconds=30)
    b = AdvisoryLockElection(pg_engine, lease_seconds=30)
    assert a.poll() and not b.poll()
    assert a.poll(), "the holder keeps it"
    assert holder(pg_engine) == a.holder
    assert a._conn is not None
    a._conn.invalidate()  # the leader's session ends, as when its process is killed
    # PostgreSQL frees the lock once its backend sees the closed socket: at once on an idle
    # machine, a moment later on a loaded one
    deadline = time.monotonic() + 10
    while not b.poll() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert b.holder == holder(pg_engine), "b took over"
    assert holder(pg_engine) == b.holder
    with pytest.raises(SQLAlchemyError):  # its broken session: the worker counts it in the outage
        a.poll()
    assert not a.poll(), "the old leader reconnects as a follower"
    b.release()
    assert holder(pg_engine) is None
    assert a.poll()
    a.release()


def test_keys_differ_per_schema() -> None:
    assert advisory_key("test.s1", "scheduler") != advisory_key("test.s2", "scheduler")
    assert advisory_key("test.s1", "scheduler") == advisory_key("test.s1", "scheduler")


def test_election_for_picks_by_database(sqlite_engine: Engine, pg_engine: Engine) -> None:
    assert isinstance(election_for(sqlite_engine, lease_seconds=5), LeaseElection)
    assert isinstance(election_for(pg_engine, lease_seconds=5), AdvisoryLockElection)
