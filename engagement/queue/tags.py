"""Tags on cases: short labels people add and remove to find and group cases ("refund", "press").

Tags are lower-case words (letters, digits, ``-`` and ``_``, at most 64 characters), so
``Refund`` and ``refund`` are one tag and the queue's tag filter is an exact look-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from db.engine import session_scope
from db.models import CaseTag
from db.types import utcnow
from engagement.actors import Actor
from engagement.queue.policy import Action, authorize
from engagement.queue.state import QueueError, audit, lock_case

TAG = re.compile(r"^[\w-]{1,64}$", re.UNICODE)


def clean_tag(tag: str) -> str:
    """The stored form of a tag, or ``QueueError`` saying what a tag may hold."""
    cleaned = tag.strip().lstrip("#").lower()
    if not TAG.match(cleaned):
        raise QueueError(f"tag {tag!r}: use one word of letters, digits, '-' or '_' (at most 64)")
    return cleaned


def tag_case(
    engine: Engine, case_id: int, *, actor: Actor, add: Sequence[str] = (), remove: Sequence[str] = (),
    now: datetime | None = None,
) -> list[str]:  # fmt: skip
    """Add and remove tags on a case (each change audited); returns the case's tags after."""
    now = now or utcnow()
    adding = [clean_tag(t) for t in add]
    removing = [clean_tag(t) for t in remove]
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.TAG, case, now)
        current = set(tags_of(session, case_id))
        for tag in dict.fromkeys(adding):
            if tag not in current:
                session.add(CaseTag(case_id=case_id, tag=tag))
                current.add(tag)
                audit(session, case_id=case_id, actor=actor.name, action="tagged", now=now, tag=tag)
        for tag in dict.fromkeys(removing):
            row = session.get(CaseTag, (case_id, tag))
            if row is not None:
                session.delete(row)
                current.discard(tag)
                audit(session, case_id=case_id, actor=actor.name, action="untagged", now=now, tag=tag)
        return sorted(current)


def tags_of(session: Session, case_id: int) -> list[str]:
    """A case's tags, alphabetical."""
    return list(
        session.exec(select(CaseTag.tag).where(col(CaseTag.case_id) == case_id).order_by(col(CaseTag.tag))).all()
    )
