"""Sign-in throttling: growing waits, then a lock, per account and per client address.

The app reads a ``Clock`` the tests move, so no test sleeps through a wait or a lock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import select
from web_factories import PASSWORD, Browser, Clock, seed

from db.engine import session_scope
from db.models import AuditEvent, LoginThrottle
from engagement.settings import EngagementSettings, LoginThrottleSettings, WebSettings
from engagement.web import create_app
from engagement.web.throttle import wait_after


def _app(engine: Engine, clock: Clock, **limits: Any) -> FastAPI:
    web = WebSettings(login_throttle=LoginThrottleSettings(**limits))
    return create_app(engine, EngagementSettings(web=web), clock=clock)


def _guess(app: FastAPI, clock: Clock, email: str, password: str, *, address: str = "198.51.100.7") -> Any:
    """One attempt from a fresh browser at ``address``, a minute after the last one."""
    clock.advance(seconds=61)
    return Browser(app, address=address).try_login(email, password)


def test_waits_grow_from_the_free_failures_to_the_cap() -> None:
    limits = LoginThrottleSettings(first_delay_s=1, max_delay_s=60)
    assert [wait_after(n, free=3, settings=limits) for n in range(1, 12)] == [
        0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60,
    ]  # fmt: skip
    assert wait_after(10_000, free=3, settings=limits) == 60


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
def test_thirty_wrong_passwords_lock_the_account_until_the_lock_ends(engine: Engine) -> None:
    """Done-when of issue 18: the right password is refused until the lock ends."""
    seed(engine)
    clock = Clock()
    app = _app(engine, clock)
    statuses = [_guess(app, clock, "ana@example.com", f"guess-{n}").status_code for n in range(30)]
    # 10 wrong answers (a minute apart: every wait has passed), then the lock refuses the rest
    # until it ends (15 min), and the first failure after it locks again at once.
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert statuses.count(401) <= 12
    right = _guess(app, clock, "ana@example.com", PASSWORD)
    assert right.status_code == 429 and "Too many failed sign-ins" in right.text
    assert int(right.headers["retry-after"]) > 60
    with session_scope(engine) as session:
        row = session.get(LoginThrottle, "account:ana@example.com")
        assert row is not None and row.locked_until is not None and row.locked_until > clock.now
        until = row.locked_until
        locks = session.exec(select(AuditEvent).where(AuditEvent.action == "signin_locked")).all()
        assert locks and all(e.detail["key"] == "account:ana@example.com" for e in locks)
        assert locks[0].detail["failures"] == 10 and locks[0].detail["last_address"] == "198.51.100.7"
    clock.now = until - timedelta(seconds=1)
    assert Browser(app, address="198.51.100.7").try_login("ana@example.com", PASSWORD).status_code == 429
    clock.now = until  # the lock has ended
    assert Browser(app, address="198.51.100.7").try_login("ana@example.com", PASSWORD).status_code == 303
    with session_scope(engine) as session:  # a success clears the account's failures
        assert session.get(LoginThrottle, "account:ana@example.com") is None


def test_early_attempts_wait_and_the_wait_refuses_the_right_password(sqlite_engine: Engine, seeded: object) -> None:
    clock = Clock()
    app = _app(sqlite_engine, clock)
    browser = Browser(app)
    assert [browser.try_login("ben@example.com", "nope").status_code for _ in range(3)] == [401] * 3
    waiting = browser.try_login("ben@example.com", PASSWORD)
    assert waiting.status_code == 429 and waiting.headers["retry-after"] == "1"
    clock.advance(seconds=1)
    assert browser.try_login("ben@example.com", "nope").status_code == 401  # failure 4: wait 2 s
    clock.advance(seconds=1)
    assert browser.try_login("ben@example.com", PASSWORD).status_code == 429
    clock.advance(seconds=1)
    assert browser.try_login("ben@example.com", PASSWORD).status_code == 303


def test_the_answers_never_tell_whether_an_account_exists(sqlite_engine: Engine, seeded: object) -> None:
    clock = Clock()
    app = _app(sqlite_engine, clock)

    def run(email: str, address: str) -> list[tuple[int, str, str | None]]:
        out = []
        for n in range(14):
            if n % 3 == 0:
                clock.advance(seconds=61)
            answer = Browser(app, address=address).try_login(email, f"wrong-{n}")
            message = answer.text.split('role="alert">')[1].split("<")[0] if 'role="alert">' in answer.text else ""
            out.append((answer.status_code, message, answer.headers.get("retry-after")))
        return out

    real = run("ana@example.com", "192.0.2.1")
    made_up = run("nobody-here@example.com", "192.0.2.2")
    assert real == made_up
    assert {status for status, _, _ in real} == {401, 429}
    with session_scope(sqlite_engine) as session:
        counts = [session.get(LoginThrottle, f"account:{e}") for e in ("ana@example.com", "nobody-here@example.com")]
        assert counts[0] is not None and counts[1] is not None and counts[0].failures == counts[1].failures > 3


def test_one_address_guessing_many_emails_is_slowed_then_locked(sqlite_engine: Engine, seeded: object) -> None:
    clock = Clock()
    app = _app(sqlite_engine, clock, address_free_failures=3, address_lock_failures=6, account_lock_failures=100)
    emails = [f"user{n}@example.com" for n in range(8)]
    statuses = [_guess(app, clock, email, "123456", address="203.0.113.9").status_code for email in emails]
    assert statuses == [401] * 6 + [429] * 2
    # the lock is on the address: the same person elsewhere signs in, this address cannot
    assert _guess(app, clock, "ana@example.com", PASSWORD, address="203.0.113.9").status_code == 429
    assert _guess(app, clock, "ana@example.com", PASSWORD, address="203.0.113.10").status_code == 303


def test_admins_see_locks_and_can_lift_them(sqlite_engine: Engine, seeded: object) -> None:
    clock = Clock()
    app = _app(sqlite_engine, clock)
    for n in range(10):
        _guess(app, clock, "ben@example.com", f"guess-{n}")
    assert _guess(app, clock, "ben@example.com", PASSWORD).status_code == 429
    admin = Browser(app, address="10.1.1.1").login("adam@example.com")
    assert "1 locked" in admin.get("/settings").text
    page = admin.get("/admin/security")
    assert page.status_code == 200 and "ben@example.com" in page.text and "Signin locked" in page.text
    lead = Browser(app, address="10.1.1.2").login("lea@example.com")
    assert lead.get("/admin/security").status_code == 403
    assert lead.post("/admin/security/unlock", {"key": "account:ben@example.com"}).status_code == 403
    assert admin.post("/admin/security/unlock", {"key": "account:ben@example.com"}).status_code == 303
    assert _guess(app, clock, "ben@example.com", PASSWORD).status_code == 303
    with session_scope(sqlite_engine) as session:
        unlocked = session.exec(select(AuditEvent).where(AuditEvent.action == "signin_unlocked")).one()
        assert unlocked.actor == "Adam" and unlocked.detail["key"] == "account:ben@example.com"


def test_failures_are_forgotten_after_a_quiet_hour(sqlite_engine: Engine, seeded: object) -> None:
    clock = Clock()
    app = _app(sqlite_engine, clock, account_lock_failures=4)
    for n in range(3):
        _guess(app, clock, "otto@example.com", f"guess-{n}")
        _guess(app, clock, f"made-up-{n}@example.com", "123456")
    clock.advance(minutes=61)
    for n in range(3):  # three more, an hour later: a fresh count, no lock
        assert _guess(app, clock, "otto@example.com", f"again-{n}").status_code == 401
    assert _guess(app, clock, "otto@example.com", PASSWORD).status_code == 303
    with session_scope(sqlite_engine) as session:  # forgotten counters were deleted, not kept
        keys = {row.key for row in session.exec(select(LoginThrottle)).all()}
    assert not any(key.startswith("account:made-up-") for key in keys)
