"""Take the screenshots of docs/sources.md from the demo data (a script, not a test): a Facebook
comment thread case and an App Store review case, as the demo lead sees them.

Runs ``engagebot demo``'s cycle into a scratch folder (SQLite), serves the app on a free
loopback port and drives Debian's Chromium (headless) to ``docs/screenshots/``:
``case-facebook-thread.png`` (the comment thread with the brand's reply marked, and the
"Hide comment" moderation button) and ``case-appstore.png`` (a review, its answerability).

    .venv/bin/python tests/web/platform_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from chromium import CHROMIUM, CHROMIUM_ARGS, serve
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine, select
from sqlmodel import col

REPO = Path(__file__).resolve().parents[2]


def case_with_longest_thread(engine: Engine, platform: str) -> int:
    """The case of ``platform`` whose conversation on the case page is longest (the best picture
    of a thread), the newest on a tie (the demo adds its API-collected threads last)."""
    from db.engine import session_scope
    from db.models import Case, Post
    from engagement.queue.conversation import conversation

    with session_scope(engine) as session:
        cases = session.scalars(select(Case).where(col(Case.platform) == platform)).all()
        if not cases:
            raise SystemExit(f"the demo has no {platform} case")

        def thread_size(case: Case) -> tuple[int, int]:
            post = session.get(Post, case.post_id)
            return (len(conversation(session, [post])) if post is not None else 0, case.id or 0)

        best = max(cases, key=thread_size)
        assert best.id is not None
        return best.id


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
    shots = {
        "case-facebook-thread.png": case_with_longest_thread(engine, "facebook"),
        "case-appstore.png": case_with_longest_thread(engine, "appstore"),
    }
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
        for name, case_id in shots.items():
            page.goto(f"{base}/cases/{case_id}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / name), full_page=True)
            print(f"wrote {out / name} (case {case_id})")
        browser.close()


if __name__ == "__main__":
    main()
