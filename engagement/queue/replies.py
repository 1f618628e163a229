"""Posting a case's reply exactly once: record the intent, send, record the result.

The protocol (at-least-once delivery, exactly-once effect):
1. ``submit_reply`` writes a ``Reply`` with a unique idempotency key (status ``draft``, or
   ``pending_approval`` when the case's tier needs a lead's approval) and commits.
2. ``deliver_reply`` marks it ``sending`` (attempts + 1, ``last_attempt_at``) and commits, then
   calls the platform, then records ``sent`` with the platform's id and marks the case replied.
3. A reply found in ``sending`` later means a crash or an unknown outcome between 2's steps:
   the platform is asked first (``Poster.find_existing``: our replies under that post), and only
   if the reply is not there is it posted again. A send still in flight (started less than
   ``IN_FLIGHT`` ago) is left alone.
Refusals (``PermanentPostError``) mark the reply ``failed`` and put the error on the case;
rate limits leave it ``draft`` for a later retry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import Case, CasePost, Post, Reply
from db.types import utcnow
from db.vocab import AuditVerb, CaseStatus, ReplyStatus
from engagement.actors import Actor
from engagement.errors import NotFound
from engagement.queue import templates
from engagement.queue.platforms import (
    PermanentPostError,
    Poster,
    ReplyTarget,
    TransientPostError,
    UnknownOutcome,
    poster_for,
)
from engagement.queue.policy import Action, Verdict, authorize
from engagement.queue.reply_transitions import RETRYABLE, reply_transition
from engagement.queue.state import DEFAULT_LEASE_MINUTES, CaseNotFound, InvalidTransition, audit, lock_case
from engagement.queue.transitions import is_allowed, transition
from engagement.settings import ReplySettings

log = logging.getLogger(__name__)

IN_FLIGHT = timedelta(minutes=2)
PosterFactory = Callable[[str, ReplySettings], Poster]


class ReplyNotFound(CaseNotFound):
    """No reply with that id (HTTP 404; a ``CaseNotFound`` so callers map both the same way)."""

    def __init__(self, reply_id: int) -> None:
        NotFound.__init__(self, f"reply {reply_id} not found")
        self.case_id = 0
        self.reply_id = reply_id


def _target_post(session: Session, case: Case) -> Post:
    """The newest post of the case: the reply answers where the author last spoke."""
    post = session.execute(
        select(Post)
        .join(CasePost, col(CasePost.post_id) == col(Post.id))
        .where(col(CasePost.case_id) == case.id)
        .order_by(col(Post.created_at).desc(), col(Post.id).desc())
        .limit(1)
    ).scalar_one_or_none()
    if post is None:
        post = session.get(Post, case.post_id)
    if post is None:
        raise InvalidTransition(f"case {case.id} has no post to reply to")
    return post


def submit_reply(
    engine: Engine,
    case_id: int,
    *,
    actor: Actor,
    text: str,
    settings: ReplySettings,
    template: str | None = None,
    now: datetime | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
    poster_factory: PosterFactory | None = None,
) -> Reply:
    """Reply to a case (``engagement.queue.reply``): recorded with an idempotency key, then
    posted (dry-run by default) unless it must wait for approval.

    The actor needs the case's claim; a free case is claimed by the reply itself. A case someone
    else holds is refused, leads included, until a lead takes it over. ``template`` names a saved
    reply (``engagement.queue.templates``); variables are filled from the case, and unknown ones
    and texts over the platform's limit are refused before anything is written. Cases of a tier
    in ``approval_tiers`` wait for a lead (``pending_approval``) unless the actor is a lead.
    Returns the ``Reply`` (status ``sent``, ``pending_approval``, ``not_sent`` or ``failed``): only
    ``sent`` makes the case replied.
    """
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        _authorize_answer(session, case, actor, now, lease_minutes, by_reply=True)
        # One path for web, API and CLI: saved reply or text, variables filled (unknown ones
        # refused by name), and the platform's length limit enforced before anything is sent.
        body = templates.compose(session, case, text=text, template=template, agent=actor.name, settings=settings)
        post = _target_post(session, case)
        needs_approval = case.tier in settings.approval_tiers and not actor.is_lead
        reply = Reply(
            case_id=case_id,
            post_id=post.id or 0,
            text=body,
            author=actor.name,
            status=ReplyStatus.PENDING_APPROVAL if needs_approval else ReplyStatus.DRAFT,
            idempotency_key=f"case-{case_id}-{uuid.uuid4().hex}",
            created_at=now,
        )
        session.add(reply)
        session.flush()
        audit(
            session,
            case_id=case_id,
            actor=actor.name,
            action=AuditVerb.REPLY_SUBMITTED,
            now=now,
            reply_id=reply.id,
            needs_approval=needs_approval,
            template=template,
        )
        if needs_approval:
            transition(
                session,
                case,
                CaseStatus.PENDING_APPROVAL,
                actor=actor.name,
                action=AuditVerb.AWAITING_APPROVAL,
                now=now,
                reply_id=reply.id,
            )
        reply_id = reply.id
    assert reply_id is not None
    if needs_approval:
        return reply
    return deliver_reply(engine, reply_id, settings=settings, now=now, poster_factory=poster_factory)


def _authorize_answer(
    session: Session, case: Case, actor: Actor, now: datetime, lease_minutes: float, **detail: Any
) -> None:
    """The policy for answering a case (a reply, its retry, "answered elsewhere"): the actor
    needs its claim, and a free case is claimed first, audited."""
    if authorize(actor, Action.REPLY, case, now) is Verdict.ALLOW_FREE:
        transition(session, case, CaseStatus.CLAIMED, actor=actor.name, action=AuditVerb.CLAIMED, now=now,
                   lease_minutes=lease_minutes, **detail)  # fmt: skip


def _lock_reply(session: Session, reply_id: int) -> Reply:
    reply: Reply | None = session.execute(
        select(Reply).where(col(Reply.id) == reply_id).with_for_update()
    ).scalar_one_or_none()
    if reply is None:
        raise ReplyNotFound(reply_id)
    return reply


def _decide_waiting(
    session: Session, reply_id: int, *, actor: Actor, now: datetime, lease_minutes: float, action: str, **detail: Any
) -> Reply:
    """Lock a reply waiting for approval and its case, check the lead, and hand the case back to
    the reply's writer, claimed with a normal lease (so a failed send is handed out again)."""
    reply = _lock_reply(session, reply_id)
    case = lock_case(session, reply.case_id)
    authorize(actor, Action.APPROVE_REPLY, case, now)
    if reply.status != ReplyStatus.PENDING_APPROVAL:
        raise InvalidTransition(f"reply {reply_id} is {reply.status}, not waiting for approval")
    transition(
        session,
        case,
        CaseStatus.CLAIMED,
        actor=actor.name,
        action=action,
        now=now,
        holder=reply.author,
        lease_minutes=lease_minutes,
        reply_id=reply_id,
        **detail,
    )
    return reply


def approve(
    engine: Engine,
    reply_id: int,
    *,
    actor: Actor,
    settings: ReplySettings,
    now: datetime | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
    poster_factory: PosterFactory | None = None,
) -> Reply:
    """A lead approves a waiting reply (audited); it is posted at once."""
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        reply = _decide_waiting(
            session, reply_id, actor=actor, now=now, lease_minutes=lease_minutes, action="reply_approved"
        )
        reply_transition(reply, ReplyStatus.DRAFT)
        reply.approved_by = actor.name
        session.add(reply)
    return deliver_reply(engine, reply_id, settings=settings, now=now, poster_factory=poster_factory)


def reject(
    engine: Engine,
    reply_id: int,
    *,
    actor: Actor,
    reason: str,
    now: datetime | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
) -> Reply:
    """A lead rejects a waiting reply (audited); the case goes back to its writer, claimed."""
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        reply = _decide_waiting(
            session,
            reply_id,
            actor=actor,
            now=now,
            lease_minutes=lease_minutes,
            action="reply_rejected",
            reason=reason,
        )
        reply_transition(reply, ReplyStatus.REJECTED)
        reply.error = f"rejected by {actor.name}: {reason}"
        session.add(reply)
        return reply


def _target(post: Post) -> ReplyTarget:
    return ReplyTarget(
        platform=post.platform,
        external_id=post.external_id,
        conversation_id=post.conversation_id,
        title=post.title,
        raw=dict(post.raw or {}),
    )


def _record_outcome(
    engine: Engine,
    reply_id: int,
    *,
    now: datetime,
    platform_id: str | None,
    error: str | None = None,
    status: ReplyStatus | None = None,
) -> Reply:
    """Write what happened to a send. Only a reply the platform took (``platform_id``) makes the
    case replied; anything else (not sent, refused, unknown) puts the error on the reply and
    the case, and the case stays where it is: open to a retry or an "answered elsewhere"."""
    with session_scope(engine, write=True) as session:
        reply = _lock_reply(session, reply_id)
        case = lock_case(session, reply.case_id)
        if reply.status == ReplyStatus.SENT:  # a stale outcome: another attempt already won
            audit(session, case_id=case.id, actor=reply.author, action=AuditVerb.REPLY_STALE_OUTCOME, now=now,
                  reply_id=reply_id, platform_reply_id=platform_id, error=error)  # fmt: skip
            return reply
        if platform_id is not None:
            reply_transition(reply, ReplyStatus.SENT)
            reply.platform_reply_id = platform_id
            reply.sent_at = now
            reply.error = None
            case.last_error = None
            detail: dict[str, Any] = {"reply_id": reply_id, "platform_reply_id": platform_id}
            if is_allowed(case.status, CaseStatus.REPLIED):
                transition(session, case, CaseStatus.REPLIED, actor=reply.author, action=AuditVerb.REPLY_SENT,
                           now=now, reason="replied", **detail)  # fmt: skip
            else:  # the case was closed meanwhile (e.g. answered elsewhere): record the send only
                audit(session, case_id=case.id, actor=reply.author, action=AuditVerb.REPLY_SENT, now=now, **detail)
        else:
            assert status is not None
            reply_transition(reply, status)
            reply.error = error
            case.last_error = f"reply {reply_id} not sent: {error}"
            verb = AuditVerb.REPLY_NOT_SENT if status == ReplyStatus.NOT_SENT else AuditVerb.REPLY_FAILED
            audit(session, case_id=case.id, actor=reply.author, action=verb, now=now, reply_id=reply_id,
                  error=error, status=reply.status)  # fmt: skip
        case.updated_at = now
        session.add_all([reply, case])
        return reply


def deliver_reply(
    engine: Engine,
    reply_id: int,
    *,
    settings: ReplySettings,
    now: datetime | None = None,
    poster_factory: PosterFactory | None = None,
) -> Reply:
    """Post one recorded reply, exactly once in effect (see the module docstring)."""
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        reply = _lock_reply(session, reply_id)
        if reply.status not in (ReplyStatus.DRAFT, ReplyStatus.SENDING):
            return reply  # sent, waiting, rejected, or not sent (a person retries those)
        if (
            reply.status == ReplyStatus.SENDING
            and reply.last_attempt_at is not None
            and now - reply.last_attempt_at < IN_FLIGHT
        ):
            return reply  # another worker is sending it right now
        post = session.get(Post, reply.post_id)
        if post is None:
            raise InvalidTransition(f"reply {reply_id}: its post is gone")
        uncertain = reply.status == ReplyStatus.SENDING
        reply_transition(reply, ReplyStatus.SENDING)
        reply.attempts += 1
        reply.last_attempt_at = now
        session.add(reply)
        target, text = _target(post), reply.text
    poster = (poster_factory or poster_for)(target.platform, settings)
    if poster.dry_run:  # nothing will reach the platform: say so, and keep the case open
        reason = getattr(poster, "reason", "dry run")
        log.warning("reply %s not sent: %s", reply_id, reason)
        return _record_outcome(engine, reply_id, now=now, platform_id=None, error=reason, status=ReplyStatus.NOT_SENT)
    try:
        if uncertain:
            existing = poster.find_existing(target, text)
            if existing is not None:
                log.info("reply %s was already posted as %s; recording it", reply_id, existing)
                return _record_outcome(engine, reply_id, now=now, platform_id=existing)
        platform_id = poster.post_reply(target, text)
    except PermanentPostError as exc:
        return _record_outcome(engine, reply_id, now=now, platform_id=None, error=str(exc), status=ReplyStatus.FAILED)
    except TransientPostError as exc:
        return _record_outcome(engine, reply_id, now=now, platform_id=None, error=str(exc), status=ReplyStatus.DRAFT)
    except UnknownOutcome as exc:
        return _record_outcome(
            engine,
            reply_id,
            now=now,
            platform_id=None,
            error=f"unknown outcome, will check before retrying: {exc}",
            status=ReplyStatus.SENDING,
        )
    return _record_outcome(engine, reply_id, now=now, platform_id=platform_id)


def retry(
    engine: Engine,
    reply_id: int,
    *,
    case_id: int,
    actor: Actor,
    settings: ReplySettings,
    now: datetime | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
    poster_factory: PosterFactory | None = None,
) -> Reply:
    """A person tries a reply that was not sent (or was refused) again, after fixing the cause
    (dry run off, credentials set). Needs the case's claim like any reply."""
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        reply = _lock_reply(session, reply_id)
        if reply.case_id != case_id:
            raise ReplyNotFound(reply_id)
        case = lock_case(session, case_id)
        _authorize_answer(session, case, actor, now, lease_minutes, by_reply=True)
        if reply.status not in RETRYABLE:
            raise InvalidTransition(f"reply {reply_id} is {reply.status}; only a reply that was not sent is retried")
        reply_transition(reply, ReplyStatus.DRAFT)
        session.add(reply)
    return deliver_reply(engine, reply_id, settings=settings, now=now, poster_factory=poster_factory)


def answered_elsewhere(
    engine: Engine,
    case_id: int,
    *,
    actor: Actor,
    url: str,
    note: str,
    now: datetime | None = None,
    lease_minutes: float = DEFAULT_LEASE_MINUTES,
) -> Case:
    """Close a case a person answered outside engagebot, with where (audited): the honest
    alternative to a reply engagebot could not post."""
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        _authorize_answer(session, case, actor, now, lease_minutes)
        return transition(session, case, CaseStatus.REPLIED, actor=actor.name, action=AuditVerb.ANSWERED_ELSEWHERE,
                          now=now, reason="answered elsewhere", url=url or None, note=note or None)  # fmt: skip


def retry_replies(
    engine: Engine,
    *,
    settings: ReplySettings,
    now: datetime | None = None,
    poster_factory: PosterFactory | None = None,
) -> dict[str, int]:
    """Deliver replies left ``draft`` (rate-limited, crashed before sending) or ``sending``
    (unknown)."""
    now = now or utcnow()
    with session_scope(engine) as session:
        ids = list(
            session.execute(
                select(col(Reply.id))
                .where(col(Reply.status).in_((ReplyStatus.DRAFT, ReplyStatus.SENDING)))
                .order_by(col(Reply.id))
            ).scalars()
        )
    counts: dict[str, int] = {"considered": len(ids)}
    for reply_id in ids:
        result = deliver_reply(engine, reply_id, settings=settings, now=now, poster_factory=poster_factory)
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """A reply as JSON-ready data."""
    return {
        "id": reply.id,
        "case_id": reply.case_id,
        "status": reply.status,
        "text": reply.text,
        "author": reply.author,
        "approved_by": reply.approved_by,
        "platform_reply_id": reply.platform_reply_id,
        "idempotency_key": reply.idempotency_key,
        "attempts": reply.attempts,
        "error": reply.error,
        "sent_at": reply.sent_at.isoformat() if reply.sent_at else None,
    }
