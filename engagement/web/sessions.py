"""Server-side web sessions: start one at sign-in, find the live one behind a cookie, end them.

The signed cookie (Starlette's ``SessionMiddleware``) carries only a random session id (plus
the CSRF token and flash messages); the database holds the id's SHA-256, the user, and the
session's clock. A session is live while it is not revoked, younger than the absolute
lifetime and used within the idle timeout, so logout, a password change or an admin's revoke
end it at once, even for a copy of the cookie. Functions take the caller's ``Session`` and
do not commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from db.models import User, WebSession
from engagement.settings import WebSettings

# Seeing a session again within this long does not rewrite last_seen_at: the queue page polls
# every few seconds, and a write per poll would be a write per agent every few seconds.
TOUCH_EVERY = timedelta(seconds=60)
KEEP_ENDED = timedelta(days=30)


def token_hash(raw_id: str) -> str:
    """What the database keeps of a session id: a leaked table row cannot be replayed as a cookie."""
    return hashlib.sha256(raw_id.encode()).hexdigest()


def start(
    *,
    session: Session,
    user_id: int,
    now: datetime,
    settings: WebSettings,
    client_address: str | None,
    user_agent: str | None,
) -> tuple[str, WebSession]:
    """A new session for a user who just signed in: ``(raw id for the cookie, its row)``."""
    # Ended sessions are kept a while (the account and admin pages' history), then dropped.
    session.execute(
        delete(WebSession).where(col(WebSession.user_id) == user_id, col(WebSession.expires_at) < now - KEEP_ENDED)
    )
    raw_id = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=token_hash(raw_id),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.session_max_age_s),
        client_address=(client_address or "")[:64] or None,
        user_agent=(user_agent or "")[:255] or None,
    )
    session.add(row)
    session.flush()
    return raw_id, row


def is_live(row: WebSession, *, now: datetime, settings: WebSettings) -> bool:
    """Not revoked, within its absolute lifetime and used within the idle timeout."""
    idle_limit = row.last_seen_at + timedelta(seconds=settings.session_idle_timeout_s)
    return row.revoked_at is None and now < row.expires_at and now < idle_limit


def resolve(*, session: Session, raw_id: str, now: datetime, settings: WebSettings) -> WebSession | None:
    """The live session behind a cookie's id (its last use noted), or None."""
    row = session.exec(select(WebSession).where(col(WebSession.token_hash) == token_hash(raw_id))).first()
    if row is None or not is_live(row, now=now, settings=settings):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return row


def revoke(*, session: Session, row: WebSession, now: datetime, reason: str) -> None:
    """End one session (idempotent: an ended one keeps its first reason)."""
    if row.revoked_at is None:
        row.revoked_at = now
        row.revoked_reason = reason[:64]
        session.add(row)


def revoke_raw(*, session: Session, raw_id: str, now: datetime, reason: str) -> None:
    """End the session behind a cookie's id, if there is one (logout)."""
    row = session.exec(select(WebSession).where(col(WebSession.token_hash) == token_hash(raw_id))).first()
    if row is not None:
        revoke(session=session, row=row, now=now, reason=reason)


@dataclass(frozen=True)
class ActiveSession:
    """A live session as the account and admin pages show it (never its id or hash)."""

    id: int
    user_id: int
    user_name: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    idle_expires_at: datetime
    client_address: str | None
    user_agent: str | None


def active(
    *, session: Session, now: datetime, settings: WebSettings, user_id: int | None = None
) -> list[ActiveSession]:
    """Live sessions, newest first: one user's (the account page) or everyone's (admins)."""
    idle = timedelta(seconds=settings.session_idle_timeout_s)
    query = (
        select(WebSession, User.name)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(
            col(WebSession.revoked_at).is_(None),
            col(WebSession.expires_at) > now,
            col(WebSession.last_seen_at) > now - idle,
        )
        .order_by(col(WebSession.last_seen_at).desc(), col(WebSession.id).desc())
    )
    if user_id is not None:
        query = query.where(col(WebSession.user_id) == user_id)
    out = []
    for row, name in session.exec(query).all():
        assert row.id is not None
        out.append(
            ActiveSession(
                id=row.id,
                user_id=row.user_id,
                user_name=name,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                expires_at=row.expires_at,
                idle_expires_at=min(row.expires_at, row.last_seen_at + idle),
                client_address=row.client_address,
                user_agent=row.user_agent,
            )
        )
    return out
