"""The outbox state machine: every status change of a notification goes through ``move``.

Why one function: a message's status and the fields that belong to it (``sent_at``,
``last_error``, ``attempt_started_at``) must change together, and a message that was sent
must never go back to ``pending`` (it would be sent twice) nor be marked ``failed`` by a
sender whose claim had already ended. ``ALLOWED`` says which moves exist; anything else raises
``InvalidOutboxTransition``. The claim protocol (who may record an outcome) stays in
``deliver.py``; this module only says which outcomes a status can take.
"""

from __future__ import annotations

from datetime import datetime

from db.models import Outbox
from db.vocab import OutboxStatus

_S = OutboxStatus

#: from -> the statuses it may move to
ALLOWED: dict[OutboxStatus, frozenset[OutboxStatus]] = {
    _S.PENDING: frozenset({_S.SENT, _S.FAILED}),
    _S.SENT: frozenset(),  # delivered: final, whatever a late attempt says
    _S.FAILED: frozenset({_S.PENDING}),  # a person retries it
}


class InvalidOutboxTransition(RuntimeError):
    """A move the table does not have: a bug in the caller."""


def is_allowed(current: OutboxStatus | str, to: OutboxStatus | str) -> bool:
    """True when the table has the move ``current -> to``."""
    return OutboxStatus(to) in ALLOWED[OutboxStatus(current)]


def move(row: Outbox, to: OutboxStatus, /, *, at: datetime, error: str | None = None) -> Outbox:
    """Move ``row`` to ``to`` in the caller's transaction (the caller adds it), or raise.

    - ``sent``: ``sent_at = at``, no error, nothing left in doubt;
    - ``failed``: ``last_error = error`` (given up: permanent, or out of attempts);
    - ``pending`` (a retry of a failed one): due at ``at``, attempts start again.
    """
    current = OutboxStatus(row.status)
    if not is_allowed(current, to):
        raise InvalidOutboxTransition(f"outbox message {row.id} is {current.value}; it cannot become {to.value}")
    row.status = to
    if to is OutboxStatus.SENT:
        row.sent_at = at
        row.last_error = None
        row.attempt_started_at = None
    elif to is OutboxStatus.FAILED:
        row.last_error = error
    else:
        row.next_attempt_at = at
        row.attempts = 0
        row.claimed_by = None
    return row
