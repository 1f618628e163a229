"""Issue 17's done-when, against the running web app as agents and leads: the policy holds on every
surface (pages, JSON API, Slack, CLI)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select
from typer.testing import CliRunner
from web_factories import Browser, seed

from db.engine import session_scope
from db.models import AuditEvent, Case, Identity, LabelCorrection
from engagement.settings import EngagementSettings
from engagement.web import create_app

Login = Callable[[str], Browser]
HUGE = 2**63


def _api(browser: Browser, url: str, body: dict[str, Any] | None = None) -> Any:
    return browser.client.post(url, json=body or {}, headers={"X-CSRF-Token": browser.csrf})


@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
def test_labels_only_by_the_holder_and_only_for_the_case_s_posts(engine: Engine) -> None:
    ids = seed(engine)
    app = create_app(engine, EngagementSettings())
    ana, ben = Browser(app).login("ana@example.com"), Browser(app).login("ben@example.com")
    top, low = ids.cases["top"], ids.cases["low"]
    assert ana.post(f"/cases/{top}/claim").status_code == 303
    # Ben relabels a post of the case Ana holds: refused, on the page and through the API.
    page = ben.post(f"/cases/{top}/label", {"post_id": ids.posts["top"], "new_label": "neutral"})
    assert page.status_code == 409 and "claimed by Ana" in page.text
    api = _api(ben, f"/api/cases/{top}/label", {"post_id": ids.posts["top"], "label": "neutral"})
    assert api.status_code == 409
    # A post of another case through a case Ben may work: refused (the $8,000 case stays put).
    other = _api(ben, f"/api/cases/{low}/label", {"post_id": ids.posts["top"], "label": "neutral"})
    assert other.status_code == 403 and "not part of case" in other.json()["detail"]
    with session_scope(engine) as session:
        assert not session.exec(select(LabelCorrection)).all()
        case = session.get(Case, top)
        assert case is not None and case.priority == 900.0
    # Ana, who holds it, may.
    assert ana.post(f"/cases/{top}/label", {"post_id": ids.posts["top"], "new_label": "neutral"}).status_code == 303


def test_an_agent_cannot_reject_a_crm_link_but_a_lead_can(browser: Login, seeded: Any, sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        crm = session.exec(select(Identity).where(col(Identity.method) == "crm_import")).one()
    ana, lea = browser("ana@example.com"), browser("lea@example.com")
    top = seeded.cases["top"]
    refused = ana.post(f"/cases/{top}/decide-link", {"identity_id": crm.id, "decision": "reject"})
    assert refused.status_code == 403 and "only a lead" in refused.text
    # a link of another author through this case is not found
    assert (
        ana.post(f"/cases/{top}/decide-link", {"identity_id": seeded.identity_id, "decision": "confirm"}).status_code
        == 404
    )
    assert lea.post(f"/cases/{top}/decide-link", {"identity_id": crm.id, "decision": "reject"}).status_code == 303
    with session_scope(sqlite_engine) as session:
        link = session.get(Identity, crm.id)
        assert link is not None and link.status == "rejected" and link.confirmed_by == "Lea"


def test_a_lead_s_reply_on_a_held_case_needs_an_explicit_take_over(
    browser: Login, seeded: Any, sqlite_engine: Engine
) -> None:
    ana, lea = browser("ana@example.com"), browser("lea@example.com")
    top = seeded.cases["top"]
    assert ana.post(f"/cases/{top}/claim").status_code == 303
    refused = lea.post(f"/cases/{top}/reply", {"text": "We are on it"})
    assert refused.status_code == 409 and "take it over first" in refused.text
    assert _api(lea, f"/api/cases/{top}/reply", {"text": "We are on it"}).status_code == 409
    # an agent cannot take over
    assert browser("ben@example.com").post(f"/cases/{top}/take-over").status_code == 403
    assert lea.post(f"/cases/{top}/take-over").status_code == 303
    assert lea.post(f"/cases/{top}/reply", {"text": "We are on it"}).status_code == 303
    with session_scope(sqlite_engine) as session:
        trail = session.exec(
            select(AuditEvent).where(col(AuditEvent.case_id) == top).order_by(col(AuditEvent.id))
        ).all()
    taken = [e for e in trail if e.action == "taken_over"]
    assert len(taken) == 1 and taken[0].actor == "Lea" and taken[0].detail["previous_holder"] == "Ana"
    # Ana's own send now meets a clear refusal, not a silent double reply
    assert ana.post(f"/cases/{top}/reply", {"text": "Sorry!"}).status_code == 409


def test_an_agent_of_another_team_cannot_dismiss_or_escalate(browser: Login, seeded: Any) -> None:
    otto = browser("otto@example.com")  # billing
    for action in ("dismiss", "escalate"):
        answer = otto.post(f"/cases/{seeded.cases['low']}/{action}", {"reason": "not ours"})
        assert answer.status_code == 403 and "belongs to team care" in answer.text


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", f"/cases/{HUGE}"),
        ("get", f"/api/cases/{HUGE}"),
        ("get", "/api/cases/-1"),
        ("post", f"/api/cases/{HUGE}/claim"),
        ("post", f"/cases/{HUGE}/claim"),
        ("post", f"/cases/{2**63 - 1}/claim"),
        ("post", f"/api/cases/{2**64}/take-over"),
    ],
)
def test_huge_and_odd_ids_answer_4xx(browser: Login, seeded: Any, method: str, url: str) -> None:
    lea = browser("lea@example.com")
    answer = lea.get(url) if method == "get" else lea.post(url)
    assert answer.status_code in (404, 422), (url, answer.status_code)


def test_the_cli_refuses_a_made_up_agent(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from engagebot.cli import app

    ids = seed(sqlite_engine)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    runner = CliRunner()
    made_up = runner.invoke(app, ["queue", "claim", str(ids.cases["low"]), "--agent", "nobody"])
    assert made_up.exit_code == 2 and "no engagebot user 'nobody'" in " ".join(made_up.output.split())
    real = runner.invoke(app, ["queue", "claim", str(ids.cases["low"]), "--agent", "ana@example.com", "--json"])
    assert real.exit_code == 0, real.output
    with session_scope(sqlite_engine) as session:
        case = session.get(Case, ids.cases["low"])
        assert case is not None and case.claimed_by == "Ana"


def test_a_decided_link_needs_a_lead_and_suggestions_stay_with_the_team(
    browser: Login, seeded: Any, sqlite_engine: Engine
) -> None:
    """An agent rejects a suggestion on their team's case; neither they nor an agent of another
    team may turn that decision back (it needs a lead), and a suggestion on another team's case
    is not theirs to decide."""
    ana, otto, lea = browser("ana@example.com"), browser("otto@example.com"), browser("lea@example.com")
    low, suggestion = seeded.cases["low"], seeded.identity_id  # sam's suggested link, on care's case
    assert (
        otto.post(f"/cases/{low}/decide-link", {"identity_id": suggestion, "decision": "confirm"}).status_code == 403
    )  # billing's agent
    assert ana.post(f"/cases/{low}/decide-link", {"identity_id": suggestion, "decision": "reject"}).status_code == 303
    for who in (ana, otto):
        undo = who.post(f"/cases/{low}/decide-link", {"identity_id": suggestion, "decision": "confirm"})
        assert undo.status_code == 403, undo.text
    with session_scope(sqlite_engine) as session:
        link = session.get(Identity, suggestion)
        assert link is not None and (link.status, link.confirmed_by) == ("rejected", "Ana")
    assert lea.post(f"/cases/{low}/decide-link", {"identity_id": suggestion, "decision": "confirm"}).status_code == 303


def test_the_cli_decides_links_under_the_same_policy(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from engagebot.cli import app

    seed(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        crm = session.exec(select(Identity).where(col(Identity.method) == "crm_import")).one()
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    runner = CliRunner()
    by_agent = runner.invoke(app, ["identities", "reject", str(crm.id), "--by", "ana@example.com"])
    assert by_agent.exit_code == 2 and "only a lead or admin" in " ".join(by_agent.output.split())
    nobody = runner.invoke(app, ["identities", "confirm", str(crm.id), "--by", "nobody"])
    assert nobody.exit_code == 2 and "no engagebot user 'nobody'" in " ".join(nobody.output.split())
    huge = runner.invoke(app, ["identities", "reject", str(HUGE), "--by", "Lea"])
    assert huge.exit_code == 2 and "Traceback" not in huge.output
    by_lead = runner.invoke(app, ["identities", "reject", str(crm.id), "--by", "Lea"])
    assert by_lead.exit_code == 0, by_lead.output
    with session_scope(sqlite_engine) as session:
        link = session.get(Identity, crm.id)
        assert link is not None and (link.status, link.confirmed_by) == ("rejected", "Lea")


@pytest.mark.parametrize(
    "args,why",
    [
        (["queue", "show", str(HUGE)], "less than or equal to 2147483647"),
        (["queue", "approve", str(HUGE), "--lead", "Lea"], "less than or equal to 2147483647"),
        (["queue", "notes", str(HUGE)], "less than or equal to 2147483647"),
        (["queue", "similar", str(HUGE)], "less than or equal to 2147483647"),
        (["queue", "claim", "0", "--agent", "Ana"], "greater than or equal to 1"),
    ],
)
def test_the_cli_refuses_ids_outside_the_key_range(args: list[str], why: str) -> None:
    from db.types import MAX_ID
    from engagebot.cli import app
    from engagebot.commands.ids import MAX_ID as CLI_MAX_ID

    assert CLI_MAX_ID == MAX_ID
    answer = CliRunner().invoke(app, args)
    assert answer.exit_code == 2, answer.output  # a usage error, before any query
    plain = " ".join(re.sub(r"[│╭╮╰╯─]", " ", answer.output).split())  # rich's error box, unwrapped
    assert why in plain and "Traceback" not in answer.output
