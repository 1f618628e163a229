"""Moderation: hiding a Facebook comment from the case it opened.

Why here and not in ``replies``: hiding changes what the public sees on the Page, not the case.
The case keeps its status and claim; what stays behind is the audit row ``comment_hidden``
(who hid which comment), so a hide can always be explained. Like a reply, the platform is
called outside any database transaction (a slow Graph API never holds a lock), and only a hide
the platform confirmed is audited.

Only Facebook Page comments can be hidden from engagebot: Instagram, X, Reddit and the stores
have no equivalent the brand's credentials allow, so other cases are refused with what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Post
from db.types import utcnow
from db.vocab import AuditVerb
from engagement.actors import Actor
from engagement.queue.platforms import Poster, poster_for
from engagement.queue.platforms.base import PostError
from engagement.queue.policy import Action, authorize
from engagement.queue.state import InvalidTransition, QueueError, audit, lock_case
from engagement.settings import ReplySettings

PosterFactory = Callable[[str, ReplySettings], Poster]


class NotHideable(QueueError):
    """The case's post is not a Facebook comment: nothing engagebot can hide (HTTP 409)."""


@dataclass(frozen=True)
class HideResult:
    """What a hide did: ``hidden`` only when Facebook confirmed it; ``reason`` says why not."""

    hidden: bool
    comment_id: str
    reason: str = ""


def hide_comment(
    engine: Engine,
    case_id: int,
    *,
    actor: Actor,
    settings: ReplySettings,
    now: datetime | None = None,
    poster_factory: PosterFactory | None = None,
) -> HideResult:
    """Hide the case's Facebook comment on the Page, as ``actor`` (a lead, or the case's holder).

    Raises the policy's refusals and ``NotHideable`` for other platforms. A hide that did not
    happen (dry run, no token, Facebook refused or did not answer) returns ``hidden=False`` with
    the reason; hiding is idempotent on Facebook, so trying again is always safe.
    """
    now = now or utcnow()
    with session_scope(engine) as session:
        case = lock_case(session, case_id)
        authorize(actor, Action.HIDE_COMMENT, case, now)
        post = session.get(Post, case.post_id)
        if post is None:
            raise InvalidTransition(f"case {case_id} has no post to hide")
        if post.platform != "facebook":
            raise NotHideable(
                f"case {case_id} is a {post.platform} post: only Facebook comments can be hidden from engagebot; "
                f"moderate it on {post.platform} itself"
            )
        comment_id, post_id = post.external_id, post.id
    poster = (poster_factory or poster_for)("facebook", settings)
    hide = getattr(poster, "hide_comment", None)
    if poster.dry_run or hide is None:
        reason = getattr(poster, "reason", "no Facebook poster")
        return HideResult(hidden=False, comment_id=comment_id, reason=reason)
    try:
        confirmed = bool(hide(comment_id))
    except PostError as exc:
        return HideResult(hidden=False, comment_id=comment_id, reason=str(exc))
    if not confirmed:
        return HideResult(hidden=False, comment_id=comment_id, reason="Facebook did not confirm the hide")
    with session_scope(engine, write=True) as session:
        audit(session, case_id=case_id, actor=actor.name, action=AuditVerb.COMMENT_HIDDEN, now=now,
              post_id=post_id, comment_id=comment_id)  # fmt: skip
    return HideResult(hidden=True, comment_id=comment_id)
