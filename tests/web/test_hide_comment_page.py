"""The "Hide comment" button: on a Facebook case page for a lead (or the holder), not on other
platforms' cases, and pressing it hides the comment through the fake Graph API (audited)."""

from __future__ import annotations

from pathlib import Path

from fake_api import Answer, fake_api
from sqlmodel import col, select
from web_factories import Browser, seed

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import AuditEvent, Case, Post
from engagement.settings import EngagementSettings, ReplySettings
from engagement.web import create_app

COMMENT = "245778718206154_229887283291835"


def test_the_hide_comment_button_hides_it_on_facebook(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hide.db'}")
    upgrade(engine)
    ids = seed(engine)
    facebook, x_case = ids.cases["low"], ids.cases["top"]
    with session_scope(engine, write=True) as session:
        post, case = session.get(Post, ids.posts["low"]), session.get(Case, facebook)
        assert post is not None and case is not None
        post.platform, post.external_id, case.platform = "facebook", COMMENT, "facebook"
        session.add_all([post, case])
    with fake_api() as api:
        api.on("POST", f"/v21.0/{COMMENT}", Answer({"success": True}))
        replies = ReplySettings(dry_run=False, facebook_page_token="page-token", graph_api_base=api.url + "/v21.0")
        app = create_app(engine, EngagementSettings(replies=replies))
        lead = Browser(app).login("lea@example.com")
        assert 'id="hide-comment"' in lead.get(f"/cases/{facebook}").text
        assert 'id="hide-comment"' not in lead.get(f"/cases/{x_case}").text  # an X case: nothing to hide
        agent = Browser(app).login("ana@example.com")
        assert 'id="hide-comment"' not in agent.get(f"/cases/{facebook}").text  # not her case (yet)
        answer = lead.post(f"/cases/{facebook}/hide-comment")
        assert answer.status_code == 303 and answer.headers["location"] == f"/cases/{facebook}"
        assert "is hidden" in lead.get(f"/cases/{facebook}").text
        [sent] = api.seen("POST")
        assert sent.form() == {"is_hidden": "true"} and sent.headers["authorization"] == "Bearer page-token"
        refused = lead.client.post(f"/api/cases/{x_case}/hide-comment", headers={"X-CSRF-Token": lead.csrf})
        assert refused.status_code == 409 and "only Facebook comments" in refused.json()["detail"]
    with session_scope(engine) as session:
        events = session.exec(select(AuditEvent).where(col(AuditEvent.case_id) == facebook)).all()
        assert [(e.actor, e.action) for e in events if e.action == "comment_hidden"] == [("Lea", "comment_hidden")]
