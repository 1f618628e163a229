"""Hiding a Facebook comment from its case (moderation): the case command against a local fake
Graph API sends ``POST /{comment-id}`` with ``is_hidden=true`` under the Page token, audits
``comment_hidden``, leaves the case as it was, and refuses agents who do not hold the case and
cases from other platforms."""

from __future__ import annotations

from pathlib import Path

import pytest
from case_states import AGENT, LEAD, make_case
from fake_api import Answer, fake_api
from queue_factories import NOW
from sqlalchemy import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import AuditEvent, Case, Post, User
from engagebot.cli import app as cli_app
from engagement.commands import HideComment, perform
from engagement.queue import NotClaimant
from engagement.queue.moderation import NotHideable
from engagement.settings import EngagementSettings, ReplySettings

COMMENT = "245778718206154_229887283291835"


def _facebook_case(
    engine: Engine, *, status: str = "open", claimed_by: str | None = None, comment: str = COMMENT
) -> int:
    ids = make_case(engine, status=status, now=NOW, claimed_by=claimed_by)
    with session_scope(engine, write=True) as session:
        post = session.get(Post, ids["post"])
        case = session.get(Case, ids["case"])
        assert post is not None and case is not None
        post.platform, post.external_id, case.platform = "facebook", comment, "facebook"
        session.add_all([post, case])
    return ids["case"]


def _settings(api_url: str, *, dry_run: bool = False) -> EngagementSettings:
    replies = ReplySettings(dry_run=dry_run, facebook_page_token="page-token", graph_api_base=api_url + "/v21.0")
    return EngagementSettings(replies=replies)


def _audit(engine: Engine, case_id: int) -> list[tuple[str, str, dict[str, object]]]:
    with session_scope(engine) as session:
        rows = session.exec(select(AuditEvent).where(col(AuditEvent.case_id) == case_id)).all()
        return [(e.actor, e.action, dict(e.detail or {})) for e in rows]


def test_a_lead_hides_the_comment_on_facebook_and_it_is_audited(engine: Engine) -> None:
    case_id = _facebook_case(engine)
    with fake_api() as api:
        api.on("POST", f"/v21.0/{COMMENT}", Answer({"success": True}))
        outcome = perform(engine, LEAD, case_id, HideComment(), settings=_settings(api.url), now=NOW)
        [sent] = api.seen("POST")
    assert outcome.ok and "hidden" in outcome.message
    assert sent.path == f"/v21.0/{COMMENT}"
    assert sent.form() == {"is_hidden": "true"}
    assert sent.headers["authorization"] == "Bearer page-token"
    assert ("Lea", "comment_hidden", {"post_id": outcome.case.post_id, "comment_id": COMMENT}) in _audit(
        engine, case_id
    )
    assert outcome.case.status == "open"  # moderation leaves the case where it was


def test_the_holder_may_hide_others_may_not(engine: Engine) -> None:
    mine = _facebook_case(engine, status="claimed", claimed_by=AGENT.name)
    free = _facebook_case(engine, comment=COMMENT + "9")
    with fake_api() as api:
        api.on("POST", f"/v21.0/{COMMENT}", Answer({"success": True}))
        assert perform(engine, AGENT, mine, HideComment(), settings=_settings(api.url), now=NOW).ok
        with pytest.raises(NotClaimant):
            perform(engine, AGENT, free, HideComment(), settings=_settings(api.url), now=NOW)
        assert len(api.seen("POST")) == 1  # the refusal never reached Facebook
    assert not [a for a in _audit(engine, free) if a[1] == "comment_hidden"]


def test_other_platforms_are_refused_with_what_to_do(engine: Engine) -> None:
    ids = make_case(engine, status="open", now=NOW)  # an X post
    with pytest.raises(NotHideable, match="only Facebook comments can be hidden"):
        perform(engine, LEAD, ids["case"], HideComment(), settings=EngagementSettings(), now=NOW)


def test_a_hide_that_did_not_happen_says_why_and_audits_nothing(engine: Engine) -> None:
    case_id = _facebook_case(engine)
    expired = {"error": {"message": "Error validating access token", "type": "OAuthException", "code": 190}}
    with fake_api() as api:
        api.on("POST", f"/v21.0/{COMMENT}", Answer(expired, status=400))
        refused = perform(engine, LEAD, case_id, HideComment(), settings=_settings(api.url), now=NOW)
        dry = perform(engine, LEAD, case_id, HideComment(), settings=_settings(api.url, dry_run=True), now=NOW)
        assert len(api.seen("POST")) == 1  # dry run calls nobody
    assert not refused.ok and "NOT hidden" in refused.message and "FACEBOOK_PAGE_TOKEN" in refused.message
    assert not dry.ok and "dry_run" in dry.message
    assert not [a for a in _audit(engine, case_id) if a[1] == "comment_hidden"]


def test_the_cli_hides_a_comment_and_refuses_other_platforms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'hide.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine, write=True) as session:
        session.add(User(email="lea@example.com", name="Lea", role="lead", team="care", password_hash="-"))
    case_id = _facebook_case(engine)
    other = make_case(engine, status="open", now=NOW)["case"]
    monkeypatch.chdir(tmp_path)  # no settings file: the defaults and the environment
    with fake_api() as api:
        api.on("POST", f"/v21.0/{COMMENT}", Answer({"success": True}))
        env = {
            "DATABASE_URL": url,
            "ENGAGEBOT_ENGAGEMENT__REPLIES__DRY_RUN": "false",
            "ENGAGEBOT_ENGAGEMENT__REPLIES__GRAPH_API_BASE": api.url + "/v21.0",
            "FACEBOOK_PAGE_TOKEN": "page-token",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(cli_app, ["queue", "hide-comment", str(case_id), "--agent", "Lea"])
        assert result.exit_code == 0, result.output
        assert "hid the comment of case" in result.output
        refused = CliRunner().invoke(cli_app, ["queue", "hide-comment", str(other), "--agent", "Lea"])
        assert refused.exit_code != 0 and "only Facebook comments" in refused.output
        assert len(api.seen("POST", f"/v21.0/{COMMENT}")) == 1
    assert [a[:2] for a in _audit(engine, case_id)] == [("Lea", "comment_hidden")]
    with session_scope(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status == "open"
