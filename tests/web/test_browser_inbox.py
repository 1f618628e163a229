"""Two people on one case, saved replies, the X counter, live updates and phones, in Debian's
Chromium (Playwright, headless) against the app served on a free localhost port.

The server polls nothing on its own schedule here (``poll_seconds=120``), so a page that updates
within the waits below was told by the event stream, not by the polling fallback.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from chromium import CHROMIUM, CHROMIUM_ARGS, free_port
from playwright.sync_api import Browser, Dialog, Page, ViewportSize, expect, sync_playwright
from sqlalchemy import Engine
from web_factories import PASSWORD, Seed, seed

from engagement.actors import Actor
from engagement.commands.cases import Dismiss, TakeOver, perform
from engagement.settings import EngagementSettings, WebSettings
from engagement.web import create_app

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
LIVE_WAIT_MS = 10_000  # generous: the stream polls every 0.5 s; the fallback would take 120 s


def _serve(engine: Engine, poll_seconds: int) -> Iterator[tuple[str, Seed]]:
    ids = seed(engine)
    app = create_app(engine, EngagementSettings(web=WebSettings(poll_seconds=poll_seconds)))
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
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
def server(sqlite_engine: Engine) -> Iterator[tuple[str, Seed]]:
    """The app with polling out of reach (120 s): what updates in time came by the event stream."""
    yield from _serve(sqlite_engine, poll_seconds=120)


@pytest.fixture
def polling_server(sqlite_engine: Engine) -> Iterator[tuple[str, Seed]]:
    yield from _serve(sqlite_engine, poll_seconds=2)


@pytest.fixture
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install it with 'apt-get install -y chromium'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def sign_in(
    browser: Browser,
    base: str,
    email: str,
    viewport: ViewportSize | None = None,
    asked: list[str] | None = None,
    init_script: str | None = None,
) -> Page:
    """A fresh browser profile signed in as ``email``. 'Leave the page?' is answered 'stay' and
    noted in ``asked``; any other dialog means a script ran, and fails the test."""
    context = browser.new_context(base_url=base, viewport=viewport or {"width": 1280, "height": 900})
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()

    def on_dialog(dialog: Dialog) -> None:
        if dialog.type != "beforeunload":
            pytest.fail(f"a script ran: {dialog.message}")
        if asked is not None:
            asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/queue$"))
    return page


def test_two_people_on_one_case(server: tuple[str, Seed], chromium: Browser) -> None:
    """Presence, Send off for the non-holder, a lead's take-over the holder is told of, and a
    draft that survives the take-over, a reload, Esc, leaving the page and a refused send."""
    base, ids = server
    low = ids.cases["low"]
    asked: list[str] = []
    ana = sign_in(chromium, base, "ana@example.com", asked=asked)
    ana.goto(f"/cases/{low}")
    ana.click("#claim")
    expect(ana.locator("#holder")).to_contain_text("You hold this case")
    ana.fill("#reply-text", "Sorry {first_name}, I am checking the delay now.")
    expect(ana.locator("#draft-status")).to_have_text("Draft saved")

    lea = sign_in(chromium, base, "lea@example.com")
    lea.goto(f"/cases/{low}")
    expect(lea.locator("#presence-list")).to_contain_text("Ana is replying")
    expect(lea.locator("#holder")).to_contain_text("Ana is working on this case since")
    lea.fill("#reply-text", "Lea's note")
    expect(lea.locator("#draft-status")).to_have_text("Draft saved")
    expect(lea.locator("#send-reply")).to_be_disabled()  # the lead's reply cannot go out over Ana's claim
    expect(ana.locator("#presence-list")).to_contain_text("Lea is", timeout=LIVE_WAIT_MS)

    lea.click("#take-over")
    expect(lea.locator("#holder")).to_contain_text("You hold this case")
    expect(lea.locator(".flash-info")).to_have_count(0)  # one banner says it: the holder banner above
    expect(lea.locator("#reply-text")).to_have_value("Lea's note")  # her own draft came back too

    # Ana is told without a reload; her text stays and her Send goes off.
    expect(ana.locator("#taken-over")).to_contain_text("Lea took this case over", timeout=LIVE_WAIT_MS)
    expect(ana.locator("#send-reply")).to_be_disabled()
    expect(ana.locator("#reply-text")).to_have_value("Sorry {first_name}, I am checking the delay now.")

    # Esc twice (leave the box, then the page) keeps her on the case with the draft.
    ana.locator("#reply-text").press("Escape")
    ana.keyboard.press("Escape")
    expect(ana.locator("#draft-status")).to_contain_text("You have a draft here")
    expect(ana).to_have_url(re.compile(rf"/cases/{low}$"))

    # Unsaved text: leaving asks first; staying keeps everything.
    ana.locator("#reply-text").press_sequentially(" More", delay=0)
    ana.click("a.button[href='/queue']", no_wait_after=True)
    expect(ana).to_have_url(re.compile(rf"/cases/{low}$"))
    assert asked == ["beforeunload"]
    expect(ana.locator("#draft-status")).to_have_text("Draft saved")

    ana.reload()  # restored from the server
    expect(ana.locator("#reply-text")).to_have_value("Sorry {first_name}, I am checking the delay now. More")

    # A send that slips through anyway (a stale page) is refused with a page that keeps the text.
    ana.evaluate("document.getElementById('send-reply').disabled = false")
    ana.locator("#send-reply").evaluate("b => b.form.submit()")
    expect(ana.locator("#conflict")).to_contain_text("Lea holds this case since")
    expect(ana.locator("#reply-text")).to_have_value("Sorry {first_name}, I am checking the delay now. More")


def test_saved_reply_preview_refusal_and_the_x_counter(server: tuple[str, Seed], chromium: Browser) -> None:
    base, ids = server
    top = ids.cases["top"]
    lea = sign_in(chromium, base, "lea@example.com")
    lea.goto("/saved-replies")
    lea.fill("#saved-name", "bag-found")
    lea.fill("#saved-text", "Hi {frist_name}, we found your bag.")
    expect(lea.locator("#saved-error")).to_contain_text("{frist_name}")
    expect(lea.locator("#saved-submit")).to_be_disabled()
    lea.fill("#saved-text", "Hi {first_name}, we found your bag ({case_id}).")
    expect(lea.locator("#saved-preview")).to_have_text("Hi Zoë, we found your bag (123).")
    lea.click("#saved-submit")
    expect(lea.locator("tr[data-saved='bag-found']")).to_contain_text("by Lea")

    ana = sign_in(chromium, base, "ana@example.com")
    ana.goto(f"/cases/{top}")
    ana.select_option("#template", "bag-found")
    expect(ana.locator("#preview-text")).to_have_text(f"Hi Zoë, we found your bag ({top}).")
    expect(ana.locator("#send-reply")).to_be_enabled()

    ana.fill("#reply-text", "Sorry {firstname}!")
    expect(ana.locator("#reply-error")).to_contain_text("unknown variable {firstname}")
    expect(ana.locator("#send-reply")).to_be_disabled()

    ana.fill("#reply-text", "a" * 270 + " 日本語 😀")  # 270 + 1 + 6 + 1 + 2: CJK and emoji weigh 2
    expect(ana.locator("#reply-counter")).to_have_text("280 / 280")
    expect(ana.locator("#send-reply")).to_be_enabled()
    ana.fill("#reply-text", "a" * 300)
    expect(ana.locator("#reply-counter")).to_have_text("300 / 280")
    expect(ana.locator("#reply-counter")).to_have_class(re.compile(r"\bover\b"))
    expect(ana.locator("#reply-error")).to_contain_text("20 over the x limit of 280")
    expect(ana.locator("#send-reply")).to_be_disabled()

    ana.fill("#reply-text", "Thanks {first_name}, a courier brings it today: https://skylark.example/track/" + "x" * 80)
    expect(ana.locator("#reply-counter")).to_have_text(re.compile(r"^6\d / 280$"))  # the URL counts 23
    ana.locator("#reply-text").press("Control+Enter")
    # dry run: nothing was posted, so Ana stays on the case and is told so, with what to do next
    expect(ana).to_have_url(re.compile(r"/cases/\d+$"))
    expect(ana.locator("div.flash-error")).to_contain_text("was NOT posted: dry_run setting is on")
    expect(ana.locator("#reply-1-not-sent")).to_have_text("not sent: dry_run setting is on")


def test_live_events_deliver_a_claim_to_a_second_session(server: tuple[str, Seed], chromium: Browser) -> None:
    base, ids = server
    low = ids.cases["low"]
    ben = sign_in(chromium, base, "ben@example.com")
    expect(ben.locator("html")).to_have_attribute("data-live", "sse")
    row = ben.locator(f'tr[data-case="{low}"]')
    expect(row).to_be_visible()
    expect(row.locator(".holder")).to_have_count(0)
    ana = sign_in(chromium, base, "ana@example.com")
    ana.goto(f"/cases/{low}")
    ana.click("#claim")
    expect(ana.locator("#holder")).to_contain_text("You hold this case")
    expect(row.locator(".holder")).to_have_text("Ana", timeout=LIVE_WAIT_MS)  # no reload on Ben's side


def test_without_event_source_pages_fall_back_to_polling(
    polling_server: tuple[str, Seed], chromium: Browser
) -> None:
    base, ids = polling_server
    low = ids.cases["low"]
    ben = sign_in(chromium, base, "ben@example.com", init_script="delete window.EventSource;")
    expect(ben.locator("html")).to_have_attribute("data-live", "polling")
    row = ben.locator(f'tr[data-case="{low}"]')
    ana = sign_in(chromium, base, "ana@example.com")
    ana.goto(f"/cases/{low}")
    ana.click("#claim")
    expect(row.locator(".holder")).to_have_text("Ana", timeout=LIVE_WAIT_MS)


def test_queue_and_case_pages_fit_a_phone(server: tuple[str, Seed], chromium: Browser) -> None:
    base, ids = server
    page = sign_in(chromium, base, "lea@example.com", viewport=PHONE)
    pages = ("/queue?team=all", f"/cases/{ids.cases['top']}", f"/cases/{ids.cases['hostile']}", "/account", "/reports")
    for path in pages:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a {PHONE['width']} px screen"
    page.goto("/queue?team=all")
    expect(page.locator("table.queue tbody tr").first).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_be_visible()
    expect(page.locator("#keys-help")).to_contain_text("take over from the holder")


def _lead() -> Actor:
    return Actor(name="Lea", role="lead", team="care", email="lea@example.com")


def test_action_bars_follow_a_take_over_without_a_reload(
    server: tuple[str, Seed], chromium: Browser, sqlite_engine: Engine
) -> None:
    """The buttons come from the server on each live change: the lead sees Take over once Ana
    claims, and after the take-over (from another surface) Ana has no Release or Send while the
    lead has both; neither page reloads."""
    base, ids = server
    low = ids.cases["low"]
    ana = sign_in(chromium, base, "ana@example.com")
    ana.goto(f"/cases/{low}")
    lea = sign_in(chromium, base, "lea@example.com")
    lea.goto(f"/cases/{low}")
    expect(lea.locator("#take-over")).to_have_count(0)
    lea.evaluate("window.__sameLoad = true")

    ana.click("#claim")
    expect(ana.locator("#release")).to_be_visible()
    ana.evaluate("window.__sameLoad = true")
    expect(lea.locator("#case-status")).to_have_text("claimed", timeout=LIVE_WAIT_MS)
    expect(lea.locator("#take-over")).to_contain_text("Take over from Ana", timeout=LIVE_WAIT_MS)
    expect(lea.locator("#claim")).to_be_disabled()
    expect(lea.locator("#send-reply")).to_be_hidden()

    perform(sqlite_engine, _lead(), low, TakeOver(), settings=EngagementSettings())  # e.g. from Slack

    expect(ana.locator("#release")).to_have_count(0, timeout=LIVE_WAIT_MS)
    expect(ana.locator("#send-reply")).to_be_hidden(timeout=LIVE_WAIT_MS)
    expect(ana.locator("#take-over")).to_have_count(0)
    expect(lea.locator("#release")).to_be_visible(timeout=LIVE_WAIT_MS)
    expect(lea.locator("#send-reply")).to_be_visible(timeout=LIVE_WAIT_MS)
    lea.fill("#reply-text", "Sorry {first_name}, I am on it.")
    expect(lea.locator("#send-reply")).to_be_enabled()
    expect(lea.locator("#take-over")).to_have_count(0)
    assert ana.evaluate("window.__sameLoad") is True and lea.evaluate("window.__sameLoad") is True


def test_bulk_selection_drops_a_row_removed_live_and_keeps_the_filter(
    server: tuple[str, Seed], chromium: Browser, sqlite_engine: Engine
) -> None:
    base, ids = server
    low, hostile = ids.cases["low"], ids.cases["hostile"]
    ana = sign_in(chromium, base, "ana@example.com")
    ana.goto("/queue?assigned=unassigned")
    ana.check(f'tr[data-case="{low}"] input.pick-case')
    ana.check(f'tr[data-case="{hostile}"] input.pick-case')
    expect(ana.locator("#bulk-count")).to_have_text("2 selected")

    perform(sqlite_engine, _lead(), low, Dismiss(reason="handled by phone"), settings=EngagementSettings())

    expect(ana.locator(f'tr[data-case="{low}"]')).to_have_count(0, timeout=LIVE_WAIT_MS)
    expect(ana.locator("#bulk-count")).to_have_text(f"1 selected; case {low} left the queue")
    ana.select_option("#bulk-action", "tag")
    ana.fill("#bulk-tag", "press")
    ana.click("#bulk-apply")
    expect(ana.locator(".flash-info")).to_contain_text("Tag: 1 of 1 case(s).")
    expect(ana).to_have_url(re.compile(r"/queue\?.*assigned=unassigned"))
    expect(ana.locator("#assigned")).to_have_value("unassigned")
