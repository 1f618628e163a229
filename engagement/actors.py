"""Who is acting: every surface (web, API, CLI, Slack) turns its person into an ``Actor`` here.

Why: the permission policy (``engagement.queue.policy``) judges roles, so the person must be a
real engagebot user with a role and a team. A made-up ``--agent nobody`` or an unknown Slack
member must be refused, not become a new holder of a case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from db.models import User
from db.vocab import LEAD_ROLES
from engagement.errors import BadInput, EngagebotError


@dataclass(frozen=True)
class Actor:
    """A person acting through any surface: always a real engagebot user."""

    name: str
    role: str
    team: str | None = None
    email: str | None = None

    @property
    def is_lead(self) -> bool:
        return self.role in LEAD_ROLES


class UnknownPerson(EngagebotError, LookupError):
    """No engagebot user matches the name, email or Slack id given (HTTP 400: the person named
    someone who is not there, in a form or a command)."""

    status_code = 400


def actor_for(user: User) -> Actor:
    """The ``Actor`` of a signed-in user."""
    return Actor(name=user.name, role=user.role, team=user.team, email=user.email)


def find_user(session: Session, who: str) -> User | None:
    """A user by email or by name (both case-insensitive)."""
    key = who.strip().lower()
    if not key:
        return None
    return session.exec(
        select(User).where((func.lower(User.email) == key) | (func.lower(User.name) == key)).order_by(col(User.id))
    ).first()


def resolve_actor(session: Session, who: str) -> Actor:
    """The ``Actor`` for a CLI ``--agent`` value: an existing user's name or email, else
    ``UnknownPerson`` saying how to add one."""
    user = find_user(session, who)
    if user is None:
        raise UnknownPerson(
            f"no engagebot user {who!r}: name an existing user (engagebot users list) or add one "
            "(engagebot users add EMAIL --name NAME --role agent --team TEAM)"
        )
    return actor_for(user)


def link_slack(session: Session, user: User, slack_user_id: str | None) -> None:
    """Store (or clear) a user's Slack member id; one engagebot user per Slack member."""
    if slack_user_id is not None:
        slack_user_id = slack_user_id.strip()
        if not re.fullmatch(r"[UW][A-Z0-9]{2,31}", slack_user_id):
            raise BadInput(f"{slack_user_id!r} is not a Slack member id (like U024BE7LH)")
        taken = session.exec(select(User).where(User.slack_user_id == slack_user_id, User.id != user.id)).first()
        if taken is not None:
            raise BadInput(f"Slack member {slack_user_id} is already linked to {taken.email}")
    user.slack_user_id = slack_user_id
    session.add(user)
    session.flush()


def slack_actor(session: Session, slack_user_id: str, user_map: Mapping[str, str]) -> Actor | None:
    """The engagebot user behind a Slack member: by their stored Slack id, else by the
    ``[engagement.slack] user_map`` entry (Slack id -> email or name). None for anyone else."""
    if not slack_user_id:
        return None
    user = session.exec(select(User).where(User.slack_user_id == slack_user_id)).first()
    if user is None and slack_user_id in user_map:
        user = find_user(session, user_map[slack_user_id])
    return actor_for(user) if user is not None else None
