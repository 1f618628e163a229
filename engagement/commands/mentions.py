"""Telling the people a note @mentions: a Slack direct message, at once, through the outbox.

Why a DM and why now: a mention is meant for one person, so it never goes to a team's public
channel, and it should not wait for the next scheduled ``notify`` run. The message enters through
the outbox's one front door (``engagement.notify.enqueue``: deduped per note and person) and is
marked urgent (no quiet hours: the writer is waiting for an answer). A person without a Slack
member id sees the note on the case page, where mentions of them are highlighted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from db.engine import session_scope
from engagement.actors import Actor
from engagement.links import Links
from engagement.notify.outbox import enqueue
from engagement.queue.notes import NoteAdded
from engagement.settings import EngagementSettings
from engagement.slack_text import escape, link


def tell_mentioned(
    engine: Engine, note: NoteAdded, *, actor: Actor, settings: EngagementSettings, now: datetime
) -> int:
    """Queue one direct message per mentioned person who has a Slack member id; return how many."""
    where = link(Links.from_settings(settings).case(note.case_id), f"case {note.case_id}")
    text = f"{escape(actor.name)} mentioned you on {where}: {escape(note.text, limit=300)}"
    queued = 0
    with session_scope(engine, write=True) as session:
        for name, slack_id in note.people:
            if not slack_id:
                continue
            row = enqueue(session, kind="mention", key=f"mention:{note.note_id}:{name}", case_id=note.case_id,
                          payload={"channel": slack_id, "text": text}, now=now, slack=settings.slack,
                          urgent=True)  # fmt: skip
            queued += row is not None
    return queued
