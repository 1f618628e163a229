"""Take docs/going-live.md's screenshots from the demo data (a script, not a test).

Runs the demo's cycle into a scratch folder, serves the app on a free localhost port and drives
Debian's Chromium (headless) as the demo admin to ``docs/screenshots/``: ``admin-golive.png``
(the checklist), ``admin-people.png`` (a person just invited, with the link to copy) and
``admin-routing.png`` (the rules and the tester on a German post).

    .venv/bin/python tests/web/golive_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from chromium import CHROMIUM, CHROMIUM_ARGS, serve
from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="engagebot-golive-"))
    os.chdir(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'demo.db'}"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from engagebot.commands.web import build_app
    from engagebot.demo import DEMO_USERS, demo_settings, run_demo
    from engagebot.runtime import engine_for, load_settings

    settings = demo_settings(load_settings())
    engine = engine_for(settings)
    run_demo(settings, engine)
    admin = next(u for u in DEMO_USERS if u.role == "admin")
    app = build_app(settings, engine)
    base = serve(app)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900}, device_scale_factor=1)
        page.goto(f"{base}/login")
        page.fill("input[name=email]", admin.email)
        page.fill("input[name=password]", admin.password)
        page.click("button[type=submit]")
        page.wait_for_url("**/queue")
        page.goto(f"{base}/admin/go-live")
        page.screenshot(path=str(out / "admin-golive.png"), full_page=True)
        page.goto(f"{base}/admin/people")
        form = page.locator("#invite-form")
        form.locator("input[name=email]").fill("mia@skylark.example")
        form.locator("input[name=name]").fill("Mia")
        form.locator("input[name=team]").fill("dach")
        form.locator("button[type=submit]").click()
        expect(page.locator("#invite-link")).to_be_visible()
        page.screenshot(path=str(out / "admin-people.png"), full_page=True)
        page.goto(f"{base}/admin/routing")
        page.fill("#rule-test input[name=text]", "Ich wurde doppelt belastet")
        page.fill("#rule-test input[name=lang]", "de")
        page.click("#rule-test button[type=submit]")
        expect(page.locator("#rule-test-result")).to_contain_text("team dach")
        page.screenshot(path=str(out / "admin-routing.png"), full_page=True)
        browser.close()
    print("wrote " + ", ".join(str(out / n) for n in ("admin-golive.png", "admin-people.png", "admin-routing.png")))


if __name__ == "__main__":
    main()
