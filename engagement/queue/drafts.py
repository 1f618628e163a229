"""Reply drafts kept on the server per case and person, so no conflict, reload or Esc loses them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, delete, select

from db.models import ReplyDraft
from db.types import utcnow
from db.upsert import upsert
from engagement.errors import BadInput

DRAFT_MAX = 10_000


def load_draft(session: Session, *, case_id: int, user_name: str) -> ReplyDraft | None:
    """The person's saved draft on the case, if any."""
    return session.exec(
        select(ReplyDraft).where(col(ReplyDraft.case_id) == case_id, col(ReplyDraft.user_name) == user_name)
    ).first()


def save_draft(session: Session, *, case_id: int, user_name: str, text: str, now: datetime | None = None) -> bool:
    """Keep ``text`` as the person's draft (the caller commits); empty text removes the draft.

    One upsert on (case, person): a debounced save and the page's last save as it closes may
    arrive together, and the later one wins without a unique-key error. True when a draft is kept.
    """
    if len(text) > DRAFT_MAX:
        raise BadInput(f"a draft holds at most {DRAFT_MAX:,} characters")
    if not text.strip():
        discard_draft(session, case_id=case_id, user_name=user_name)
        return False
    now = now or utcnow()
    statement = upsert(session, ReplyDraft).values(case_id=case_id, user_name=user_name, text=text, updated_at=now)
    session.execute(
        statement.on_conflict_do_update(index_elements=["case_id", "user_name"], set_={"text": text, "updated_at": now})
    )
    return True


def discard_draft(session: Session, *, case_id: int, user_name: str) -> None:
    """Drop the draft once its reply went out (the caller commits)."""
    session.exec(delete(ReplyDraft).where(col(ReplyDraft.case_id) == case_id, col(ReplyDraft.user_name) == user_name))
