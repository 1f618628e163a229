"""One-time sign-in links: how a person added without a password gets in.

``users add`` in a script (no terminal to ask a password on) used to print "Aborted." and add
nobody. An admin adding a colleague should not have to invent and send a password either. So
such a person is added with an unusable password and an invite: a random token in a link,
shown once to whoever added them. The database keeps only the token's SHA-256 (a leaked table
row cannot be used), the link works once and expires after 72 hours; opening
it lets the person choose a password and signs them in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select, update

from db.models import Invite, User
from db.types import utcnow
from engagement.errors import BadInput, NotFound
from engagement.users import set_password

INVITE_HOURS = 72.0


class InviteError(NotFound):
    """The link is unknown, used or expired: the same answer for each, so a guessed token
    learns nothing."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def unusable_password() -> str:
    """A password nobody knows, for a person who will choose theirs through an invite."""
    return secrets.token_urlsafe(32)


def create_invite(
    session: Session, user: User, *, created_by: str | None = None, hours: float = INVITE_HOURS,
    now: datetime | None = None,
) -> str:  # fmt: skip
    """A new sign-in token for ``user`` (earlier unused invites of theirs stop working)."""
    now = now or utcnow()
    assert user.id is not None
    session.execute(
        update(Invite).where(col(Invite.user_id) == user.id, col(Invite.used_at).is_(None)).values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        Invite(
            token_hash=_hash(token),
            user_id=user.id,
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def invite_link(public_url: str, token: str) -> str:
    """The link to hand over: ``{public_url}/invite/{token}``."""
    return f"{public_url.rstrip('/')}/invite/{token}"


def open_invite(session: Session, token: str, *, now: datetime | None = None) -> tuple[Invite, User]:
    """The live invite behind ``token`` and its person, or ``InviteError``."""
    now = now or utcnow()
    invite = session.exec(select(Invite).where(col(Invite.token_hash) == _hash(token))).first()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        raise InviteError("this sign-in link is not valid: it was used, it expired, or it was replaced")
    user = session.get(User, invite.user_id)
    if user is None or getattr(user, "deactivated_at", None) is not None:
        raise InviteError("this sign-in link is not valid: it was used, it expired, or it was replaced")
    return invite, user


def redeem_invite(session: Session, token: str, *, password: str, confirm: str, now: datetime | None = None) -> User:
    """Set the person's password through their invite and use it up; returns the person."""
    now = now or utcnow()
    invite, user = open_invite(session, token, now=now)
    if password != confirm:
        raise BadInput("the two passwords differ")
    set_password(session=session, user=user, password=password)
    invite.used_at = now
    session.add(invite)
    session.flush()
    return user
