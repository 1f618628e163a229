"""The words the database stores, as enums: statuses, labels and the audit trail's verbs.

Why here, at the bottom: the partial index over active cases, triage, the queue, reports,
templates and tests all match on these strings. Spelled once, as ``StrEnum`` members (which
compare equal to their stored string), a typo is an ``AttributeError`` at import, not a case
that silently never matches. State machines (``*transitions.py``) say which moves between
statuses exist; this module only names them.
"""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """Where a case is in its life. Stored as the string value in ``cases.status``."""

    OPEN = "open"
    CLAIMED = "claimed"
    PENDING_APPROVAL = "pending_approval"
    ESCALATED = "escalated"
    REPLIED = "replied"
    DISMISSED = "dismissed"
    CLOSED = "closed"


#: Someone should still act on these: the queue, ``status``, ``/metrics``, Slack, the report
#: and the partial index ``ix_cases_active_by_team`` all count open cases with this one tuple.
ACTIVE_STATUSES: tuple[CaseStatus, ...] = (
    CaseStatus.OPEN,
    CaseStatus.CLAIMED,
    CaseStatus.PENDING_APPROVAL,
    CaseStatus.ESCALATED,
)
#: Finished: answered, dismissed or closed (a brand reply elsewhere, a relabel). Reopenable.
TERMINAL_STATUSES: tuple[CaseStatus, ...] = (CaseStatus.REPLIED, CaseStatus.DISMISSED, CaseStatus.CLOSED)


def sql_in(values: tuple[StrEnum, ...]) -> str:
    """``'a', 'b'`` for a hand-written SQL ``IN (...)`` (a partial index's WHERE clause)."""
    return ", ".join(f"'{value.value}'" for value in values)


class ReplyStatus(StrEnum):
    """Where a reply is on its way to the platform. Stored in ``replies.status``.

    ``not_sent``: nothing reached the platform and nothing will by itself (dry run, no
    credentials, a refusal, a platform that takes no replies); the reason is in ``error`` and
    the case stays open for a retry or an "answered elsewhere".
    """

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    SENDING = "sending"
    SENT = "sent"
    NOT_SENT = "not_sent"
    DRY_RUN = "dry_run"  # written by builds before "not_sent"; read as not sent
    FAILED = "failed"
    REJECTED = "rejected"


class SentimentLabel(StrEnum):
    """A post's sentiment: a model's top class or a person's correction."""

    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


#: The labels in the order models emit their probabilities.
SENTIMENT_LABELS: tuple[str, ...] = tuple(label.value for label in SentimentLabel)


class IdentityStatus(StrEnum):
    """Whether an author is a customer: confirmed (CRM or a person), suggested, or rejected."""

    CONFIRMED = "confirmed"
    SUGGESTED = "suggested"
    REJECTED = "rejected"


class AuditVerb(StrEnum):
    """What the audit trail says happened (``audit_events.action``): to a case, a reply, a
    person's sign-in."""

    OPENED = "opened"
    MERGED = "merged"
    CLOSED = "closed"
    SLA_BREACHED = "sla_breached"
    NOTED = "noted"
    UNTAGGED = "untagged"
    SESSIONS_ENDED = "sessions_ended"
    SIGNIN_LOCKED = "signin_locked"
    SIGNIN_UNLOCKED = "signin_unlocked"
    COMMENT_HIDDEN = "comment_hidden"
    CLAIMED = "claimed"
    RENEWED = "renewed"
    RELEASED = "released"
    TAKEN_OVER = "taken_over"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"
    REASSIGNED = "reassigned"
    SNOOZED = "snoozed"
    REOPENED = "reopened"
    RELABELLED = "relabelled"
    REPLY_SUBMITTED = "reply_submitted"
    AWAITING_APPROVAL = "awaiting_approval"
    REPLY_APPROVED = "reply_approved"
    REPLY_REJECTED = "reply_rejected"
    REPLY_SENT = "reply_sent"
    REPLY_NOT_SENT = "reply_not_sent"
    REPLY_FAILED = "reply_failed"
    REPLY_STALE_OUTCOME = "reply_stale_outcome"
    ANSWERED_ELSEWHERE = "answered_elsewhere"
    LINK_CONFIRMED = "link_confirmed"
    LINK_REJECTED = "link_rejected"
    TAGGED = "tagged"


class JobStatus(StrEnum):
    """Where one run of one step is (``job_runs.status``); moves in ``db/job_transitions.py``."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    DIED = "died"  # its process was killed (or its machine stopped) before it wrote its end


class OutboxStatus(StrEnum):
    """Where a notification is (``outbox.status``); moves in ``engagement/notify/outbox_transitions.py``."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxChannel(StrEnum):
    """Where a notification goes (``outbox.channel``): Slack, or the web app's next page.

    ``app`` rows are in-app notices (``engagement/notify/notices.py``): the Slack sender never
    claims them, and one is ``sent`` once its person has seen it.
    """

    SLACK = "slack"
    APP = "app"


class Role(StrEnum):
    """What a person may do in engagebot (``users.role``): the policy's rows are per role."""

    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"


ROLES: tuple[str, ...] = tuple(role.value for role in Role)
#: Roles that lead a team: reassign, approve replies, take cases over, decide CRM links.
LEAD_ROLES = frozenset({Role.LEAD, Role.ADMIN})
