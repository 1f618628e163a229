"""Whatever arrives in a URL, a form or a JSON body, the answer is a 2xx/3xx/4xx, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from web_factories import Browser, seed

from engagement.settings import EngagementSettings
from engagement.web import create_app

junk = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(team=junk, platform=junk, status=junk, q=junk, offset=st.integers(-5, 10**12))
def test_queue_filters_never_500(
    browser: Any, seeded: Any, team: str, platform: str, status: str, q: str, offset: int
) -> None:
    ana = browser_cache(browser)
    params = {"team": team, "platform": platform, "status": status, "q": q, "offset": str(offset)}
    for url in ("/queue", "/queue/rows", "/api/cases", "/export/queue.csv", "/closed"):
        assert ana.get(url, params=params).status_code < 500


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=junk, template=junk, reason=junk, label=junk, post_id=junk)
def test_case_forms_never_500(
    browser: Any, seeded: Any, text: str, template: str, reason: str, label: str, post_id: str
) -> None:
    ana = browser_cache(browser)
    case = seeded.cases["low"]
    for url, data in [
        (f"/cases/{case}/reply", {"text": text, "template": template}),
        (f"/cases/{case}/dismiss", {"reason": reason}),
        (f"/cases/{case}/escalate", {"reason": reason}),
        (f"/cases/{case}/label", {"post_id": post_id, "new_label": label}),
    ]:
        assert ana.post(url, data).status_code < 500
        assert (
            ana.client.post(
                f"/api{url}", headers={"X-CSRF-Token": ana.csrf}, json={"text": text, "reason": reason, "label": label}
            ).status_code
            < 500
        )


_cache: dict[int, Browser] = {}


def browser_cache(factory: Any) -> Browser:
    """One signed-in client per test function (logging in for every example would be slow)."""
    key = id(factory)
    if key not in _cache:
        _cache.clear()
        _cache[key] = factory("ana@example.com")
    return _cache[key]


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_nul_bytes_and_huge_numbers_on_postgres_are_4xx(engine: Engine) -> None:
    seed(engine)
    ana = Browser(create_app(engine, EngagementSettings())).login("ana@example.com")
    assert ana.get("/queue", params={"q": "bag\x00"}).status_code == 400
    assert ana.get("/api/cases", params={"team": "\x00"}).status_code == 400
    assert ana.get("/cases/99999999999999999999").status_code in (400, 404, 422)
    assert ana.post("/cases/99999999999999999999/claim").status_code in (400, 404, 422)
