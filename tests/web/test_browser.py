"""End to end in Debian's Chromium (Playwright, headless): log in, take the next case, reply,
see it leave the queue; a second browser session sees the claim and the queue update itself."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from chromium import CHROMIUM, CHROMIUM_ARGS, free_port
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import Engine
from web_factories import HOSTILE, PASSWORD, Platform, Seed, seed

from engagement.bidi import reveal_bidi
from engagement.settings import EngagementSettings, WebSettings
from engagement.web import create_app

pytestmark = pytest.mark.browser


@pytest.fixture
def server(sqlite_engine: Engine) -> Iterator[tuple[str, Seed]]:
    """The app on a free localhost port, in a thread, over a seeded SQLite file."""
    ids = seed(sqlite_engine)
    settings = EngagementSettings(web=WebSettings(poll_seconds=2))
    app = create_app(sqlite_engine, settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", ids
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


def _session(browser: Browser, base: str, email: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
    page.goto("/queue")
    expect(page).to_have_url(re.compile(r"/login\?next=/queue$"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/queue$"))
    return context, page


def test_take_next_reply_and_the_case_leaves_the_queue(
    server: tuple[str, Seed], chromium: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, ids = server
    platform = Platform().install(monkeypatch)  # the reply really goes out
    top = ids.cases["top"]
    _, ana = _session(chromium, base, "ana@example.com")
    _, ben = _session(chromium, base, "ben@example.com")
    top_row = f'tr[data-case="{top}"]'
    expect(ana.locator("table.queue tbody tr").first).to_have_attribute("data-case", str(top))
    expect(ben.locator(top_row)).to_be_visible()

    ana.click("#next-case")
    expect(ana).to_have_url(re.compile(rf"/cases/{top}$"))
    expect(ana.locator("#holder")).to_contain_text("You hold this case")
    expect(ana.locator(".post.in-case .text")).to_have_text("My bag is lost and nobody answers")

    # Ben's queue polls (HTMX, no reload) and shows who holds the case; the case page says so too.
    expect(ben.locator(f"{top_row} .holder")).to_have_text("Ana", timeout=10_000)
    ben_case = ben.context.new_page()
    ben_case.goto(f"/cases/{top}")
    expect(ben_case.locator("#holder")).to_contain_text("Ana is working on this case")
    expect(ben_case.locator("#claim")).to_be_disabled()

    ana.fill("#reply-text", "Sorry {first_name}, a courier is bringing your bag today.")
    ana.click("#send-reply")
    expect(ana).to_have_url(re.compile(r"/queue$"))
    expect(ana.locator(".flash-info")).to_contain_text(f"Reply to case {top} posted.")
    assert [text for _, text, _ in platform.posted] == ["Sorry Zoë, a courier is bringing your bag today."]
    expect(ana.locator(top_row)).to_have_count(0)
    expect(ben.locator(top_row)).to_have_count(0, timeout=10_000)  # gone from Ben's screen by polling
    ben_case.reload()
    expect(ben_case.locator("#case-status")).to_have_text("replied")
    expect(ben_case.locator(".reply .text")).to_have_text("Sorry Zoë, a courier is bringing your bag today.")


def test_keyboard_and_hostile_text(server: tuple[str, Seed], chromium: Browser) -> None:
    base, ids = server
    _, page = _session(chromium, base, "ben@example.com")
    hostile_row = page.locator(f'tr[data-case="{ids.cases["hostile"]}"]')
    expect(hostile_row.locator(".text")).to_have_text(reveal_bidi(HOSTILE))  # the overrides shown, not obeyed
    assert page.locator("img[src=x]").count() == 0
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(hostile_row).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/cases/{ids.cases['hostile']}$"))
    expect(page.locator(".post.in-case .text")).to_have_text(reveal_bidi(HOSTILE))
    page.keyboard.press("c")
    expect(page.locator("#holder")).to_contain_text("You hold this case")
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/queue$"))
    page.keyboard.press("/")
    page.keyboard.type("bag")
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    page.locator("#q").press("Escape")
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(rf"/cases/{ids.cases['top']}$"))


def test_relabel_closes_the_case_then_reopen_and_snooze(server: tuple[str, Seed], chromium: Browser) -> None:
    base, ids = server
    low = ids.cases["low"]
    _, ana = _session(chromium, base, "ana@example.com")
    ana.goto(f"/cases/{low}")
    ana.select_option(".label-form select[name=new_label]", "neutral")
    ana.click(".label-form button[type=submit]")
    expect(ana.locator(".flash-info")).to_contain_text("The case is closed")
    expect(ana.locator("#case-status")).to_have_text("closed")
    ana.goto("/queue")
    expect(ana.locator(f'tr[data-case="{low}"]')).to_have_count(0)

    ana.goto(f"/cases/{low}")
    ana.fill("#lifecycle-panel input[name=reason]", "the customer wrote again")
    ana.click("#reopen")  # the follow-up card arrives by HTMX after the page
    expect(ana.locator("#case-status")).to_have_text("open")
    ana.select_option("#snooze-hours", "4")
    ana.click("#snooze")
    expect(ana).to_have_url(re.compile(r"/queue$"))
    expect(ana.locator(".flash-info")).to_contain_text(f"Case {low} snoozed until")
    expect(ana.locator(f'tr[data-case="{low}"]')).to_have_count(0)
    ana.check("#snoozed-filter")  # the filter bar refreshes the table in place
    expect(ana.locator(f'tr[data-case="{low}"]')).to_be_visible()


def test_bulk_dismiss_from_the_queue(server: tuple[str, Seed], chromium: Browser) -> None:
    base, ids = server
    low, hostile, top = ids.cases["low"], ids.cases["hostile"], ids.cases["top"]
    _, ana = _session(chromium, base, "ana@example.com")
    ana.check(f'tr[data-case="{low}"] input.pick-case')
    ana.check(f'tr[data-case="{hostile}"] input.pick-case')
    expect(ana).to_have_url(re.compile(r"/queue$"))  # ticking a box does not open the case
    expect(ana.locator("#bulk-count")).to_have_text("2 selected")
    ana.select_option("#bulk-action", "dismiss")
    expect(ana.locator("#bulk-tag")).to_be_hidden()
    ana.fill("#bulk-reason", "duplicate of a handled case")
    ana.click("#bulk-apply")
    expect(ana.locator(".flash-info")).to_contain_text("Dismiss: 2 of 2 case(s).")
    expect(ana.locator(f'tr[data-case="{low}"]')).to_have_count(0)
    expect(ana.locator(f'tr[data-case="{hostile}"]')).to_have_count(0)
    expect(ana.locator(f'tr[data-case="{top}"]')).to_be_visible()
    ana.goto(f"/cases/{low}")
    expect(ana.locator("#case-status")).to_have_text("dismissed")


def test_reports_page_lists_weeks_and_renders_one(
    server: tuple[str, Seed], chromium: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/reports from the navigation: the weeks with posts, one week's report framed under the nav
    (its own styles allowed, scripts not), its CSVs and PDF downloadable."""
    monkeypatch.chdir(tmp_path)  # the app builds missing reports under ./out/reports
    base, _ids = server
    _, lea = _session(chromium, base, "lea@example.com")
    lea.click("nav >> text=Reports")
    expect(lea).to_have_url(re.compile(r"/reports$"))
    weeks = lea.locator("#report-weeks tbody tr")
    expect(weeks.first).to_contain_text("not yet")
    week = weeks.first.get_attribute("data-week")
    assert week is not None and re.fullmatch(r"\d{4}-W\d{2}", week)
    weeks.first.locator("a").first.click()
    expect(lea).to_have_url(re.compile(rf"/reports/{week}$"))
    frame = lea.frame_locator("#report-frame")
    expect(frame.locator("h1")).to_contain_text(f"Weekly sentiment-to-CLV report {week}")
    expect(frame.locator("[data-figure=unanswered_money]")).to_have_text(re.compile(r"^\$[\d,]+$"))
    expect(frame.locator("#table-revenue_at_risk")).to_be_visible()
    with lea.expect_download() as pdf:
        lea.click("#report-pdf")
    assert pdf.value.suggested_filename == f"weekly-report-{week}.pdf"
    lea.locator("#report-csvs summary").click()
    with lea.expect_download() as table:
        lea.click("text=revenue_at_risk.csv")
    content = Path(table.value.path()).read_text(encoding="utf-8")
    assert content.splitlines()[0].endswith(",currency") and ",USD" in content
    lea.goto("/reports")
    expect(lea.locator("#report-weeks tbody tr").first).not_to_contain_text("not yet")


def test_docs_render_offline_under_the_csp_and_logout_ends_the_session(
    server: tuple[str, Seed], chromium: Browser
) -> None:
    """Swagger UI comes from the app itself: with every other host unreachable it renders the
    API, and the browser reports no Content-Security-Policy violation. After logout, a copy of
    the session cookie is refused."""
    base, _ids = server
    context, page = _session(chromium, base, "ana@example.com")
    elsewhere: list[str] = []
    context.route(
        re.compile(r"^(?!http://127\.0\.0\.1:\d+/).*"),
        lambda route: (elsewhere.append(route.request.url), route.abort()),
    )
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto("/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/cases/{case_id}/claim").first).to_be_visible(
        timeout=15_000
    )
    expect(page.locator(".information-container .title")).to_contain_text("engagebot")
    assert elsewhere == []
    assert not [line for line in console if "Content Security Policy" in line or "Refused to" in line]

    cookies = context.cookies()
    copy = chromium.new_context(base_url=base)
    copy.add_cookies(cookies)
    assert copy.request.get("/api/me").status == 200
    page.goto("/queue")
    page.click("header .me button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert copy.request.get("/api/me").status == 401
    copy.close()


def test_lead_view_fits_a_laptop_screen(server: tuple[str, Seed], chromium: Browser) -> None:
    base, _ = server
    context = chromium.new_context(base_url=base, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", "lea@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/lead")
    expect(page.locator("#team-load")).to_be_visible()
    # Every table fits its card: the At risk column is never cut off.
    overflowing = page.evaluate(
        "Array.from(document.querySelectorAll('.lead-grid > .card')).filter("
        "c => c.scrollWidth > c.clientWidth + 1).map(c => c.querySelector('table').id)"
    )
    assert overflowing == []
    at_risk = page.locator("#team-load th", has_text="At risk").bounding_box()
    card = page.locator(".lead-grid > .card").first.bounding_box()
    assert at_risk is not None and card is not None
    assert at_risk["x"] + at_risk["width"] <= card["x"] + card["width"], "At risk shows whole"
    columns = page.evaluate("getComputedStyle(document.querySelector('.lead-grid')).gridTemplateColumns")
    assert len(columns.split()) == 2, columns
    context.close()
