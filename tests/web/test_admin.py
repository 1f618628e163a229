"""Lead view and the admin settings view: the right numbers, and never a secret on screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web_factories import Browser

from db.engine import session_scope
from db.jobs import job_run
from db.models import AuditEvent, Case
from db.types import utcnow
from engagement.settings import (
    EngagementSettings,
    RoutingRule,
    RoutingSettings,
    SlackSettings,
    WebSettings,
)
from engagement.web import create_app

Login = Callable[[str], Browser]


def test_lead_view_shows_load_breaches_tiers_and_throughput(browser: Login, seeded: Any, sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        # Two replies by Ana, each writing its submitted + sent rows: "Replied 2", not 4.
        for case in ("low", "hostile"):
            for action in ("reply_submitted", "reply_sent", "claimed"):
                session.add(AuditEvent(case_id=seeded.cases[case], actor="Ana", action=action))
        session.add(AuditEvent(case_id=seeded.cases["top"], actor="Ana", action="dismissed"))
        for robot in ("triage", "system"):
            session.add(AuditEvent(case_id=seeded.cases["top"], actor=robot, action="opened"))
        top = session.get(Case, seeded.cases["top"])
        billing = session.get(Case, seeded.cases["billing"])
        assert top is not None and billing is not None
        # A younger breach worth more money leads the list; both are escalated.
        billing.sla_due_at = utcnow() - timedelta(minutes=5)
        billing.money_at_risk = top.money_at_risk * 10
        top.status = billing.status = "escalated"
        session.add_all([top, billing])
    html = browser("lea@example.com").get("/lead").text
    load = html.split('id="team-load"')[1].split("</table>")[0]
    num = '<td class="num">{}</td>'.format
    assert "care</a></td>" + num(2) + num(0) + num(0) + num(1) in load and "billing" in load  # open .. escalated
    assert 'class="num overdue">1</td>' in load  # the top case is past its SLA
    breaches = html.split('id="breaches"')[1].split("</table>")[0]
    assert f'/cases/{seeded.cases["top"]}"' in breaches
    assert f'/cases/{seeded.cases["low"]}"' not in breaches
    assert breaches.index(f'/cases/{seeded.cases["billing"]}"') < breaches.index(f'/cases/{seeded.cases["top"]}"')
    escalations = html.split('id="escalations"')[1].split("</table>")[0]
    assert escalations.index(f'/cases/{seeded.cases["billing"]}"') < escalations.index(f'/cases/{seeded.cases["top"]}"')
    assert f'/cases/{seeded.cases["low"]}"' not in escalations
    tiers = html.split('id="tiers"')[1].split("</table>")[0]
    assert "tier-top" in tiers and "tier-high" in tiers and "tier-unlinked" in tiers
    agents = html.split('id="agents"')[1].split("</table>")[0]
    assert "<td>Ana</td>" + num(2) + num(1) + num(0) + num(2) in agents  # replied, dismissed, escalated, claims
    assert "<td>triage</td>" not in agents and "<td>system</td>" not in agents
    only = browser("lea@example.com").get("/lead?team=billing").text.split('id="breaches"')[1]
    assert f'/cases/{seeded.cases["top"]}"' not in only
    assert browser("lea@example.com").get("/lead?days=0").status_code == 422


def test_settings_view_shows_sources_runs_rules_users_and_no_secrets(sqlite_engine: Engine, seeded: Any) -> None:
    secrets = [
        "xoxb-very-secret-token",
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "sign-me-secret",
        "s" * 40,
    ]
    settings = EngagementSettings(
        slack=SlackSettings(
            bot_token=secrets[0],  # type: ignore[arg-type]
            webhook_url=secrets[1],  # type: ignore[arg-type]
            signing_secret=secrets[2],  # type: ignore[arg-type]
        ),
        routing=RoutingSettings(rules=[RoutingRule(name="refunds", team="billing", keywords=["refund", "<charged>"])]),
        web=WebSettings(session_secret=secrets[3]),  # type: ignore[arg-type]
    )
    try:
        with job_run(sqlite_engine, "collect", source="x-search") as counts:
            counts["fetched"] = 3
            raise RuntimeError("HTTP 503 from api.x.com")
    except RuntimeError:
        pass
    with job_run(sqlite_engine, "score") as counts:
        counts["scored"] = 12
    sources = [
        {
            "name": "x-search",
            "platform": "x",
            "kind": "search",
            "query": "@acme",
            "interval_minutes": 15,
        }
    ]
    app = create_app(sqlite_engine, settings, sources=sources)
    admin = Browser(app).login("adam@example.com")
    page = admin.get("/settings")
    assert page.status_code == 200
    html = page.text
    for secret in secrets:
        assert secret not in html
    assert "HTTP 503 from api.x.com" in html and "@acme" in html and "scored 12" in html
    assert "refunds" in html and "&lt;charged&gt;" in html
    assert "otto@example.com" in html
    assert "$argon2" not in html
    api = TestClient(app, base_url="https://testserver")
    assert api.get("/settings", follow_redirects=False).status_code == 303
