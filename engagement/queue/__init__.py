"""The reply queue: claim, release, reply, dismiss, escalate, reassign, snooze; all audited.

Concurrency contract (what the web app and workers rely on):

- A claim is a lease: ``claimed_by`` + ``claim_expires_at``. An expired lease counts as free,
  so an abandoned case comes back to the queue without a sweeper.
- ``claim_next`` is atomic: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` (agents never
  wait on each other and never get the same case); on SQLite the whole read-then-update runs
  in one short ``BEGIN IMMEDIATE`` transaction (``session_scope(engine, write=True)``).
- Every status change goes through ``transitions.transition`` (the allowed-moves table, lease
  fields, the ``AuditEvent``), and every person's action is checked by ``policy.authorize``
  first; people are ``Actor``s (real users), never free-form names.
- Functions taking an ``engine`` are steps: they commit (one short transaction each) and return
  a detached ``Case``/``Reply`` whose attributes stay readable. Functions taking a ``session``
  only read.

Errors: ``CaseNotFound`` (a ``LookupError``, HTTP 404), ``AlreadyClaimed`` (409),
``NotClaimant`` (403), ``InvalidTransition`` (409, e.g. replying to a closed case),
``NotAllowed`` (403, e.g. approval by a non-lead). All but ``CaseNotFound`` are ``ValueError``.
"""

from db.vocab import ACTIVE_STATUSES, TERMINAL_STATUSES, CaseStatus, ReplyStatus
from engagement.actors import Actor
from engagement.queue.actions import dismiss, escalate, reassign, reopen, snooze, take_over
from engagement.queue.claims import claim, claim_next, release
from engagement.queue.policy import (
    Action,
    ClaimState,
    Verdict,
    authorize,
    authorize_label,
    authorize_link_decision,
)
from engagement.queue.reads import (
    case_audit,
    case_detail,
    case_posts,
    case_replies,
    case_to_dict,
    count_cases,
    get_case,
    list_cases,
)
from engagement.queue.replies import approve as approve_reply
from engagement.queue.replies import reject as reject_reply
from engagement.queue.replies import submit_reply as reply
from engagement.queue.state import (
    DEFAULT_LEASE_MINUTES,
    AlreadyClaimed,
    CaseNotFound,
    InvalidTransition,
    NotAllowed,
    NotClaimant,
    QueueError,
    audit,
    lease_active,
    lock_case,
)
from engagement.queue.transitions import transition

__all__ = [
    "ACTIVE_STATUSES",
    "DEFAULT_LEASE_MINUTES",
    "TERMINAL_STATUSES",
    "Action",
    "Actor",
    "AlreadyClaimed",
    "CaseNotFound",
    "CaseStatus",
    "ClaimState",
    "InvalidTransition",
    "NotAllowed",
    "NotClaimant",
    "QueueError",
    "ReplyStatus",
    "Verdict",
    "approve_reply",
    "audit",
    "authorize",
    "authorize_label",
    "authorize_link_decision",
    "case_audit",
    "case_detail",
    "case_posts",
    "case_replies",
    "case_to_dict",
    "claim",
    "claim_next",
    "count_cases",
    "dismiss",
    "escalate",
    "get_case",
    "lease_active",
    "list_cases",
    "lock_case",
    "reassign",
    "reject_reply",
    "release",
    "reopen",
    "reply",
    "snooze",
    "take_over",
    "transition",
]
