"""Internal notes on a case, and who they @mention.

A note is for colleagues, never posted to the platform. ``@name`` or ``@email`` of an engagebot
user in it is recorded with the note; telling that person is the note command's job
(``engagement.commands``: a Slack direct message through the outbox, at once). Mentions of
unknown names are left as text and reported back, so the writer can fix a typo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from db.engine import session_scope
from db.models import CaseNote, User
from db.types import utcnow
from engagement.actors import Actor, find_user
from engagement.queue.policy import Action, authorize
from engagement.queue.state import QueueError, audit, lock_case
from engagement.settings import EngagementSettings

MAX_NOTE = 5000
#: ``@ana`` or ``@ana@example.com``, not the middle of an email address (``bob@x.com``)
MENTION = re.compile(r"(?<![\w@.])@([\w.+-]*\w(?:@[\w-]+(?:\.[\w-]+)+)?)", re.UNICODE)


@dataclass(frozen=True)
class NoteAdded:
    """The note, who was notified and which @names matched nobody."""

    note_id: int
    case_id: int
    mentioned: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    text: str = ""
    people: list[tuple[int, str, str | None]] = field(default_factory=list)  # (user id, name, Slack member id)


def mentions_in(text: str) -> list[str]:
    """The @-names of a note, in order, each once."""
    return list(dict.fromkeys(MENTION.findall(text)))


def add_note(
    engine: Engine,
    case_id: int,
    *,
    actor: Actor,
    text: str,
    settings: EngagementSettings,
    now: datetime | None = None,
) -> NoteAdded:
    """Add an internal note to a case (audited) and queue a Slack message per @mentioned user."""
    now = now or utcnow()
    text = text.strip()
    if not text:
        raise QueueError("a note needs some text")
    if len(text) > MAX_NOTE:
        raise QueueError(f"a note holds at most {MAX_NOTE} characters (this one has {len(text)})")
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.NOTE, case, now)
        people: dict[str, User] = {}
        unknown: list[str] = []
        for name in mentions_in(text):
            user = find_user(session, name)
            if user is None:
                unknown.append(name)
            elif user.name not in people:
                people[user.name] = user
        note = CaseNote(case_id=case_id, author=actor.name, text=text, mentions=sorted(people), created_at=now)
        session.add(note)
        session.flush()
        audit(session, case_id=case_id, actor=actor.name, action="noted", now=now, note_id=note.id,
              mentions=sorted(people))  # fmt: skip
        assert note.id is not None
        return NoteAdded(note_id=note.id, case_id=case_id, mentioned=sorted(people), unknown=unknown, text=text,
                         people=[(u.id or 0, u.name, u.slack_user_id) for u in people.values()])  # fmt: skip


def case_notes(session: Session, case_id: int) -> list[CaseNote]:
    """A case's notes, oldest first."""
    return list(session.exec(select(CaseNote).where(col(CaseNote.case_id) == case_id).order_by(col(CaseNote.id))).all())
