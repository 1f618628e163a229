"""Take the README's screenshots from the demo data (a script, not a test).

Runs ``engagebot demo``'s cycle into a scratch folder, serves the app on a free localhost port
and drives Debian's Chromium (headless) to ``docs/screenshots/``: ``queue.png`` and ``case.png``
(desktop), ``queue-phone.png`` (390 px wide), ``case-presence.png`` (the demo lead on a case the
demo agent holds and is answering, with the lead's own draft) and ``saved-replies.png``.

    .venv/bin/python tests/web/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from chromium import CHROMIUM, CHROMIUM_ARGS, serve
from playwright.sync_api import Browser, Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]


def sign_in(browser: Browser, base: str, email: str, password: str, **context: object) -> Page:
    page = browser.new_context(**context).new_page()  # type: ignore[arg-type]
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue")
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="engagebot-shots-"))
    os.chdir(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'demo.db'}"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from engagebot.commands.web import build_app
    from engagebot.demo import DEMO_DEFAULT_TEAM, DEMO_USERS, ensure_demo_user, run_demo
    from engagebot.runtime import engine_for, load_settings

    settings = load_settings()
    engine = engine_for(settings)
    run_demo(settings, engine)
    email, password = ensure_demo_user(engine)
    agent = next(u for u in DEMO_USERS if u.role == "agent" and u.team == DEMO_DEFAULT_TEAM)
    app = build_app(settings, engine)

    base = serve(app)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900}, device_scale_factor=1)
        page.goto(f"{base}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/queue")
        page.goto(f"{base}/queue?team=all")
        page.locator("table.queue details.why").first.evaluate("d => d.open = true")
        page.screenshot(path=str(out / "queue.png"), full_page=False)
        first = page.locator("table.queue tbody tr").first.get_attribute("data-href")
        page.goto(f"{base}{first}")
        page.screenshot(path=str(out / "case.png"), full_page=True)

        phone = sign_in(browser, base, email, password, viewport={"width": 390, "height": 844}, device_scale_factor=2)
        phone.goto(f"{base}/queue?team=all")
        phone.screenshot(path=str(out / "queue-phone.png"), full_page=False)

        page.goto(f"{base}/queue")  # a case of the team the lead and the agent share
        shared = page.locator("table.queue tbody tr").first.get_attribute("data-href")
        ana = sign_in(browser, base, agent.email, agent.password, viewport={"width": 1360, "height": 900})
        ana.goto(f"{base}{shared}")
        ana.click("#claim")
        ana.fill("#reply-text", "Hi {first_name}, I have found your booking and")
        expect(ana.locator("#draft-status")).to_have_text("Draft saved")
        page.goto(f"{base}{shared}")
        page.fill("#reply-text", "Hi {first_name}, we refunded the second charge today (case {case_id}).")
        expect(page.locator("#draft-status")).to_have_text("Draft saved")
        expect(page.locator("#presence-list")).to_contain_text(f"{agent.name} is replying")
        expect(page.locator("#preview-text")).not_to_be_empty()
        box = page.locator("#reply").bounding_box()
        assert box is not None
        clip = {"x": 0, "y": 0, "width": 1360, "height": box["y"] + box["height"] + 12}
        page.screenshot(path=str(out / "case-presence.png"), full_page=True, clip=clip)  # type: ignore[arg-type]

        page.goto(f"{base}/saved-replies")
        page.fill("#saved-name", "refund-done")
        page.fill(
            "#saved-text", "Hi {first_name}, the duplicate charge is refunded; it shows in 3-5 days (case {case_id})."
        )
        page.click("#saved-submit")
        page.fill("#saved-name", "bag-found")
        page.fill("#saved-text", "Hi {firstname}, your bag is on its way.")
        expect(page.locator("#saved-error")).to_contain_text("{firstname}")
        page.screenshot(path=str(out / "saved-replies.png"), full_page=False)
        browser.close()
    names = ("queue.png", "case.png", "queue-phone.png", "case-presence.png", "saved-replies.png")
    print("wrote " + ", ".join(str(out / name) for name in names))


if __name__ == "__main__":
    main()
