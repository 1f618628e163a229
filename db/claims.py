"""Claim shared work in batches so several workers never take the same rows.

The batch is locked for the length of one transaction: ``SELECT ... FOR UPDATE SKIP LOCKED``
on PostgreSQL (other workers skip the locked rows and take the next ones), a ``BEGIN
IMMEDIATE`` write transaction on SQLite (one claimer at a time). The worker handles the rows
and writes their results in that same transaction, then commits. A worker that dies
mid-batch (even ``kill -9``) loses its connection, the transaction rolls back, and the rows
are free again for the next claimer: nothing lost, nothing done twice in the database.
Effects outside the database (a Slack message, a platform reply) cannot roll back, so they
are not done inside a claimed batch: Slack delivery claims one message at a time under a
lease and checks the channel before re-sending one whose outcome is unknown
(``engagement.notify.deliver``), replies check the platform (``engagement.queue.replies``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, Row, Select, text
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

from db.engine import session_scope

T = TypeVar("T")

_stopping = threading.Event()


def request_stop() -> None:
    """Ask every ``drain`` in this process to stop after its current batch (on SIGTERM)."""
    _stopping.set()


def stop_requested() -> bool:
    return _stopping.is_set()


def claim(session: Session, statement: Select[tuple[T]] | SelectOfScalar[T], *, limit: int) -> list[T]:
    """Lock and return up to ``limit`` rows of ``statement`` that no other transaction holds.

    ``statement`` selects one entity (``select(Outbox).where(...).order_by(...)``); the lock
    lasts until the caller's transaction ends. On SQLite ``FOR UPDATE`` is not rendered: open
    the session with ``session_scope(engine, write=True)`` so the claim is a write transaction.
    """
    locked = statement.limit(limit).with_for_update(skip_locked=True)
    return list(session.scalars(locked).all())


def claim_rows(session: Session, statement: Select[Any], *, limit: int, of: Any) -> list[Row[Any]]:
    """Like ``claim`` for a statement of several columns or a join: lock the rows of ``of`` only.

    The lock is ``FOR NO KEY UPDATE OF <of> SKIP LOCKED``: claimers skip each other's rows as
    with ``FOR UPDATE``, but inserts elsewhere that reference the claimed rows (their foreign
    key checks take ``FOR KEY SHARE``) are not held up for the length of the batch. Use it
    when the batch's results go to other tables and the claimed rows' keys never change.
    """
    locked = statement.limit(limit).with_for_update(skip_locked=True, of=of, key_share=True)
    return list(session.execute(locked).all())


def serialise(session: Session, name: str) -> None:
    """Let one transaction at a time past this point for ``name``, until it commits or rolls back.

    For work that reads, decides and writes in one transaction and must not interleave with
    a second copy of itself (two runs would both decide to add the same rows). PostgreSQL:
    ``pg_advisory_xact_lock`` keyed by database, schema and ``name`` (so test schemas do not
    block each other); the next statement then sees what the previous holder committed.
    SQLite: a write transaction (``session_scope(engine, write=True)``) already is the lock.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(
        text(
            "select pg_advisory_xact_lock(hashtextextended("
            "'engagebot:' || current_database() || '.' || current_schema() || ':' || :name, 0))"
        ),
        {"name": name},
    )


def drain(
    engine: Engine,
    statement: Select[tuple[T]],
    handle: Callable[[Session, list[T]], Any],
    *,
    batch_size: int,
    max_batches: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Claim, handle and commit batches until none are left; return how many rows were handled.

    ``handle(session, rows)`` does the work and writes the outcome (e.g. marks rows sent) in
    ``session``; it must change the rows so ``statement`` no longer selects them. Stop
    requests (``request_stop``, ``should_stop``) are checked between batches, so a stopping
    worker finishes the batch it holds and claims no more.
    """
    handled = 0
    batches = 0
    while not (_stopping.is_set() or (should_stop and should_stop())) and (
        max_batches is None or batches < max_batches
    ):
        with session_scope(engine, write=True) as session:
            rows = claim(session, statement, limit=batch_size)
            if not rows:
                break
            handle(session, rows)
        handled += len(rows)
        batches += 1
    return handled
