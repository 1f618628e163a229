"""Sign-in throttling: growing waits after failed sign-ins, then a temporary lock.

Two counters see every failure: one per email as typed (``account:<email>``, whether or not
the account exists, so the answers never tell a guesser which emails are real) and one per
client address (``address:<ip>``, which slows one machine guessing many emails). After a
counter's free failures each further failure makes the next attempt wait ``first_delay_s``,
doubling up to ``max_delay_s``; at the lock count the key is locked for ``lock_minutes``
(audited). Once a key has been locked, each further failure locks it again, until a success
(account keys) or ``forget_after_minutes`` without failures clears it. While a key waits or is
locked, attempts are refused without checking the password, so the right password is refused
too. Nothing here sleeps: a refusal carries the time to come back, and the caller's clock is
passed in, so tests move time instead of waiting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from db.models import AuditEvent, LoginThrottle
from engagement.settings import LoginThrottleSettings
from engagement.users import normalise_email

ACCOUNT = "account"
ADDRESS = "address"


def account_key(email: str) -> str:
    return f"{ACCOUNT}:{normalise_email(email)[:255]}"


def address_key(address: str | None) -> str:
    return f"{ADDRESS}:{(address or 'unknown')[:64]}"


def limits(key: str, settings: LoginThrottleSettings) -> tuple[int, int]:
    """``(free failures, lock failures)`` of a key's kind."""
    if key.startswith(ADDRESS + ":"):
        return settings.address_free_failures, settings.address_lock_failures
    return settings.account_free_failures, settings.account_lock_failures


def wait_after(failures: int, *, free: int, settings: LoginThrottleSettings) -> float:
    """Seconds the next attempt must wait after ``failures`` failures (below the lock count).

    0 up to ``free`` failures, then ``first_delay_s`` x 2^(failures - free - 1), capped:
    with the defaults 1, 2, 4, ... 60 s.
    """
    if failures < free:
        return 0.0
    exponent = min(failures - free, 64)
    return float(min(settings.first_delay_s * (2.0**exponent), settings.max_delay_s))


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused now and when to come back (the same for every email)."""

    key: str
    until: datetime
    locked: bool

    def retry_after_s(self, now: datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))


def _forgotten(row: LoginThrottle, *, now: datetime, settings: LoginThrottleSettings) -> bool:
    """Failures this old no longer count (and an expired lock with them)."""
    if row.locked_until is not None and row.locked_until > now:
        return False
    last = row.last_failure_at
    return last is None or now - last >= timedelta(minutes=settings.forget_after_minutes)


def refusal(*, session: Session, keys: Sequence[str], now: datetime, settings: LoginThrottleSettings) -> Refusal | None:
    """The refusal that holds for any of ``keys`` now (the longest), or None: go ahead."""
    rows = session.exec(select(LoginThrottle).where(col(LoginThrottle.key).in_(list(keys)))).all()
    found: list[Refusal] = []
    for row in rows:
        if row.locked_until is not None and row.locked_until > now:
            found.append(Refusal(row.key, row.locked_until, locked=True))
        elif row.retry_at is not None and row.retry_at > now and not _forgotten(row, now=now, settings=settings):
            found.append(Refusal(row.key, row.retry_at, locked=False))
    return max(found, key=lambda r: r.until, default=None)


def _row_for_update(session: Session, key: str) -> LoginThrottle:
    """The key's row, created if missing, locked for this transaction (no lost increments)."""
    insert = sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert
    session.execute(insert(LoginThrottle).values(key=key, failures=0).on_conflict_do_nothing(index_elements=["key"]))
    row = session.exec(
        select(LoginThrottle)
        .where(col(LoginThrottle.key) == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def record_failure(
    *,
    session: Session,
    key: str,
    now: datetime,
    settings: LoginThrottleSettings,
    address: str | None,
) -> LoginThrottle:
    """Count one failed sign-in for ``key``; a new lock writes an audit event. Not committed."""
    row = _row_for_update(session, key)
    if _forgotten(row, now=now, settings=settings):
        row.failures = 0
        row.locked_until = None
        row.retry_at = None
    row.failures += 1
    row.last_failure_at = now
    free, lock_at = limits(key, settings)
    if row.failures >= lock_at:
        row.locked_until = now + timedelta(minutes=settings.lock_minutes)
        row.retry_at = row.locked_until
        session.add(
            AuditEvent(
                actor="system",
                action="signin_locked",
                detail={
                    "key": key,
                    "failures": row.failures,
                    "until": row.locked_until.isoformat(),
                    "last_address": address,
                },
                created_at=now,
            )
        )
    else:
        row.retry_at = now + timedelta(seconds=wait_after(row.failures, free=free, settings=settings))
    session.add(row)
    return row


def purge_forgotten(*, session: Session, now: datetime, settings: LoginThrottleSettings) -> int:
    """Delete counters whose failures no longer count: a guesser trying many made-up emails
    leaves one row each, and they must not pile up. Returns how many went."""
    cutoff = now - timedelta(minutes=settings.forget_after_minutes)
    result = session.execute(
        delete(LoginThrottle).where(
            col(LoginThrottle.last_failure_at) < cutoff,
            or_(col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) <= now),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def record_success(*, session: Session, key: str) -> None:
    """A right password clears the account's failures (address counters keep theirs)."""
    row = session.get(LoginThrottle, key)
    if row is not None:
        session.delete(row)


@dataclass(frozen=True)
class Lock:
    """A lock in force, as the admin page shows it."""

    key: str
    kind: str
    subject: str
    failures: int
    last_failure_at: datetime | None
    locked_until: datetime


def active_locks(*, session: Session, now: datetime) -> list[Lock]:
    rows = session.exec(
        select(LoginThrottle).where(col(LoginThrottle.locked_until) > now).order_by(col(LoginThrottle.locked_until))
    ).all()
    out = []
    for row in rows:
        assert row.locked_until is not None
        kind, _, subject = row.key.partition(":")
        out.append(Lock(row.key, kind, subject, row.failures, row.last_failure_at, row.locked_until))
    return out


def unlock(*, session: Session, key: str, actor: str, now: datetime) -> bool:
    """An admin lifts a lock (audited); False when the key holds no lock."""
    row = session.get(LoginThrottle, key)
    if row is None or row.locked_until is None or row.locked_until <= now:
        return False
    session.add(
        AuditEvent(
            actor=actor,
            action="signin_unlocked",
            detail={"key": key, "failures": row.failures, "was_locked_until": row.locked_until.isoformat()},
            created_at=now,
        )
    )
    session.delete(row)
    return True
