"""Every case command through every surface: the form route, the JSON API, the CLI and Slack's
buttons leave the same database behind (status, audit trail, assignee, draft, replies).

Each surface works on a fresh copy of the same seeded database, so the effects can be compared
whole: one front door (``engagement.commands.perform``) means no surface may differ.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select
from typer.testing import CliRunner
from web_factories import Browser, Platform, Seed, seed

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import AuditEvent, Case, Reply, ReplyDraft, User
from engagebot.cli import app as cli_app
from engagement.queue import drafts
from engagement.settings import EngagementSettings, SlackSettings
from engagement.web import create_app, slack_actions

SECRET = "0123456789abcdef0123456789abcdef"
SLACK_IDS = {"Ana": "U0ANA0001", "Lea": "U0LEA0001"}
WHO = {"Ana": "ana@example.com", "Lea": "lea@example.com"}

# name -> (who acts, form fields, JSON body, CLI arguments after the case id, Slack action or None)
Spec = tuple[str, dict[str, Any], dict[str, Any], list[str], tuple[str, str] | None]


def _commands(ids: Seed) -> dict[str, Spec]:
    post, link = ids.posts["low"], ids.identity_id
    return {
        "claim": ("Ana", {}, {}, ["claim", "{case}"], ("case_claim", "{case}")),
        "dismiss": ("Ana", {"reason": "spam"}, {"reason": "spam"}, ["dismiss", "{case}", "--reason", "spam"], None),
        "escalate": ("Ana", {"reason": "legal"}, {"reason": "legal"}, ["escalate", "{case}", "--reason", "legal"], None),  # noqa: E501
        "reassign": ("Lea", {"to": "Ben"}, {"to": "Ben"}, ["reassign", "{case}", "--to", "Ben"], ("case_assign", "{case}:Ben")),  # noqa: E501
        "snooze": ("Ana", {"hours": "1"}, {"minutes": 60}, ["snooze", "{case}", "--hours", "1"], ("case_snooze", "{case}")),  # noqa: E501
        "reply": ("Ana", {"text": "Sorry!"}, {"text": "Sorry!"}, ["reply", "{case}", "--text", "Sorry!"], None),
        "label": (
            "Ana",
            {"post_id": str(post), "new_label": "neutral"},
            {"post_id": post, "label": "neutral"},
            ["label", "{case}", "--label", "neutral", "--post", str(post)],
            None,
        ),
        "decide-link": (
            "Ana",
            {"identity_id": str(link), "decision": "reject"},
            {"identity_id": link, "decision": "reject"},
            ["@identities", "reject", str(link), "--by", "Ana"],
            None,
        ),
    }  # fmt: skip


def _effects(engine: Engine, case_id: int) -> dict[str, Any]:
    """What a command left behind on the case, without times."""
    with session_scope(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        audit = session.exec(
            select(AuditEvent).where(col(AuditEvent.case_id) == case_id).order_by(col(AuditEvent.id))
        ).all()
        replies = session.exec(select(Reply).where(col(Reply.case_id) == case_id)).all()
        draft = session.exec(select(ReplyDraft).where(col(ReplyDraft.case_id) == case_id)).first()
        return {
            "status": case.status,
            "holder": case.claimed_by,
            "assignee": case.assignee,
            "team": case.team,
            "snoozed": case.snoozed_until is not None,
            "close_reason": case.close_reason,
            "priority": round(case.priority, 4),
            "audit": [(e.actor, e.action) for e in audit],
            "replies": [(r.author, r.status, r.text) for r in replies],
            "draft_kept": draft is not None,
        }


def _fresh(tmp_path: Path, surface: str) -> tuple[Engine, Seed, str]:
    url = f"sqlite:///{tmp_path / (surface + '.db')}"
    engine = make_engine(url)
    upgrade(engine)
    ids = seed(engine)
    with session_scope(engine, write=True) as session:
        for name, slack_id in SLACK_IDS.items():
            user = session.exec(select(User).where(col(User.name) == name)).one()
            user.slack_user_id = slack_id
            session.add(user)
        # Ana has typed a draft on the case: a posted reply drops it on every surface
        drafts.save_draft(session, case_id=ids.cases["low"], user_name="Ana", text="Sorry!")
    return engine, ids, url


def _slack_body(action_id: str, value: str, user: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": "t-1",
        "actions": [{"action_id": action_id, "value": value}],
        "message": {"blocks": []},
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def _signed(body: bytes, at: float) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), f"v0:{int(at)}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(int(at)), "X-Slack-Signature": f"v0={digest}"}


Runner = Callable[[Engine, Seed, str, str, Spec], None]


def _via_form(engine: Engine, ids: Seed, url: str, name: str, spec: Spec) -> None:
    who, form, _, _, _ = spec
    browser = Browser(create_app(engine, _settings())).login(WHO[who])
    answer = browser.post(f"/cases/{ids.cases['low']}/{name}", form)
    assert answer.status_code == 303, answer.text


def _via_api(engine: Engine, ids: Seed, url: str, name: str, spec: Spec) -> None:
    who, _, body, _, _ = spec
    browser = Browser(create_app(engine, _settings())).login(WHO[who])
    answer = browser.client.post(
        f"/api/cases/{ids.cases['low']}/{name}", json=body, headers={"X-CSRF-Token": browser.csrf}
    )
    assert answer.status_code == 200, answer.text


def _via_cli(engine: Engine, ids: Seed, url: str, name: str, spec: Spec) -> None:
    who, _, _, args, _ = spec
    argv = [a.replace("{case}", str(ids.cases["low"])) for a in args]
    argv = ["identities", *argv[1:]] if argv[0] == "@identities" else ["queue", *argv, "--agent", who]
    result = CliRunner().invoke(cli_app, argv, env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output


def _via_slack(engine: Engine, ids: Seed, url: str, name: str, spec: Spec) -> None:
    who, _, _, _, slack = spec
    assert slack is not None
    action_id, value = slack
    body = _slack_body(action_id, value.replace("{case}", str(ids.cases["low"])), SLACK_IDS[who])
    from db.types import utcnow

    now = utcnow()
    result = slack_actions.handle_interaction(engine, _settings(), body=body, headers=_signed(body, now.timestamp()),
                                              now=now)  # fmt: skip
    assert result.status_code == 200 and result.error is None, result


def _settings() -> EngagementSettings:
    return EngagementSettings(slack=SlackSettings(signing_secret=SECRET))


SURFACES: dict[str, Runner] = {"form": _via_form, "api": _via_api, "cli": _via_cli, "slack": _via_slack}
#: How far a case's priority may move while the surfaces run one after another (it ages).
AGING_DRIFT = 1e-3
NAMES = ["claim", "dismiss", "escalate", "reassign", "snooze", "reply", "label", "decide-link"]


@pytest.mark.parametrize("name", NAMES)
def test_every_surface_leaves_the_same_effects(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the CLI reads no settings file but the defaults, like the app here
    Platform().install(monkeypatch)  # replies really go out (to the in-memory platform)
    seen: dict[str, dict[str, Any]] = {}
    befores: dict[str, dict[str, Any]] = {}
    for surface, run in SURFACES.items():
        engine, ids, url = _fresh(tmp_path, surface)
        spec = _commands(ids)[name]
        if surface == "slack" and spec[4] is None:
            continue  # Slack's buttons are claim, snooze and assign
        before = befores[surface] = _effects(engine, ids.cases["low"])
        run(engine, ids, url, name, spec)
        seen[surface] = _effects(engine, ids.cases["low"])
        assert seen[surface] != before, f"{name} via {surface} changed nothing"
        engine.dispose()
    first = seen["form"]
    for surface, effects in seen.items():
        # priority ages with the wall clock (age_factor), and the surfaces run one after another:
        # seconds apart, so it is compared to 0.1%, far finer than any command's re-pricing
        assert effects["priority"] == pytest.approx(first["priority"], rel=AGING_DRIFT), (
            f"{name}: {surface} re-priced differently"
        )
        assert {**effects, "priority": None} == {**first, "priority": None}, (
            f"{name}: {surface} differs from the form route"
        )
    if name == "reply":  # the draft became the reply, everywhere
        assert first["draft_kept"] is False and first["replies"] == [("Ana", "sent", "Sorry!")]
    if name == "decide-link":  # the link decision re-priced the case on every surface, audited
        assert ("Ana", "link_rejected") in first["audit"]
        assert first["priority"] != pytest.approx(befores["form"]["priority"], rel=AGING_DRIFT), (
            "rejecting the link re-priced nothing"
        )
