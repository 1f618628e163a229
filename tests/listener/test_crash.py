"""kill -9 during a collect or an import, then rerun: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crash_worker import PAGES, PER_PAGE, TOP, page
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from db.models import Post, SourceCursor

WORKER = Path(__file__).with_name("crash_worker.py")
REPO = Path(__file__).resolve().parents[2]
TOTAL = PAGES * PER_PAGE


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Post)).one()[0])  # type: ignore[call-overload]


def _start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_when(engine: Engine, process: subprocess.Popen[str], at_least: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"worker ended before it was killed: {process.communicate()}")
        if _count(engine) >= at_least:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return _count(engine)
        time.sleep(0.02)
    process.kill()
    raise AssertionError("worker made no progress")


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_kill_9_mid_collect_then_rerun(engine: Engine) -> None:
    process = _start("collect", _url(engine), "0.15")
    stored = _kill_when(engine, process, at_least=3 * PER_PAGE)
    assert process.returncode == -signal.SIGKILL
    assert 0 < stored < TOTAL
    with Session(engine) as session:
        cursor = session.get(SourceCursor, "x-crash")
        # the cursor covers exactly the pages that were committed with it
        assert cursor is not None and cursor.position["next_token"] == f"p{stored // PER_PAGE}"
        assert "since_id" not in cursor.position or cursor.position["since_id"] is None
    rerun = _start("collect", _url(engine), "0")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ok"] and result["added"] == TOTAL - stored and result["duplicates"] == 0
    assert _count(engine) == TOTAL
    with Session(engine) as session:
        distinct = session.exec(select(func.count(func.distinct(Post.external_id)))).one()[0]  # type: ignore[call-overload]
        assert distinct == TOTAL
        cursor = session.get(SourceCursor, "x-crash")
        assert cursor is not None and cursor.position == {"since_id": str(TOP)}


def test_kill_9_mid_import_then_rerun(engine: Engine, tmp_path: Path) -> None:
    big = tmp_path / "pages.jsonl"
    big.write_text("\n".join(json.dumps(page(n)) for n in range(PAGES)) + "\n", encoding="utf-8")
    process = _start("import", _url(engine), str(big))
    stored = _kill_when(engine, process, at_least=300)
    assert process.returncode == -signal.SIGKILL and stored < TOTAL
    rerun = _start("import", _url(engine), str(big))
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["added"] == TOTAL - stored and result["duplicates"] == stored
    assert _count(engine) == TOTAL
    with Session(engine) as session:
        rows = session.execute(text("select count(distinct external_id) from posts")).scalar_one()
        assert rows == TOTAL
