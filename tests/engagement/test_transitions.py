"""The case state machine: every allowed move works and sets its fields; every other is refused."""

from __future__ import annotations

import itertools

import pytest
from case_states import make_case
from queue_factories import NOW
from sqlalchemy import Engine
from sqlmodel import col, select

from db.engine import session_scope
from db.models import AuditEvent, Case
from engagement.queue import CaseStatus, InvalidTransition, lock_case, transition
from engagement.queue.transitions import ALLOWED

PAIRS = list(itertools.product(CaseStatus, CaseStatus))


def test_the_table_names_every_status_and_finished_cases_only_reopen() -> None:
    assert set(ALLOWED) == set(CaseStatus)
    for finished in (CaseStatus.REPLIED, CaseStatus.DISMISSED, CaseStatus.CLOSED):
        assert ALLOWED[finished] == {CaseStatus.OPEN}
    assert CaseStatus.REPLIED not in ALLOWED[CaseStatus.OPEN]  # a reply needs the claim first


def test_every_transition_is_allowed_or_refused_as_the_table_says(engine: Engine) -> None:
    """All 49 pairs on this database: allowed ones set the lease/close fields and audit; the rest
    raise and leave the case as it was."""
    cases = {
        (a, b): make_case(engine, status=a.value, claimed_by="Ben" if a is CaseStatus.CLAIMED else None, now=NOW)[
            "case"
        ]
        for a, b in PAIRS
    }
    for (current, target), case_id in cases.items():
        with session_scope(engine, write=True) as session:
            case = lock_case(session, case_id)
            if target not in ALLOWED[current]:
                with pytest.raises(InvalidTransition, match=f"cannot become {target.value}"):
                    transition(session, case, target, actor="Lea", action="test", now=NOW, lease_minutes=15)
                continue
            transition(session, case, target, actor="Lea", action="test", now=NOW, lease_minutes=15, reason="why")
        with session_scope(engine) as session:
            case = session.get(Case, case_id)
            assert case is not None and case.status == target.value, (current, target)
            if target is CaseStatus.CLAIMED:
                assert case.claimed_by == "Lea" and case.claim_expires_at is not None
                assert case.claim_expires_at > NOW
            else:
                assert case.claimed_by is None and case.claim_expires_at is None, (current, target)
            finished = target in (CaseStatus.REPLIED, CaseStatus.DISMISSED, CaseStatus.CLOSED)
            assert (case.closed_at is not None, case.close_reason) == ((True, "why") if finished else (False, None))
            events = session.exec(select(AuditEvent).where(col(AuditEvent.case_id) == case_id)).all()
            assert [(e.actor, e.action, e.detail["from"], e.detail["to"]) for e in events] == [
                ("Lea", "test", current.value, target.value)
            ]
    with session_scope(engine) as session:
        refused = [cid for (a, b), cid in cases.items() if b not in ALLOWED[a]]
        untouched = session.exec(select(Case).where(col(Case.id).in_(refused))).all()
        by_id = {c.id: c for c in untouched}
        for (current, target), cid in cases.items():
            if target not in ALLOWED[current]:
                assert by_id[cid].status == current.value
        assert not session.exec(select(AuditEvent).where(col(AuditEvent.case_id).in_(refused))).all()


def test_a_claim_without_a_lease_is_refused(engine: Engine) -> None:
    case_id = make_case(engine, status="open", now=NOW)["case"]
    with session_scope(engine, write=True) as session:
        case = lock_case(session, case_id)
        with pytest.raises(ValueError, match="positive lease_minutes"):
            transition(session, case, CaseStatus.CLAIMED, actor="Ana", action="claimed", now=NOW)
