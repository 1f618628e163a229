"""Take the German screenshots (issue 29) from the demo data (a script, not a test).

The demo's cycle with ``[engagement] language = "de"`` and a German browser (``de-DE``):
``queue-de.png`` and ``case-de.png`` (desktop), ``queue-phone-de.png`` and ``case-phone-de.png``
(390 px wide) in ``docs/screenshots/``. It also says whether each page fits the phone's width:
German words are long, and a page wider than the screen scrolls sideways.

    .venv/bin/python tests/web/screenshots_de.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from chromium import CHROMIUM, CHROMIUM_ARGS, serve
from playwright.sync_api import sync_playwright
from screenshots import sign_in

REPO = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="engagebot-shots-de-"))
    os.chdir(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'demo.db'}"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from engagebot.commands.web import build_app
    from engagebot.demo import demo_settings, ensure_demo_user, run_demo
    from engagebot.runtime import engine_for, load_settings

    settings = demo_settings(load_settings(), language="de")
    engine = engine_for(settings)
    run_demo(settings, engine)
    email, password = ensure_demo_user(engine)
    app = build_app(settings, engine)

    base = serve(app)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        desk = sign_in(browser, base, email, password, viewport={"width": 1360, "height": 900}, locale="de-DE")
        desk.goto(f"{base}/queue?team=all")
        desk.locator("table.queue details.why").first.evaluate("d => d.open = true")
        desk.screenshot(path=str(out / "queue-de.png"), full_page=False)
        first = desk.locator("table.queue tbody tr").first.get_attribute("data-href")
        desk.goto(f"{base}{first}")
        desk.screenshot(path=str(out / "case-de.png"), full_page=True)

        phone = sign_in(browser, base, email, password, viewport=PHONE, device_scale_factor=2, locale="de-DE")
        for name, path in (("queue-phone-de.png", "/queue?team=all"), ("case-phone-de.png", first or "/queue")):
            phone.goto(f"{base}{path}")
            phone.screenshot(path=str(out / name), full_page=False)
            width = phone.evaluate("document.documentElement.scrollWidth")
            fits = "fits" if width <= PHONE["width"] else "too wide"
            print(f"{name}: page {width} px wide on a {PHONE['width']} px phone ({fits})")
        browser.close()


if __name__ == "__main__":
    main()
