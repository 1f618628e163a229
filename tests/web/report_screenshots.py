"""Screenshots of what a lead sees outside the queue (a script, not a test): the demo's first
Slack run rendered in Block Kit layout, and the weekly reports in the web app.

Runs the demo's cycle into a scratch folder, renders ``out/slack-demo.jsonl`` with
``slack_render`` (the closest local stand-in for Slack's client) and drives Debian's Chromium
(headless) to ``docs/screenshots/``: ``slack-first-run.png`` (every message of the first run),
``slack-digest.png`` (the digest alone), ``reports.png`` (``/reports``) and ``report-week.png``
(one week's report under the app's navigation).

    .venv/bin/python tests/web/report_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from chromium import CHROMIUM, CHROMIUM_ARGS, serve
from playwright.sync_api import Page, expect, sync_playwright
from slack_render import page as slack_page

REPO = Path(__file__).resolve().parents[2]


def shoot_html(page: Page, html: str, path: Path) -> None:
    page.set_content(html)
    page.screenshot(path=str(path), full_page=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="engagebot-report-shots-"))
    os.chdir(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'demo.db'}"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # a lead to mention in breach alerts, as a team would configure (a Slack user id)
    os.environ.setdefault("ENGAGEBOT_ENGAGEMENT__SLACK__LEAD_MENTIONS", '{"*": "U0LENA"}')

    from engagebot.commands.web import build_app
    from engagebot.demo import demo_settings, ensure_demo_user, run_demo
    from engagebot.runtime import engine_for, load_settings

    settings = load_settings()
    engine = engine_for(settings)
    run_demo(settings, engine)
    email, password = ensure_demo_user(engine)
    sink = Path(demo_settings(settings).engagement.slack.sink or "")
    messages = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
    digest = next(m for m in messages if m["kind"] == "digest")

    app = build_app(settings, engine)
    base = serve(app)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        slack = browser.new_page(viewport={"width": 900, "height": 600}, device_scale_factor=1)
        shoot_html(slack, slack_page(digest["channel"], [digest]), out / "slack-digest.png")
        shoot_html(slack, slack_page(digest["channel"], messages), out / "slack-first-run.png")

        page = browser.new_page(viewport={"width": 1360, "height": 900}, device_scale_factor=1)
        page.goto(f"{base}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/queue")
        page.goto(f"{base}/reports")
        page.screenshot(path=str(out / "reports.png"), full_page=False)
        week = page.locator("#report-weeks tbody tr").first.get_attribute("data-week")
        page.goto(f"{base}/reports/{week}")
        expect(page.frame_locator("#report-frame").locator("h1")).to_be_visible()
        page.screenshot(path=str(out / "report-week.png"), full_page=False)
        browser.close()
    names = ("slack-digest.png", "slack-first-run.png", "reports.png", "report-week.png")
    print(f"{len(messages)} Slack message(s) on the first run; wrote " + ", ".join(str(out / n) for n in names))


if __name__ == "__main__":
    main()
