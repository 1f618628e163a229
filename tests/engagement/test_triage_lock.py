"""A relabel re-triages under the same lock as scheduled triage (issue 17), on PostgreSQL.

The scheduled step and a person's relabel (web, API, CLI: ``engagement.queue.labels.relabel``)
both decide about cases from what they read. Each of their write transactions takes
``db.claims.serialise(session, TRIAGE_LOCK)`` first. Here a transaction holds that lock, and
each writer is shown waiting for it (an ungranted advisory lock in ``pg_locks``), then finishing
once the holder commits. SQLite needs no check: a write transaction there already is the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import queue_factories as f
from queue_factories import NOW
from sqlalchemy import Engine, text

from db.claims import serialise
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from engagement.commands.relabel import relabel
from engagement.queue import claim
from engagement.settings import EngagementSettings
from engagement.triage.cases import TRIAGE_LOCK, triage

SETTINGS = EngagementSettings()
WAIT_S = 60.0  # an upper bound for a busy machine, not a timing assertion


def _waiting_for_the_triage_lock(engine: Engine) -> int:
    """Sessions waiting for this schema's triage lock (the key ``db.claims.serialise`` takes)."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted"
                    " and ((classid::bigint << 32) | objid::bigint) = hashtextextended("
                    "'engagebot:' || current_database() || '.' || current_schema() || ':' || :name, 0)"
                ),
                {"name": TRIAGE_LOCK},
            ).scalar_one()
        )


def _case(engine: Engine) -> int:
    ada = f.author(engine, handle="ada")
    f.post(engine, author_id=ada, text="lost my bag again", p_negative=0.95)
    triage(engine, SETTINGS, now=NOW)
    with session_scope(engine) as session:
        return int(session.execute(text("select id from cases")).scalar_one())


def _relabel(engine: Engine, case_id: int) -> Callable[[], object]:
    amy = f.person("amy")
    claim(engine, case_id, actor=amy, now=NOW)
    return lambda: relabel(engine, case_id, post_id=None, label="neutral", actor=amy, settings=SETTINGS, now=NOW)


WRITERS: dict[str, Callable[[Engine, int], Callable[[], object]]] = {
    "scheduled triage": lambda engine, _case_id: lambda: triage(engine, SETTINGS, now=NOW),
    "relabel": _relabel,
}


@pytest.mark.postgres
@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
def test_writers_wait_for_the_triage_lock(pg_url: str, writer: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    try:
        f.user(engine, name="amy")
        run = WRITERS[writer](engine, _case(engine))
        done = threading.Event()
        failures: list[BaseException] = []

        def work() -> None:
            try:
                run()
            except BaseException as exc:  # reported by the test thread
                failures.append(exc)
            finally:
                done.set()

        with session_scope(engine, write=True) as holder:
            serialise(holder, TRIAGE_LOCK)
            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            deadline = time.monotonic() + WAIT_S
            while _waiting_for_the_triage_lock(engine) == 0 and not done.is_set():
                assert time.monotonic() < deadline, f"{writer} never asked for the triage lock"
                time.sleep(0.05)
            assert not done.is_set(), f"{writer} finished while another transaction held the triage lock"
        thread.join(WAIT_S)
        assert done.is_set() and failures == []
        if writer == "relabel":
            with session_scope(engine) as session:
                status, reason = session.execute(text("select status, close_reason from cases")).one()
            assert (status, reason) == ("closed", "relabelled")
    finally:
        engine.dispose()
