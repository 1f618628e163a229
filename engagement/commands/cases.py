"""Case commands: every change a person makes to a case enters here, from every surface.

Why one front door: the web form, the JSON API, the CLI, Slack's buttons and bulk actions each
used to call the queue their own way, and users felt the difference (the web dropped the draft
after a reply and the API did not; a link decided on the web re-ran triage and one decided on
the CLI did not; each surface looked up "reassign to" differently). Now a surface parses its
input into a command (a small pydantic model, so forms, JSON and the CLI share one validation),
resolves its person to an ``Actor`` and calls ``perform``. The command does the rest: the policy
(``engagement.queue.policy``), the state machine (``engagement.queue.transitions``), the audit
row, and the side effects that belong to it (the draft dropped, the case re-priced).

``perform`` takes the engine, not a session: a reply is recorded, posted to the platform and
its outcome recorded in separate short transactions (``engagement.queue.replies``), so a slow
platform never holds a database lock. Every other command is one transaction.

``COMMANDS`` is the table the docs and tests read: each command's policy row, target status,
audit verb and the fields it sets (``docs/architecture.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Case, Reply
from db.types import MAX_ID, utcnow
from db.vocab import AuditVerb, CaseStatus, ReplyStatus, SentimentLabel
from engagement.actors import Actor, resolve_actor
from engagement.commands.links import decide_link
from engagement.commands.mentions import tell_mentioned
from engagement.commands.relabel import Relabelled, relabel
from engagement.errors import BadInput
from engagement.i18n import N_
from engagement.i18n import gettext as _
from engagement.queue import actions, claims, drafts, moderation, notes, replies, tags
from engagement.queue.policy import Action
from engagement.queue.reads import get_case
from engagement.queue.state import QueueError
from engagement.settings import EngagementSettings


class CommandSpec(NamedTuple):
    """A command's row in the table: who may (policy action), where the case goes, what the
    audit trail says, and which case fields it writes."""

    action: Action
    target: str  # a CaseStatus value, or a short phrase where it depends
    verb: str  # an AuditVerb value, or "a|b" where it depends
    sets: tuple[str, ...]


class CaseCommand(BaseModel):
    """One change to one case. Subclasses name themselves and their table row."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
    name: ClassVar[str]
    spec: ClassVar[CommandSpec]


_LEASE = ("claimed_by", "claim_expires_at")
_CLOSE = ("close_reason", "closed_at")


class Claim(CaseCommand):
    """Take the case (or renew one's own claim) for the configured lease."""

    name = "claim"
    spec = CommandSpec(Action.CLAIM, CaseStatus.CLAIMED, "claimed|renewed", _LEASE)


class Release(CaseCommand):
    """Give the case back to the queue."""

    name = "release"
    spec = CommandSpec(Action.RELEASE, CaseStatus.OPEN, AuditVerb.RELEASED, _LEASE)


class TakeOver(CaseCommand):
    """A lead takes a case someone else holds (the holder is told)."""

    name = "take-over"
    spec = CommandSpec(Action.TAKE_OVER, CaseStatus.CLAIMED, AuditVerb.TAKEN_OVER, _LEASE)


class SendReply(CaseCommand):
    """Answer the case on its platform: a text, or a saved reply's name (filled from the case)."""

    name = "reply"
    spec = CommandSpec(
        Action.REPLY, "replied once posted", "reply_submitted|awaiting_approval|reply_sent|reply_not_sent", _LEASE
    )
    text: str = Field(default="", max_length=10_000, description="the reply; may be empty when a template is given")
    template: str | None = Field(default=None, max_length=100, description="a saved reply's name")

    @model_validator(mode="after")
    def _has_body(self) -> SendReply:
        if not self.text and not self.template:
            raise BadInput("write a reply or pick a saved reply")
        return self


class AnsweredElsewhere(CaseCommand):
    """Close the case as answered outside engagebot (by phone, in the platform's own app),
    with a link to the answer or a note saying where."""

    name = "answered-elsewhere"
    spec = CommandSpec(Action.REPLY, CaseStatus.REPLIED, AuditVerb.ANSWERED_ELSEWHERE, _CLOSE)
    url: str = Field(default="", max_length=500, description="a link to the answer")
    note: str = Field(default="", max_length=500, description="where and how it was answered")

    @model_validator(mode="after")
    def _says_where(self) -> AnsweredElsewhere:
        if not self.url and not self.note:
            raise BadInput("say where it was answered: a link or a note")
        if self.url and not self.url.startswith(("https://", "http://")):
            raise BadInput("the link must start with https:// or http://")
        return self


class RetryReply(CaseCommand):
    """Try again to post a reply that was not sent (dry run turned off, credentials added)."""

    name = "retry-reply"
    spec = CommandSpec(Action.REPLY, "replied once posted", "reply_sent|reply_not_sent", ())
    reply_id: int = Field(ge=1, le=MAX_ID)


class Dismiss(CaseCommand):
    """Close without replying (spam, not ours, already solved)."""

    name = "dismiss"
    spec = CommandSpec(Action.DISMISS, CaseStatus.DISMISSED, AuditVerb.DISMISSED, _CLOSE)
    reason: str = Field(min_length=1, max_length=500, description="why, for the audit trail")


class Escalate(CaseCommand):
    """Hand the case to the lead."""

    name = "escalate"
    spec = CommandSpec(Action.ESCALATE, CaseStatus.ESCALATED, AuditVerb.ESCALATED, _LEASE)
    reason: str = Field(default="", max_length=500, description="why, for the audit trail")


class Reassign(CaseCommand):
    """A lead assigns the case to a person (name or email of a real user) and their team."""

    name = "reassign"
    spec = CommandSpec(Action.REASSIGN, CaseStatus.OPEN, AuditVerb.REASSIGNED, ("assignee", "team", *_LEASE))
    to: str = Field(min_length=1, max_length=255, description="the new assignee: a user's name or email")
    team: str | None = Field(default=None, max_length=64, description="move it to this team (default: theirs)")


class Snooze(CaseCommand):
    """Hide the case until a time (or for some minutes); it comes back by itself."""

    name = "snooze"
    spec = CommandSpec(Action.SNOOZE, "open (escalated stays)", AuditVerb.SNOOZED, ("snoozed_until", *_LEASE))
    until: datetime | None = None
    minutes: float | None = Field(default=None, gt=0, le=60 * 24 * 366)

    @model_validator(mode="after")
    def _has_time(self) -> Snooze:
        if self.until is None and self.minutes is None:
            raise BadInput("snooze needs a time (until) or a duration (minutes)")
        if self.until is not None and self.until.tzinfo is None:
            raise BadInput("give the snooze time with its time zone")
        return self


class Reopen(CaseCommand):
    """Bring a replied, dismissed or closed case back to the open queue."""

    name = "reopen"
    spec = CommandSpec(Action.REOPEN, CaseStatus.OPEN, AuditVerb.REOPENED, _CLOSE)
    reason: str = Field(default="", max_length=500, description="why, for the audit trail")


class Relabel(CaseCommand):
    """Correct a post's sentiment (``post_id`` empty: every post of the case); the case closes,
    reopens or re-prices at once."""

    name = "label"
    spec = CommandSpec(Action.LABEL, "closed / open / unchanged", AuditVerb.RELABELLED, ("priority", *_CLOSE))
    post_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    label: SentimentLabel


class DecideLink(CaseCommand):
    """Confirm or reject the customer link of the case's author; the case is re-priced."""

    name = "decide-link"
    spec = CommandSpec(Action.DECIDE_SUGGESTED_LINK, "unchanged", "link_confirmed|link_rejected", ("customer_id",))
    identity_id: int = Field(ge=1, le=MAX_ID)
    decision: Literal["confirm", "reject"]


class ApproveReply(CaseCommand):
    """A lead approves a reply waiting for approval; it is posted at once."""

    name = "approve-reply"
    spec = CommandSpec(Action.APPROVE_REPLY, "replied once posted", AuditVerb.REPLY_APPROVED, _LEASE)
    reply_id: int = Field(ge=1, le=MAX_ID)


class RejectReply(CaseCommand):
    """A lead sends a waiting reply back to its writer."""

    name = "reject-reply"
    spec = CommandSpec(Action.APPROVE_REPLY, CaseStatus.CLAIMED, AuditVerb.REPLY_REJECTED, _LEASE)
    reply_id: int = Field(ge=1, le=MAX_ID)
    reason: str = Field(default="", max_length=500, description="why, for the audit trail")


class HideComment(CaseCommand):
    """Hide the case's Facebook comment on the Page (moderation: abuse, spam, personal data);
    the case itself stays as it is."""

    name = "hide-comment"
    spec = CommandSpec(Action.HIDE_COMMENT, "unchanged", AuditVerb.COMMENT_HIDDEN, ())


class AddNote(CaseCommand):
    """An internal note on the case; @mentions reach the person named."""

    name = "notes"
    spec = CommandSpec(Action.NOTE, "unchanged", AuditVerb.NOTED, ())
    text: str = Field(min_length=1, max_length=notes.MAX_NOTE)


class Tag(CaseCommand):
    """Add or remove the case's tags."""

    name = "tags"
    spec = CommandSpec(Action.TAG, "unchanged", "tagged|untagged", ())
    add: list[str] = Field(default_factory=list, max_length=20)
    remove: list[str] = Field(default_factory=list, max_length=20)


#: Every case command by the name surfaces use in paths and on the command line.
COMMANDS: dict[str, type[CaseCommand]] = {
    cls.name: cls
    for cls in (
        Claim,
        Release,
        TakeOver,
        SendReply,
        RetryReply,
        AnsweredElsewhere,
        Dismiss,
        Escalate,
        Reassign,
        Snooze,
        Reopen,
        Relabel,
        DecideLink,
        ApproveReply,
        RejectReply,
        HideComment,
        AddNote,
        Tag,
    )
}


@dataclass(frozen=True)
class Outcome:
    """What a command did: the case after it (detached, readable), one sentence for people, and
    what else it produced. ``ok`` is False when the command ran but its effect did not happen
    (a reply that was not posted): the message says why and what to do."""

    case: Case
    message: str
    ok: bool = True
    reply: Reply | None = None
    relabelled: Relabelled | None = None
    tags: list[str] | None = None
    mentioned: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def perform(
    engine: Engine,
    actor: Actor,
    case_id: int,
    command: CaseCommand,
    *,
    settings: EngagementSettings,
    now: datetime | None = None,
) -> Outcome:
    """Do ``command`` to case ``case_id`` as ``actor``: the one way any surface changes a case.

    Raises the queue's errors (``QueueError`` family: refused by the policy, a wrong status, bad
    input) and ``CaseNotFound``; the surfaces turn those into a 4xx, an error line or an
    ephemeral Slack message.
    """
    now = now or utcnow()
    lease = settings.routing.lease_minutes
    match command:
        case Claim():
            case = claims.claim(engine, case_id, actor=actor, now=now, lease_minutes=lease)
            return Outcome(
                case,
                _("Case %(case)s is yours until %(time)s UTC.")
                % {"case": case_id, "time": f"{case.claim_expires_at:%H:%M}"},
            )
        case Release():
            return Outcome(
                claims.release(engine, case_id, actor=actor, now=now),
                _("Case %(case)s is back in the queue.") % {"case": case_id},
            )
        case TakeOver():
            case = actions.take_over(engine, case_id, actor=actor, now=now, lease_minutes=lease)
            return Outcome(
                case,
                _("You took over case %(case)s; it is yours until %(time)s UTC.")
                % {"case": case_id, "time": f"{case.claim_expires_at:%H:%M}"},
            )
        case SendReply(text=text, template=template):
            reply = replies.submit_reply(
                engine,
                case_id,
                actor=actor,
                # An edited saved reply arrives as text (its {variables} still filled in).
                text=text,
                template=template if template and not text else None,
                settings=settings.replies,
                now=now,
                lease_minutes=lease,
            )
            return _replied(engine, actor, case_id, reply)
        case RetryReply(reply_id=reply_id):
            reply = replies.retry(
                engine, reply_id, case_id=case_id, actor=actor, settings=settings.replies, now=now, lease_minutes=lease
            )
            return _replied(engine, actor, case_id, reply)
        case AnsweredElsewhere(url=url, note=note):
            case = replies.answered_elsewhere(
                engine, case_id, actor=actor, url=url, note=note, now=now, lease_minutes=lease
            )
            return Outcome(case, _("Case %(case)s closed as answered elsewhere.") % {"case": case_id})
        case Dismiss(reason=reason):
            return Outcome(
                actions.dismiss(engine, case_id, actor=actor, reason=reason, now=now),
                _("Case %(case)s dismissed.") % {"case": case_id},
            )
        case Escalate(reason=reason):
            # to the routing's lead where one is named, on every surface
            lead = settings.routing.lead or None
            case = actions.escalate(engine, case_id, actor=actor, reason=reason or None, to=lead, now=now)
            return Outcome(case, _("Case %(case)s escalated to the lead.") % {"case": case_id})
        case Reassign(to=to, team=team):
            with session_scope(engine) as session:
                target = resolve_actor(session, to)
            case = actions.reassign(engine, case_id, actor=actor, to=target, team=team or None, now=now)
            return Outcome(
                case,
                _("Case %(case)s assigned to %(name)s (%(team)s).")
                % {"case": case_id, "name": target.name, "team": case.team},
            )
        case Snooze(until=until, minutes=minutes):
            case = actions.snooze(engine, case_id, actor=actor, until=until, minutes=minutes, now=now)
            return Outcome(
                case,
                _("Case %(case)s snoozed until %(time)s UTC.")
                % {"case": case_id, "time": f"{case.snoozed_until:%Y-%m-%d %H:%M}"},
            )
        case Reopen(reason=reason):
            case = actions.reopen(engine, case_id, actor=actor, reason=reason or None, now=now)
            return Outcome(case, _("Case %(case)s is open again.") % {"case": case_id})
        case Relabel(post_id=post_id, label=label):
            done = relabel(engine, case_id, post_id=post_id, label=label, actor=actor, settings=settings, now=now)
            labels = {"old": done.old_label or _("unscored"), "new": done.new_label, "post": post_id}
            message = (
                (
                    _("Post %(post)s relabelled %(old)s → %(new)s.") % labels
                    if post_id
                    else _("Every post relabelled %(old)s → %(new)s.") % labels
                )
                + " "
                + (
                    _("The case is closed: no post of it is negative now (reopen it any time).")
                    if done.status == "closed"
                    else _("The case is %(status)s.") % {"status": done.status}
                )
            )
            return Outcome(_case(engine, case_id), message, relabelled=done)
        case DecideLink(identity_id=identity_id, decision=decision):
            decide_link(engine, actor, identity_id, decision, settings=settings, case_id=case_id, now=now)
            return Outcome(
                _case(engine, case_id),
                (
                    _("Link %(link)s confirmed; the case is re-priced.")
                    if decision == "confirm"
                    else _("Link %(link)s rejected; the case is re-priced.")
                )
                % {"link": identity_id},
            )
        case ApproveReply(reply_id=reply_id):
            _check_reply_of(engine, reply_id, case_id)
            reply = replies.approve(
                engine, reply_id, actor=actor, settings=settings.replies, now=now, lease_minutes=lease
            )
            return _replied(engine, actor, case_id, reply, approved=True)
        case RejectReply(reply_id=reply_id, reason=reason):
            _check_reply_of(engine, reply_id, case_id)
            reply = replies.reject(
                engine, reply_id, actor=actor, reason=reason or "rejected", now=now, lease_minutes=lease
            )
            return Outcome(
                _case(engine, case_id),
                _("Reply %(reply)s sent back to %(name)s.") % {"reply": reply_id, "name": reply.author},
                reply=reply,
            )
        case HideComment():
            hidden = moderation.hide_comment(engine, case_id, actor=actor, settings=settings.replies, now=now)
            if hidden.hidden:
                return Outcome(_case(engine, case_id), f"Comment {hidden.comment_id} of case {case_id} is hidden.")
            return Outcome(
                _case(engine, case_id),
                f"Comment {hidden.comment_id} was NOT hidden: {hidden.reason}. Try again, or hide it on Facebook.",
                ok=False,
            )
        case AddNote(text=text):
            result = notes.add_note(engine, case_id, actor=actor, text=text, settings=settings, now=now)
            tell_mentioned(engine, result, actor=actor, settings=settings, now=now)
            return Outcome(
                _case(engine, case_id),
                _("Note added to case %(case)s.") % {"case": case_id}
                + (
                    " " + _("%(names)s will hear of it.") % {"names": ", ".join(result.mentioned)}
                    if result.mentioned
                    else ""
                ),
                mentioned=tuple(result.mentioned),
                unknown=tuple(result.unknown),
                warnings=tuple(
                    _("nobody is called @%(name)s: not notified") % {"name": name} for name in result.unknown
                ),
            )
        case Tag(add=add, remove=remove):
            kept = tags.tag_case(engine, case_id, actor=actor, add=add, remove=remove, now=now)
            return Outcome(
                _case(engine, case_id),
                _("Case %(case)s tags: %(tags)s.") % {"case": case_id, "tags": ", ".join(kept) or _("none")},
                tags=kept,
            )
    raise QueueError(f"unknown case command {type(command).__name__}")


_REPLY_MESSAGES = {
    ReplyStatus.SENT: N_("Reply to case %(case)s posted."),
    ReplyStatus.PENDING_APPROVAL: N_("Reply to case %(case)s waits for a lead's approval."),
    ReplyStatus.SENDING: N_("Reply to case %(case)s: the platform did not confirm it; it is checked before any retry."),
}


def _replied(engine: Engine, actor: Actor, case_id: int, reply: Reply, *, approved: bool = False) -> Outcome:
    """The outcome of a reply: a posted (or waiting) reply drops its writer's draft; one that
    was not posted keeps the draft and says why, and the case stays open."""
    status = ReplyStatus(reply.status)
    if status in _REPLY_MESSAGES:
        with session_scope(engine, write=True) as session:
            drafts.discard_draft(session, case_id=case_id, user_name=reply.author)
        message = _(_REPLY_MESSAGES[status]) % {"case": case_id}
        if approved:
            message = _("Reply %(reply)s approved.") % {"reply": reply.id} + " " + message
        return Outcome(_case(engine, case_id), message, reply=reply)
    return Outcome(
        _case(engine, case_id),
        _(
            "Reply to case %(case)s was NOT posted: %(error)s. The case stays open; "
            "retry it, or close it as answered elsewhere."
        )
        % {"case": case_id, "error": reply.error},
        ok=False,
        reply=reply,
    )


def _case(engine: Engine, case_id: int) -> Case:
    with session_scope(engine) as session:
        return get_case(session, case_id)


def case_of_reply(engine: Engine, reply_id: int) -> int:
    """The case a reply belongs to (routes keyed by reply id find their case here)."""
    with session_scope(engine) as session:
        reply = session.get(Reply, reply_id) if 1 <= reply_id <= MAX_ID else None
        if reply is None:
            raise replies.ReplyNotFound(reply_id)
        return reply.case_id


def _check_reply_of(engine: Engine, reply_id: int, case_id: int) -> None:
    if case_of_reply(engine, reply_id) != case_id:
        raise replies.ReplyNotFound(reply_id)
