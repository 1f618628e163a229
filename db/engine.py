"""Engine and session setup for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

DEFAULT_DATABASE_URL = "sqlite:///engagebot.db"
#: first and longest wait between attempts to reach the database at start
CONNECT_FIRST_DELAY = 1.0
CONNECT_MAX_DELAY = 30.0

log = logging.getLogger(__name__)


class DatabaseUnavailable(ConnectionError):
    """The database did not answer within the time allowed (``ops.database_wait_seconds``)."""


def normalise_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain ``postgresql://`` URLs (SQLAlchemy defaults to psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str = DEFAULT_DATABASE_URL, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite, create the file's folder and turn on WAL and foreign keys.

    WAL lets the web app read while a worker writes; the busy timeout makes concurrent
    writers wait instead of failing with "database is locked".
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy own transactions so BEGIN IMMEDIATE can be issued for claims.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "checkout")
        def _sqlite_reset_write_flag(_dbapi: Any, record: Any, _proxy: Any) -> None:
            record.info["write"] = False

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error.

    ``write=True`` takes SQLite's write lock at BEGIN (``BEGIN IMMEDIATE``), which makes a
    read-then-update (a queue claim) atomic there; on PostgreSQL it changes nothing and row
    locks (``FOR UPDATE SKIP LOCKED``) do that job.
    """
    if write and is_sqlite(engine):
        with engine.connect() as connection:
            connection.info["write"] = True
            with Session(bind=connection, expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        return
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def wait_for_database(
    engine: Engine,
    *,
    give_up_after: float | None = None,
    first_delay: float = CONNECT_FIRST_DELAY,
    max_delay: float = CONNECT_MAX_DELAY,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Return once the database answers ``select 1``; the number of attempts it took.

    Waits double from ``first_delay`` up to ``max_delay`` (+-20 % jitter, so workers started
    together do not knock in step), with one log line per failed attempt that says when the
    next comes. Raises ``DatabaseUnavailable`` when the next attempt would start more than
    ``give_up_after`` seconds after the first (None: never gives up; Ctrl-C stops it).
    """
    started = time.monotonic()
    nominal = first_delay
    attempt = 0
    while True:
        attempt += 1
        try:
            with engine.connect() as connection:
                connection.execute(text("select 1"))
        except (DBAPIError, OSError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().split("\n", 1)[0]
            waited = time.monotonic() - started
            delay = nominal * random.uniform(0.8, 1.2)
            if give_up_after is not None and waited + delay > give_up_after:
                raise DatabaseUnavailable(
                    f"the database at {engine.url.render_as_string(hide_password=True)} did not answer "
                    f"in {waited:.0f}s ({attempt} attempts): {reason}"
                ) from exc
            log.warning(
                "database unreachable (attempt %d, %.0fs so far): %s; next attempt in %.1fs",
                attempt,
                waited,
                reason,
                delay,
                extra={"attempt": attempt, "next_delay": round(delay, 1), "every_time": True},
            )
            sleep(delay)
            nominal = min(max_delay, nominal * 2)
            continue
        if attempt > 1:
            log.info("database reachable after %d attempts (%.0fs)", attempt, time.monotonic() - started)
        return attempt
