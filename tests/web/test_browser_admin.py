"""The admin pages in Debian's Chromium: an admin invites a person who signs in with the link; a
rule added on the Routing page routes the next post without a restart; the checklist turns green."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from chromium import CHROMIUM, CHROMIUM_ARGS, free_port
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine, select
from sqlmodel import col
from web_factories import PASSWORD, seed

from db.engine import session_scope
from db.models import Author, Case, Post, Score
from db.types import utcnow
from engagement.settings import EngagementSettings
from engagement.triage.cases import triage
from engagement.web import create_app

pytestmark = pytest.mark.browser
SETTINGS = EngagementSettings()  # what the running app and triage were started with: no rules


@pytest.fixture
def server(sqlite_engine: Engine) -> Iterator[str]:
    seed(sqlite_engine)
    app = create_app(sqlite_engine, SETTINGS)
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install it with 'apt-get install -y chromium'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _admin(chromium: Browser, base: str) -> Page:
    page = chromium.new_context(base_url=base, viewport={"width": 1280, "height": 900}).new_page()
    page.goto("/login")
    page.fill("input[name=email]", "adam@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/queue$"))
    return page


def test_an_admin_invites_a_person_who_signs_in_with_the_link(server: str, chromium: Browser) -> None:
    admin = _admin(chromium, server)
    admin.click("nav >> text=Admin")
    expect(admin).to_have_url(re.compile(r"/admin/go-live$"))
    admin.click(".admin-nav >> text=People")
    form = admin.locator("#invite-form")
    form.locator("input[name=email]").fill("jonas@example.com")
    form.locator("input[name=name]").fill("Jonas")
    form.locator("input[name=team]").fill("dach")
    form.locator("button[type=submit]").click()
    expect(admin.locator("#invite-result")).to_contain_text("Copy this one-time sign-in link")
    shown = admin.locator("#invite-link").input_value()
    assert shown.startswith("http://localhost:8000/invite/")  # built on engagement.public_url
    link = server + "/invite/" + shown.rsplit("/", 1)[1]

    newcomer = chromium.new_context(viewport={"width": 390, "height": 800}).new_page()
    newcomer.goto(link)
    expect(newcomer.locator("h1")).to_have_text("Welcome, Jonas")
    newcomer.fill("input[name=password]", "jonas-secret-1")
    newcomer.fill("input[name=confirm]", "jonas-secret-1")
    newcomer.click("button[type=submit]")
    expect(newcomer).to_have_url(re.compile(r"/queue$"))
    expect(newcomer.locator(".me")).to_contain_text("Jonas · agent · team dach")
    newcomer.context.clear_cookies()
    newcomer.goto(link)
    expect(newcomer.locator("h1")).to_have_text("This link does not work")


def _german_post(engine: Engine) -> int:
    with session_scope(engine) as session:
        author = Author(platform="x", external_id="u-klaus", handle="klaus")
        session.add(author)
        session.flush()
        post = Post(platform="x", external_id="de-9", source="x-search", text="Ich warte seit Wochen auf mein Geld",
                    lang="de", author_id=author.id, created_at=utcnow() - timedelta(minutes=3))  # fmt: skip
        session.add(post)
        session.flush()
        assert post.id is not None
        session.add(Score(post_id=post.id, model_id="m", label="negative", p_negative=0.95, p_neutral=0.03,
                          p_positive=0.02, scored_at=utcnow()))  # fmt: skip
        return post.id


def test_a_new_rule_routes_the_next_post_without_a_restart(
    server: str, chromium: Browser, sqlite_engine: Engine
) -> None:
    admin = _admin(chromium, server)
    admin.goto("/admin/routing")
    test = admin.locator("#rule-test")
    test.locator("input[name=text]").fill("Ich warte seit Wochen")
    test.locator("input[name=lang]").fill("de")
    test.locator("button[type=submit]").click()
    expect(admin.locator("#rule-test-result")).to_have_text("team default (rule: none)")

    add = admin.locator("#rule-add")
    add.locator("input[name=name]").fill("german")
    add.locator("input[name=team]").fill("dach")
    add.locator("input[name=languages]").fill("de")
    add.locator("button[type=submit]").click()
    expect(admin.locator('#rules li[data-rule="german"]')).to_contain_text("german → dach")
    test.locator("input[name=text]").fill("Ich warte seit Wochen")
    test.locator("input[name=lang]").fill("de")
    test.locator("button[type=submit]").click()
    expect(admin.locator("#rule-test-result")).to_have_text("team dach (rule: german)")

    post = _german_post(sqlite_engine)
    triage(sqlite_engine, SETTINGS)  # the same settings object as before the rule: no restart
    with session_scope(sqlite_engine) as session:
        case = session.execute(select(Case).where(col(Case.post_id) == post)).scalar_one()
        assert case.team == "dach"
    admin.goto("/admin/teams")
    expect(admin.locator(".team-warning").first).to_contain_text("team dach has no agent")


def test_the_checklist_turns_green_step_by_step(server: str, chromium: Browser) -> None:
    admin = _admin(chromium, server)
    admin.goto("/admin/go-live")
    brand = admin.locator('[data-check="brand"]')
    expect(brand).to_have_attribute("data-ok", "false")
    expect(brand).to_contain_text('engagebot brand set --name "Your Brand"')
    brand.locator("a").click()
    expect(admin).to_have_url(re.compile(r"/admin/brand$"))
    admin.fill("#brand-form input[name=name]", "Skylark Air")
    admin.click("#brand-form button[type=submit]")
    expect(admin.locator("#brand-form + [data-api-result]")).to_have_text("Saved.")
    admin.goto("/admin/go-live")
    expect(admin.locator('[data-check="brand"]')).to_have_attribute("data-ok", "true")
    expect(admin.locator('[data-check="crm"]')).to_have_attribute("data-ok", "true")  # the seed has a customer
    expect(admin.locator("#golive-count")).to_contain_text("2 of 6 done")
    teams = admin.locator('[data-check="teams"]')
    expect(teams).to_contain_text("team default has no agent")
    teams.locator("a").click()
    expect(admin).to_have_url(re.compile(r"/admin/teams$"))
    admin.click(".team-warning >> text=Invite an agent to default")
    form = admin.locator("#invite-form")
    form.locator("input[name=email]").fill("dora@example.com")
    form.locator("input[name=name]").fill("Dora")
    form.locator("input[name=team]").fill("default")
    form.locator("button[type=submit]").click()
    expect(admin.locator("#invite-result")).to_contain_text("Added Dora")
    admin.goto("/admin/go-live")
    expect(admin.locator('[data-check="teams"]')).to_have_attribute("data-ok", "true")
    expect(admin.locator("#golive-count")).to_contain_text("3 of 6 done")
