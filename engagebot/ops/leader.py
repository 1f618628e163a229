"""Exactly one scheduler leader among worker processes, with failover when it dies.

PostgreSQL: a session-level ``pg_try_advisory_lock`` held on a dedicated connection. The
server drops the lock the moment that connection ends, so a leader killed with ``kill -9``
is replaced at the next poll of a follower, without waiting for any lease to run out.
SQLite (or any other database): the ``scheduler_leases`` row is a lease that the leader renews;
a follower takes it once it has expired. On PostgreSQL the row is written too, so
``engagebot status`` can show who leads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, delete, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlmodel import col

from db.engine import is_sqlite, session_scope
from db.models import SchedulerLease
from db.types import utcnow

log = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"


def worker_id() -> str:
    """A name for this process that is unique across machines and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Election(Protocol):
    """One process's side of the election: ``poll`` takes or keeps the lead, ``release`` ends it."""

    holder: str

    def poll(self) -> bool: ...

    def release(self) -> None: ...


def _write_lease(engine: Engine, name: str, holder: str, lease_seconds: float) -> bool:
    """Take or renew the lease row if it is free, expired or ours; True when we hold it after."""
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    try:
        with session_scope(engine, write=True) as session:
            taken = session.execute(
                update(SchedulerLease)
                .where(col(SchedulerLease.name) == name)
                .where((col(SchedulerLease.holder) == holder) | (col(SchedulerLease.expires_at) < now))
                .values(holder=holder, expires_at=expires)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if session.get(SchedulerLease, name) is not None:
                return False
            session.add(SchedulerLease(name=name, holder=holder, expires_at=expires))
        return True
    except IntegrityError:  # another process inserted the row first
        return False


def _drop_lease(engine: Engine, name: str, holder: str) -> None:
    with session_scope(engine, write=True) as session:
        session.execute(
            delete(SchedulerLease).where(col(SchedulerLease.name) == name).where(col(SchedulerLease.holder) == holder)
        )


class LeaseElection:
    """The lease-row election (SQLite, and the fallback anywhere advisory locks are missing)."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_seconds: float,
        name: str = SCHEDULER_LEASE,
        holder: str | None = None,
    ):
        self.engine = engine
        self.name = name
        self.lease_seconds = lease_seconds
        self.holder = holder or worker_id()

    def poll(self) -> bool:
        return _write_lease(self.engine, self.name, self.holder, self.lease_seconds)

    def release(self) -> None:
        _drop_lease(self.engine, self.name, self.holder)


def advisory_key(scope: str, name: str) -> int:
    """A stable signed 64-bit lock key for ``name`` within ``scope`` (database and schema).

    Advisory locks are per database, not per schema; keying them by schema keeps test
    schemas (and several deployments sharing one database) from blocking each other.
    """
    digest = hashlib.blake2b(f"engagebot:{scope}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLockElection:
    """PostgreSQL: ``pg_try_advisory_lock`` on a connection kept open while leading."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_seconds: float,
        name: str = SCHEDULER_LEASE,
        holder: str | None = None,
    ):
        self.engine = engine
        self.name = name
        self.lease_seconds = lease_seconds
        self.holder = holder or worker_id()
        self._conn: Connection | None = None
        self._key: int | None = None
        self._leading = False

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            scope = conn.execute(text("select current_database() || '.' || current_schema()")).scalar_one()
            self._key = advisory_key(str(scope), self.name)
            self._conn = conn
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()  # never hand a connection holding a lock back to the pool
                self._conn.close()
            except Exception:  # the connection is already broken; nothing more to release
                log.debug("closing the leader connection failed", exc_info=True)
        self._conn = None

    def _holds_lock(self, conn: Connection) -> bool:
        key = self._key
        assert key is not None
        held = conn.execute(
            text(
                "select count(*) from pg_locks where locktype = 'advisory' "
                "and pid = pg_backend_pid() "
                "and granted and classid::bigint = :hi and objid::bigint = :lo and objsubid = 1"
            ),
            {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF},
        ).scalar_one()
        return bool(held)

    def poll(self) -> bool:
        try:
            conn = self._connection()
            leading = self._holds_lock(conn) or bool(
                conn.execute(text("select pg_try_advisory_lock(:key)"), {"key": self._key}).scalar_one()
            )
        except SQLAlchemyError as exc:  # the connection broke (or was invalidated)
            if self._leading:  # a follower never held the lock: nothing to step down from
                reason = str(getattr(exc, "orig", None) or exc).strip().split("\n", 1)[0]
                log.warning("leader connection lost (%s); stepping down", reason)
            self._leading = False
            self._close()
            raise  # the worker counts it in the outage (engagebot.ops.outages): one line, not one per poll
        self._leading = leading
        if leading:
            self._show_holder()
        return leading

    def _show_holder(self) -> None:
        """The lock decides; the row only tells ``engagebot status`` who leads."""
        try:
            with session_scope(self.engine) as session:
                row = session.get(SchedulerLease, self.name)
                expires = utcnow() + timedelta(seconds=self.lease_seconds)
                if row is None:
                    session.add(SchedulerLease(name=self.name, holder=self.holder, expires_at=expires))
                else:
                    row.holder, row.expires_at = self.holder, expires
        except DBAPIError:  # a concurrent insert (IntegrityError) or a lost connection
            log.warning("could not record the leader in scheduler_leases", exc_info=True)

    def release(self) -> None:
        self._leading = False
        if self._conn is not None:
            try:
                self._conn.execute(text("select pg_advisory_unlock(:key)"), {"key": self._key})
            except DBAPIError:
                log.debug("unlock failed; closing the connection releases it", exc_info=True)
            self._close()
        try:
            _drop_lease(self.engine, self.name, self.holder)
        except DBAPIError:
            log.warning("could not clear the scheduler lease row", exc_info=True)


def election_for(engine: Engine, *, lease_seconds: float, name: str = SCHEDULER_LEASE) -> Election:
    """The advisory lock on PostgreSQL, the lease row elsewhere."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLockElection(engine, lease_seconds=lease_seconds, name=name)
    if not is_sqlite(engine):
        log.info("no advisory locks on %s; using the lease table", engine.dialect.name)
    return LeaseElection(engine, lease_seconds=lease_seconds, name=name)
