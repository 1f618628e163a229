"""Sign-in state kept on the server: web sessions (revocable) and failed sign-in counters."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from db.types import utc_column, utcnow


class WebSession(SQLModel, table=True):
    """One signed-in browser: the cookie carries a random id, this row holds only its SHA-256.

    A session is live while ``revoked_at`` is empty, ``expires_at`` (the absolute lifetime) is
    ahead and ``last_seen_at`` is within the idle timeout. Logout, a password change and an
    admin's revoke set ``revoked_at``, so a copied cookie stops working at once.
    """

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, description="hex SHA-256 of the cookie's session id")
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    expires_at: datetime = Field(sa_column=utc_column(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column())
    revoked_reason: str | None = Field(default=None, max_length=64, description="logout | password | admin | ...")
    client_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=255)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins for one key (``account:<email>`` or ``address:<ip>``), and its lock.

    Keyed by the email as typed (normalised), whether or not such an account exists, so the
    throttle's answers never tell a guesser which emails are real.
    """

    __tablename__ = "login_throttles"

    key: str = Field(primary_key=True, max_length=300)
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_column=utc_column())
    retry_at: datetime | None = Field(default=None, sa_column=utc_column(), description="no attempt before this")
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(index=True))


class Invite(SQLModel, table=True):
    """A one-time sign-in link for a person added without a password (``users add`` with no
    terminal, the admin's People page): the link carries a random token, this row only its
    SHA-256, so a leaked table cannot be used to sign in. Used once, then dead; dead after
    ``expires_at`` too."""

    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, description="hex SHA-256 of the link's token")
    user_id: int = Field(foreign_key="users.id", index=True)
    created_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    expires_at: datetime = Field(sa_column=utc_column(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=utc_column())
