"""The reply state machine: every status change of a ``Reply`` goes through ``reply_transition``.

Why a table: a reply's status decides whether the case is answered and whether a worker may
post it again. A reply that was posted must never go back to being sendable (a second post),
and one that was not posted must never read as sent. Who may ask for a move is the policy's
job; this module only says which moves exist.
"""

from __future__ import annotations

from db.models import Reply
from db.vocab import ReplyStatus
from engagement.queue.state import InvalidTransition

_R = ReplyStatus

#: Replies a person may send again: nothing reached the platform.
RETRYABLE = frozenset({_R.NOT_SENT, _R.FAILED, _R.DRY_RUN})

#: from -> the statuses it may move to.
ALLOWED: dict[ReplyStatus, frozenset[ReplyStatus]] = {
    _R.DRAFT: frozenset({_R.SENDING}),
    _R.PENDING_APPROVAL: frozenset({_R.DRAFT, _R.REJECTED}),
    # An attempt ends sent, not sent, refused, rate-limited (draft again) or unknown (sending).
    _R.SENDING: frozenset({_R.SENDING, _R.SENT, _R.NOT_SENT, _R.FAILED, _R.DRAFT}),
    _R.NOT_SENT: frozenset({_R.DRAFT}),
    _R.FAILED: frozenset({_R.DRAFT}),
    _R.DRY_RUN: frozenset({_R.DRAFT}),
    _R.SENT: frozenset(),
    _R.REJECTED: frozenset(),
}
assert set(ALLOWED) == set(ReplyStatus)


def reply_transition(reply: Reply, to: ReplyStatus) -> Reply:
    """Move ``reply`` to ``to`` (the caller commits and audits), or raise ``InvalidTransition``."""
    current = ReplyStatus(reply.status)
    if to not in ALLOWED[current]:
        raise InvalidTransition(f"reply {reply.id} is {current.value}; it cannot become {to.value}")
    reply.status = to.value
    return reply
