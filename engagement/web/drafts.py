"""Reply drafts kept on the server per case and person, so no conflict, reload or Esc loses them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from db.models import ReplyDraft
from db.types import utcnow

DRAFT_MAX = 10_000


def load_draft(session: Session, *, case_id: int, user_name: str) -> ReplyDraft | None:
    """The person's saved draft on the case, if any."""
    return session.exec(
        select(ReplyDraft).where(col(ReplyDraft.case_id) == case_id, col(ReplyDraft.user_name) == user_name)
    ).first()


def save_draft(
    session: Session, *, case_id: int, user_name: str, text: str, now: datetime | None = None
) -> ReplyDraft | None:
    """Keep ``text`` as the person's draft (the caller commits); empty text removes the draft."""
    if len(text) > DRAFT_MAX:
        raise ValueError(f"a draft holds at most {DRAFT_MAX:,} characters")
    row = load_draft(session, case_id=case_id, user_name=user_name)
    if not text.strip():
        if row is not None:
            session.delete(row)
        return None
    if row is None:
        row = ReplyDraft(case_id=case_id, user_name=user_name)
    row.text = text
    row.updated_at = now or utcnow()
    session.add(row)
    return row


def discard_draft(session: Session, *, case_id: int, user_name: str) -> None:
    """Drop the draft once its reply went out (the caller commits)."""
    row = load_draft(session, case_id=case_id, user_name=user_name)
    if row is not None:
        session.delete(row)
