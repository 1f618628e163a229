"""Telling the people a note @mentions: a Slack direct message at once, and an in-app notice.

Why a DM and why now: a mention is meant for one person, so it never goes to a team's public
channel, and it should not wait for the next scheduled ``notify`` run. The message enters through
the outbox's one front door (``engagement.notify.enqueue``: deduped per note and person) and is
marked urgent (no quiet hours: the writer is waiting for an answer). Everyone mentioned also gets
an in-app notice on their next page (``notify.notices``): the only way a person without a Slack
member id hears of it, and a second chance for those who have one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from db.engine import session_scope
from engagement.actors import Actor
from engagement.links import Links
from engagement.notify.notices import notify_in_app
from engagement.notify.outbox import enqueue
from engagement.queue.notes import NoteAdded
from engagement.settings import EngagementSettings
from engagement.slack_text import escape, link


def tell_mentioned(
    engine: Engine, note: NoteAdded, *, actor: Actor, settings: EngagementSettings, now: datetime
) -> int:
    """Queue an in-app notice for each mentioned person and a direct message for each who has a
    Slack member id; return how many Slack messages were queued."""
    where = link(Links.from_settings(settings).case(note.case_id), f"case {note.case_id}")
    text = f"{escape(actor.name)} mentioned you on {where}: {escape(note.text, limit=300)}"
    plain = f"{actor.name} mentioned you on case {note.case_id}: {note.text[:300]}"
    queued = 0
    with session_scope(engine, write=True) as session:
        for user_id, name, slack_id in note.people:
            notify_in_app(session, user_id=user_id, key=f"mention:{note.note_id}", text=plain, now=now,
                          slack=settings.slack, case_id=note.case_id)  # fmt: skip
            if not slack_id:
                continue
            row = enqueue(session, kind="mention", key=f"mention:{note.note_id}:{name}", case_id=note.case_id,
                          payload={"channel": slack_id, "text": text}, now=now, slack=settings.slack,
                          urgent=True)  # fmt: skip
            queued += row is not None
    return queued
