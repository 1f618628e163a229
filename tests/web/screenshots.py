"""Take the README's screenshots of the queue and a case page from the demo data (a script, not a test).

Runs ``engagebot demo``'s cycle into a scratch folder, serves the app on a free localhost port
and drives Debian's Chromium (headless) to ``docs/screenshots/queue.png`` and ``case.png``.

    .venv/bin/python tests/web/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from chromium import CHROMIUM, CHROMIUM_ARGS, free_port
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]


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
    from engagebot.demo import ensure_demo_user, run_demo
    from engagebot.runtime import engine_for, load_settings

    settings = load_settings()
    engine = engine_for(settings)
    run_demo(settings, engine)
    email, password = ensure_demo_user(engine)
    app = build_app(settings, engine)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
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
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)
    print(f"wrote {out / 'queue.png'} and {out / 'case.png'}")


if __name__ == "__main__":
    main()
