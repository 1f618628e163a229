"""Safe outputs of the web app: JSON without NaN/Infinity, odd ids answer 404/422 on every
route, 422 bodies in the published shape, /docs served offline under the CSP."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web_factories import Browser, Seed, seed

from db.engine import session_scope
from db.models import Case, Customer
from engagement.jsonsafe import dumps, finite
from engagement.settings import EngagementSettings
from engagement.web import create_app
from engagement.web.app import CSP
from engagement.web.ids import MAX_ID
from engagement.web.responses import SafeJSONResponse


def strict_json(text: str) -> Any:
    """Parse as a strict JSON parser would: NaN, Infinity and -Infinity are errors."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_finite_and_dumps_never_write_nan_or_infinity() -> None:
    value = {"a": math.inf, "b": [-math.inf, 1.5, (math.nan, "x")], "c": {"d": 2}, "e": None}
    assert finite(value) == {"a": None, "b": [None, 1.5, [None, "x"]], "c": {"d": 2}, "e": None}
    assert strict_json(dumps(value)) == finite(value)
    with pytest.raises(ValueError):
        json.dumps({"x": math.inf}, allow_nan=False)
    assert SafeJSONResponse({"p": math.nan}).body == b'{"p":null}'


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
def test_api_answers_hold_no_infinity_even_when_the_database_does(engine: Engine) -> None:
    ids = seed(engine)
    ana = Browser(create_app(engine, EngagementSettings())).login("ana@example.com")
    with session_scope(engine) as session:
        case = session.get(Case, ids.cases["top"])
        customer = session.get(Customer, ids.customer_id)
        assert case is not None and customer is not None
        case.priority, case.money_at_risk = math.inf, -math.inf
        customer.clv, customer.rclv = math.inf, -math.inf
        session.add_all([case, customer])
    for url in ("/api/cases", f"/api/cases/{ids.cases['top']}", "/api/cases?status=all&team=all"):
        answer = ana.get(url)
        assert answer.status_code == 200, (url, answer.text[:300])
        assert "Infinity" not in answer.text and "NaN" not in answer.text
        strict_json(answer.text)
    top = strict_json(ana.get("/api/cases").text)["cases"][0]
    assert top["priority"] is None and top["money_at_risk"] is None


ODD_IDS = ["0", "-1", "abc", "1.5", str(2**31), str(2**63), str(2**64 + 7), "9" * 40, "%20", "1e3"]


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every route of the app, routers included (FastAPI keeps included routers as one entry)."""
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):
            out.extend(api_routes(route.original_router.routes))
    return out


def _routes_with_ids(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method, route.path)
        for route in api_routes(app.routes)
        if re.search(r"\{\w*_id\}", route.path)
        for method in sorted(route.methods)
    ]


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{\w*_id\}", value, path).replace("{decision}", "confirm")


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["sqlite", "postgres"], indirect=True)
def test_odd_and_huge_ids_answer_404_or_422_on_every_route(engine: Engine) -> None:
    seed(engine)
    app = create_app(engine, EngagementSettings())
    admin = Browser(app).login("adam@example.com")
    routes = _routes_with_ids(app)
    assert len(routes) >= 20
    for method, path in routes:
        for value in [*ODD_IDS, str(MAX_ID)]:
            url = _fill(path, value)
            if method == "GET":
                answer = admin.get(url, follow_redirects=False)
            else:
                answer = admin.client.request(
                    method, url, headers={"X-CSRF-Token": admin.csrf}, data={"csrf_token": admin.csrf},
                    follow_redirects=False,
                )  # fmt: skip
            # the largest id that can exist reaches the route (not found, or idempotently nothing)
            ok = answer.status_code < 500 if value == str(MAX_ID) else answer.status_code in (404, 422)
            assert ok, (method, url, answer.status_code, answer.text[:200])


def test_a_422_body_matches_the_published_schema(browser: Any, seeded: Seed) -> None:
    ana = browser("ana@example.com")
    answers = [
        ana.get("/api/cases", params={"limit": "lots"}),
        ana.get(f"/api/cases/{2**63}"),
        ana.client.post(f"/api/cases/{seeded.cases['low']}/dismiss", headers={"X-CSRF-Token": ana.csrf}, json=[]),
        ana.client.post(
            f"/api/cases/{seeded.cases['low']}/label", headers={"X-CSRF-Token": ana.csrf}, json={"post_id": -3}
        ),
        # a 422 the queue raises (a reply with a variable no case can fill) has the same shape
        ana.client.post(
            f"/api/cases/{seeded.cases['top']}/reply", headers={"X-CSRF-Token": ana.csrf}, json={"text": "Hi {nope}"}
        ),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert isinstance(body["detail"], list) and body["detail"]  # other fields may come beside it
        for item in body["detail"]:
            assert {"loc", "msg", "type"} <= set(item) and isinstance(item["loc"], list)
            assert isinstance(item["msg"], str) and isinstance(item["type"], str)
    assert answers[0].json()["detail"][0]["loc"] == ["query", "limit"]
    assert set(answers[0].json()) == {"detail"}
    assert "{nope}" in answers[-1].json()["detail"][0]["msg"] and answers[-1].json()["variable"] == "nope"
    # the page routes keep a readable error page
    page = ana.get(f"/cases/{2**63}")
    assert page.status_code == 422 and "case_id" in page.text and "<html" in page.text


def test_every_answer_carries_the_csp_and_docs_work_offline(app: FastAPI, browser: Any, seeded: Seed) -> None:
    ana = browser("ana@example.com")
    docs = ana.get("/docs")
    assert docs.status_code == 200
    for answer in (docs, ana.get("/queue"), ana.get("/api/me"), ana.get("/openapi.json"), ana.get("/nowhere")):
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
    html = docs.text
    assert "http://" not in html and "https://" not in html  # nothing from a CDN
    assert "<script>" not in html and "onload" not in html  # no inline code
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/docs-assets/swagger-ui-bundle.js" in sources and "/static/swagger-init.js" in sources
    for source in sources:
        asset = ana.get(source)
        assert asset.status_code == 200 and len(asset.content) > 100, source
    assert "SwaggerUIBundle" in ana.get("/docs-assets/swagger-ui-bundle.js").text
    assert ana.get("/openapi.json").json()["paths"]["/api/cases"]
    anonymous = TestClient(app, base_url="https://testserver")
    assert anonymous.get("/docs", follow_redirects=False).status_code == 303
    assert anonymous.get("/openapi.json").status_code == 401


def test_queue_list_json_prints_no_infinity(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``engagebot queue list --json`` over a case whose numbers overflowed stays strict JSON."""
    from typer.testing import CliRunner

    from db.engine import make_engine
    from db.migrate import upgrade
    from engagebot.cli import app as cli

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = make_engine(url)
    upgrade(engine)
    ids = seed(engine)
    with session_scope(engine) as session:
        case = session.get(Case, ids.cases["top"])
        assert case is not None
        case.priority, case.money_at_risk = math.inf, -math.inf
        session.add(case)
    engine.dispose()
    result = CliRunner().invoke(cli, ["queue", "list", "--status", "all", "--json"])
    assert result.exit_code == 0, result.output
    listed = strict_json(result.stdout)
    top = next(c for c in listed["cases"] if c["id"] == ids.cases["top"])
    assert top["priority"] is None and top["money_at_risk"] is None
    assert "Infinity" not in result.stdout
