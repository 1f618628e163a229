"""People who work the queue: create them, hash and verify their passwords (argon2)."""

from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from db.models import User, WebSession
from db.types import utcnow
from db.vocab import ROLES
from engagement.errors import BadInput

MIN_PASSWORD_LENGTH = 8
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEAM = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

# argon2id with the library's defaults (RFC 9106 low-memory profile): slow enough to resist
# guessing, fast enough (~50 ms) for a login form.
_hasher = PasswordHasher()
# A real hash to verify against when the email is unknown, so a failed login takes the same
# time whether or not the account exists (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("engagebot-no-such-user")


class UserError(BadInput):
    """Bad input for a user (email, role, team, password): the message says which and why."""


def hash_password(password: str) -> str:
    """Hash a password with argon2id; the hash carries its own salt and parameters."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; never raises on a bad hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def validate_user_fields(*, email: str, name: str, role: str, team: str, password: str) -> None:
    """Raise ``UserError`` naming the first bad field."""
    if not _EMAIL.match(normalise_email(email)):
        raise UserError(f"invalid email address: {email!r}")
    if not name.strip():
        raise UserError("name must not be empty")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if not _TEAM.match(team):
        raise UserError(f"invalid team {team!r}: letters, digits, '.', '_' or '-', at most 64")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")


def get_user_by_email(*, session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def create_user(
    *,
    session: Session,
    email: str,
    name: str,
    password: str,
    role: str = "agent",
    team: str = "default",
) -> User:
    """Add a user (not committed: the caller owns the transaction). Refuses a taken email."""
    validate_user_fields(email=email, name=name, role=role, team=team, password=password)
    if get_user_by_email(session=session, email=email) is not None:
        raise UserError(f"a user with email {normalise_email(email)!r} already exists")
    # The name is the agent's identity on cases (claimed_by, assignee), so it must be unique.
    taken = session.exec(select(User).where(func.lower(User.name) == name.strip().lower())).first()
    if taken is not None:
        raise UserError(f"a user named {name.strip()!r} already exists ({taken.email})")
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        team=team,
    )
    session.add(user)
    session.flush()
    return user


def set_password(*, session: Session, user: User, password: str, keep_session_id: int | None = None) -> int:
    """Change a user's password and end their sign-ins; returns how many web sessions ended.

    A new password means the old one may be known to someone else, so every web session ends
    at once (but ``keep_session_id``, the one that made the change) and every API token too:
    tokens carry a stamp of the password hash.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    session.add(user)
    assert user.id is not None
    return end_sessions(session=session, user_id=user.id, reason="password", keep_session_id=keep_session_id)


def end_sessions(
    *,
    session: Session,
    user_id: int,
    reason: str,
    keep_session_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Revoke a user's live web sessions (all, or all but one); returns how many ended."""
    statement = (
        update(WebSession)
        .where(col(WebSession.user_id) == user_id, col(WebSession.revoked_at).is_(None))
        .values(revoked_at=now or utcnow(), revoked_reason=reason[:64])
    )
    if keep_session_id is not None:
        statement = statement.where(col(WebSession.id) != keep_session_id)
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """The user with this email and password, or None (same work either way)."""
    user = get_user_by_email(session=session, email=email)
    if user is None or user.deactivated_at is not None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.team, User.role, User.name)).all())


def deactivate_user(*, session: Session, user: User, now: datetime | None = None) -> int:
    """Take someone off the app: no sign-in, no new cases, every web session ended at once
    (returns how many). Their name stays on the cases they worked, so the history reads true."""
    now = now or utcnow()
    user.deactivated_at = now
    user.is_away = True
    session.add(user)
    assert user.id is not None
    return end_sessions(session=session, user_id=user.id, reason="deactivated", now=now)


def reactivate_user(*, session: Session, user: User) -> None:
    """Let a deactivated person sign in again (with the password they had, or an invite)."""
    user.deactivated_at = None
    user.is_away = False
    session.add(user)
