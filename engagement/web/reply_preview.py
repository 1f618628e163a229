"""The live preview under the reply box: the text as it will be sent, its length and the limit."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session

from db.models import Case
from engagement.queue import templates
from engagement.queue.limits import check_length
from engagement.settings import ReplySettings


@dataclass(frozen=True)
class ReplyPreview:
    """What the preview shows; ``error`` says why Send would be refused (``variable`` names it)."""

    text: str
    length: int
    limit: int | None
    unit: str
    ok: bool
    error: str | None = None
    variable: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def preview_reply(session: Session, case: Case, *, text: str, agent: str, settings: ReplySettings) -> ReplyPreview:
    """Fill the variables and count the result the way the case's platform counts it."""
    values = templates.case_variables(session, case, agent=agent, settings=settings)
    try:
        filled = templates.fill(text, values)
    except templates.UnknownVariable as exc:
        check = check_length(case.platform, text)
        return ReplyPreview(
            text=text,
            length=check.length,
            limit=check.limit,
            unit=check.unit,
            ok=False,
            error=str(exc),
            variable=exc.variable,
        )
    check = check_length(case.platform, filled.strip())
    error = None
    if not check.ok:
        error = f"{check.over_by:,} over the {check.platform} limit of {check.limit:,} {check.unit}"
    return ReplyPreview(text=filled, length=check.length, limit=check.limit, unit=check.unit, ok=check.ok, error=error)
