"""Internal notes on a case, and @mentions that tell the person in Slack.

A note is for colleagues, never posted to the platform. ``@name`` or ``@email`` of an engagebot
user in it queues one Slack message per mentioned person through the outbox (deduped per note
and person, delivered by ``engagebot notify`` like every other message): a direct message when
the user has a Slack id, else their team's channel with their name in front. Mentions of
unknown names are left as text and reported back, so the writer can fix a typo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from db.engine import session_scope
from db.models import CaseNote, Outbox, User
from db.types import utcnow
from engagement.actors import find_user
from engagement.links import Links
from engagement.queue.policy import Action, Actor, authorize
from engagement.queue.state import QueueError, audit, lock_case
from engagement.settings import EngagementSettings
from engagement.slack_text import escape, link

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


def mentions_in(text: str) -> list[str]:
    """The @-names of a note, in order, each once."""
    return list(dict.fromkeys(MENTION.findall(text)))


def _mention_message(note: CaseNote, user: User, actor: Actor, settings: EngagementSettings) -> Outbox:
    slack = settings.slack
    where = link(Links.from_settings(settings).case(note.case_id), f"case {note.case_id}")
    if user.slack_user_id:
        channel, greeting = user.slack_user_id, ""
    else:
        channel = slack.team_channels.get(user.team, slack.default_channel)
        greeting = f"{escape(user.name)}: "
    text = (
        f"{greeting}{escape(actor.name)} mentioned you on {where}: "
        f"{escape(note.text, limit=300)}"
    )
    return Outbox(
        channel="slack",
        kind="mention",
        dedupe_key=f"mention:{note.id}:{user.id}",
        case_id=note.case_id,
        payload={"channel": channel, "text": text},
        next_attempt_at=note.created_at,
        created_at=note.created_at,
    )


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
        for user in people.values():
            try:
                with session.begin_nested():
                    session.add(_mention_message(note, user, actor, settings))
            except IntegrityError:  # the same note re-sent: its messages are queued already
                continue
        audit(session, case_id=case_id, actor=actor.name, action="noted", now=now, note_id=note.id,
              mentions=sorted(people))  # fmt: skip
        assert note.id is not None
        return NoteAdded(note_id=note.id, case_id=case_id, mentioned=sorted(people), unknown=unknown)


def case_notes(session: Session, case_id: int) -> list[CaseNote]:
    """A case's notes, oldest first."""
    return list(
        session.exec(select(CaseNote).where(col(CaseNote.case_id) == case_id).order_by(col(CaseNote.id))).all()
    )
