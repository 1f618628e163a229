"""The permission policy as a matrix: role x action x claim state, each cell's expected answer.

The expected answers are the table in docs/queue.md (so the docs cannot drift from the code), and
every cell is also run through the real queue steps on SQLite and PostgreSQL: an allowed cell
must succeed, a refused one must raise the error its HTTP answer comes from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from case_states import ADMIN, AGENT, LEAD, case_in
from queue_factories import NOW
from sqlalchemy import Engine

from db.engine import session_scope
from engagement import queue
from engagement.actors import Actor
from engagement.queue.policy import Action, ClaimState, Verdict, decide
from engagement.settings import ReplySettings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "queue.md"
WORDS = {
    "allow": Verdict.ALLOW,
    "allow (free)": Verdict.ALLOW_FREE,
    "409 held": Verdict.HELD,
    "403 not holder": Verdict.NOT_CLAIMANT,
    "403 lead only": Verdict.LEAD_ONLY,
    "403 other team": Verdict.OTHER_TEAM,
    "409 wrong state": Verdict.WRONG_STATE,
}
COLUMNS = (
    ("free, my team", ClaimState.FREE, True),
    ("free, other team", ClaimState.FREE, False),
    ("mine", ClaimState.MINE, True),
    ("someone else's", ClaimState.OTHERS, True),
    ("waiting for approval", ClaimState.WAITING, True),
    ("finished", ClaimState.FINISHED, True),
)
ROLES = {"agent": ("agent",), "lead, admin": ("lead", "admin")}
ERRORS: dict[Verdict, type[Exception]] = {
    Verdict.HELD: queue.AlreadyClaimed,
    Verdict.NOT_CLAIMANT: queue.NotClaimant,
    Verdict.LEAD_ONLY: queue.NotAllowed,
    Verdict.OTHER_TEAM: queue.NotAllowed,
    Verdict.WRONG_STATE: queue.InvalidTransition,
}


def docs_matrix() -> dict[tuple[str, Action, ClaimState, bool], Verdict]:
    """The policy table of docs/queue.md, cell by cell."""
    rows = [line for line in DOCS.read_text().splitlines() if re.match(r"^\| [a-z_]+ \| (agent|lead, admin) \|", line)]
    cells: dict[tuple[str, Action, ClaimState, bool], Verdict] = {}
    for line in rows:
        action, role_group, *answers = [part.strip() for part in line.strip("|").split("|")]
        assert len(answers) == len(COLUMNS), line
        for role in ROLES[role_group]:
            for (_, state, own), answer in zip(COLUMNS, answers, strict=True):
                cells[(role, Action(action), state, own)] = WORDS[answer]
    return cells


MATRIX = docs_matrix()


def test_the_docs_table_covers_every_cell_and_the_code_agrees() -> None:
    assert len(MATRIX) == 3 * len(Action) * len(COLUMNS)
    disagree = {
        cell: (expected.value, decide(cell[0], cell[1], cell[2], own_team=cell[3]).value)
        for cell, expected in MATRIX.items()
        if decide(cell[0], cell[1], cell[2], own_team=cell[3]) is not expected
    }
    assert not disagree


def test_the_rules_the_issue_names() -> None:
    """The cells people got wrong before, spelled out."""
    assert MATRIX[("agent", Action.LABEL, ClaimState.OTHERS, True)] is Verdict.HELD
    assert MATRIX[("lead", Action.REPLY, ClaimState.OTHERS, True)] is Verdict.HELD  # take over first
    assert MATRIX[("lead", Action.TAKE_OVER, ClaimState.OTHERS, True)] is Verdict.ALLOW
    assert MATRIX[("agent", Action.DECIDE_CRM_LINK, ClaimState.FREE, True)] is Verdict.LEAD_ONLY
    assert MATRIX[("agent", Action.DISMISS, ClaimState.FREE, False)] is Verdict.OTHER_TEAM
    assert MATRIX[("agent", Action.ESCALATE, ClaimState.FREE, False)] is Verdict.OTHER_TEAM
    assert MATRIX[("agent", Action.APPROVE_REPLY, ClaimState.WAITING, True)] is Verdict.LEAD_ONLY


Step = Callable[[Engine, Actor, dict[str, int]], Any]
REPLIES = ReplySettings()


def _label(engine: Engine, actor: Actor, ids: dict[str, int]) -> None:
    with session_scope(engine) as session:
        case = queue.lock_case(session, ids["case"])
        queue.authorize_label(session, actor, case, ids["post"], NOW)


def _link(key: str) -> Step:
    def step(engine: Engine, actor: Actor, ids: dict[str, int]) -> None:
        with session_scope(engine) as session:
            case = queue.lock_case(session, ids["case"])
            queue.authorize_link_decision(session, actor, case, ids[key], NOW)

    return step


def _policy_only(action: Action) -> Step:
    """Notes and tags are stored by the inbox; here the policy's answer on the live case."""

    def step(engine: Engine, actor: Actor, ids: dict[str, int]) -> None:
        with session_scope(engine) as session:
            queue.authorize(actor, action, queue.lock_case(session, ids["case"]), NOW)

    return step


STEPS: dict[Action, Step] = {
    Action.CLAIM: lambda e, a, ids: queue.claim(e, ids["case"], actor=a, now=NOW),
    Action.RELEASE: lambda e, a, ids: queue.release(e, ids["case"], actor=a, now=NOW),
    Action.TAKE_OVER: lambda e, a, ids: queue.take_over(e, ids["case"], actor=a, now=NOW),
    Action.REPLY: lambda e, a, ids: queue.reply(e, ids["case"], actor=a, text="Sorry!", settings=REPLIES, now=NOW),
    Action.DISMISS: lambda e, a, ids: queue.dismiss(e, ids["case"], actor=a, reason="spam", now=NOW),
    Action.ESCALATE: lambda e, a, ids: queue.escalate(e, ids["case"], actor=a, now=NOW),
    Action.SNOOZE: lambda e, a, ids: queue.snooze(e, ids["case"], actor=a, minutes=30, now=NOW),
    Action.LABEL: _label,
    Action.NOTE: _policy_only(Action.NOTE),
    Action.TAG: _policy_only(Action.TAG),
    Action.REASSIGN: lambda e, a, ids: queue.reassign(
        e, ids["case"], actor=a, to=Actor("Ben", "agent", "care"), team="care", now=NOW
    ),
    Action.REOPEN: lambda e, a, ids: queue.reopen(e, ids["case"], actor=a, now=NOW),
    Action.APPROVE_REPLY: lambda e, a, ids: queue.approve_reply(e, ids["reply"], actor=a, settings=REPLIES, now=NOW),
    Action.DECIDE_SUGGESTED_LINK: _link("suggested_link"),
    Action.DECIDE_CRM_LINK: _link("crm_link"),
    # hiding calls Facebook: tests/engagement/test_hide_comment.py runs it against a fake Graph API
    Action.HIDE_COMMENT: _policy_only(Action.HIDE_COMMENT),
}


def test_every_cell_through_the_real_steps(engine: Engine) -> None:
    """288 cells (3 roles x 16 actions x 6 claim states) on this database."""
    assert set(STEPS) == set(Action)
    actors = {"agent": AGENT, "lead": LEAD, "admin": ADMIN}
    wrong: list[str] = []
    for (role, action, state, own), expected in MATRIX.items():
        actor = actors[role]
        ids = case_in(engine, state, actor, own_team=own, now=NOW)
        cell = f"{role} {action.value} on {state.value}{'' if own else ' (other team)'}"
        try:
            STEPS[action](engine, actor, ids)
        except Exception as exc:
            if expected in (Verdict.ALLOW, Verdict.ALLOW_FREE):
                wrong.append(f"{cell}: expected allowed, got {type(exc).__name__}: {exc}")
            elif not isinstance(exc, ERRORS[expected]):
                wrong.append(f"{cell}: expected {ERRORS[expected].__name__}, got {type(exc).__name__}: {exc}")
            continue
        if expected not in (Verdict.ALLOW, Verdict.ALLOW_FREE):
            wrong.append(f"{cell}: expected {expected.value}, but it was allowed")
    assert not wrong, "\n".join(wrong)
