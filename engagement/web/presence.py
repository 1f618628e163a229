"""Who else is on a case page right now: heartbeats per case and person that expire after ~30 s.

The case page sends a heartbeat every few seconds saying ``viewing`` or ``replying`` (text in
the reply box). A row not refreshed within ``PRESENCE_TTL`` means the person left; stale rows
are ignored on read and pruned on the next write, so no sweeper is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from db.models import CasePresence
from db.types import utcnow
from db.upsert import upsert
from engagement.errors import BadInput

PRESENCE_TTL = timedelta(seconds=30)
ACTIVITIES = ("viewing", "replying")


@dataclass(frozen=True)
class Presence:
    """One other person on the case page, and what they are doing there."""

    user_name: str
    activity: str
    seen_at: datetime

    @property
    def sentence(self) -> str:
        return f"{self.user_name} is {self.activity}"


def heartbeat(session: Session, *, case_id: int, user_name: str, activity: str, now: datetime | None = None) -> None:
    """Record that ``user_name`` is on the case now (the caller commits); prunes stale rows.

    One upsert on (case, person), so two tabs of the same person beating at once never clash.
    """
    if activity not in ACTIVITIES:
        raise BadInput(f"activity must be one of {', '.join(ACTIVITIES)}, not {activity!r}")
    now = now or utcnow()
    session.exec(delete(CasePresence).where(col(CasePresence.seen_at) < now - PRESENCE_TTL))
    statement = upsert(session, CasePresence).values(
        case_id=case_id, user_name=user_name, activity=activity, seen_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["case_id", "user_name"], set_={"activity": activity, "seen_at": now}
        )
    )


def leave(session: Session, *, case_id: int, user_name: str) -> None:
    """Forget the person's presence on the case (they closed the page; the caller commits)."""
    session.exec(
        delete(CasePresence).where(col(CasePresence.case_id) == case_id, col(CasePresence.user_name) == user_name)
    )


def present(
    session: Session, *, case_id: int, besides: str | None = None, now: datetime | None = None
) -> list[Presence]:
    """The people on the case page within the last ``PRESENCE_TTL``, replying ones first."""
    now = now or utcnow()
    query = select(CasePresence).where(
        col(CasePresence.case_id) == case_id, col(CasePresence.seen_at) >= now - PRESENCE_TTL
    )
    if besides is not None:
        query = query.where(col(CasePresence.user_name) != besides)
    rows = session.exec(query).all()
    people = [Presence(user_name=r.user_name, activity=r.activity, seen_at=r.seen_at) for r in rows]
    return sorted(people, key=lambda p: (p.activity != "replying", p.user_name))
