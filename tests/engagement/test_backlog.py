"""The backlog on day one: valued authors' complaints from before the window become cases."""

from __future__ import annotations

from datetime import timedelta

import queue_factories as f
from queue_factories import NOW
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Case, CaseTag, Outbox
from engagement.notify.backlog_summary import announce_backlog
from engagement.settings import EngagementSettings, TriageSettings
from engagement.triage.cases import triage


def _world(engine: Engine) -> dict[str, int]:
    """Forty customers (rCLV 100..4000) and complaints of several ages and values."""
    for i in range(40):
        f.customer(engine, handle=f"c{i}", rclv=100.0 * (i + 1), name=f"Cust {i}")
    top, high, low = f.author(engine, handle="c39"), f.author(engine, handle="c35"), f.author(engine, handle="c2")
    stranger = f.author(engine, handle="stranger")
    return {
        "recent": f.post(engine, author_id=low, text="broken again", created_at=NOW - timedelta(hours=5)),
        "old_top": f.post(engine, author_id=top, text="still no refund", created_at=NOW - timedelta(days=5)),
        "old_high": f.post(engine, author_id=high, text="app crashes", created_at=NOW - timedelta(days=9)),
        "old_low": f.post(engine, author_id=low, text="meh service", created_at=NOW - timedelta(days=4)),
        "old_stranger": f.post(engine, author_id=stranger, text="awful", created_at=NOW - timedelta(days=4)),
        "too_old": f.post(engine, author_id=top, text="ancient", created_at=NOW - timedelta(days=20)),
        "old_happy": f.post(engine, author_id=high, text="love it", p_negative=0.1, created_at=NOW - timedelta(days=6)),
    }


def _opened(engine: Engine) -> dict[int, tuple[list[str], str]]:
    """post id -> (the case's tags, its SLA due time)."""
    with session_scope(engine) as session:
        cases = session.execute(select(Case)).scalars().all()
        tags = session.execute(select(CaseTag)).scalars().all()
        return {c.post_id: (sorted(t.tag for t in tags if t.case_id == c.id), c.sla_due_at.isoformat()) for c in cases}


def test_a_new_install_takes_in_the_valued_backlog_most_money_first(engine: Engine) -> None:
    posts = _world(engine)
    counts = triage(engine, EngagementSettings(), now=NOW)
    assert (counts["created"], counts["backlog"]) == (1, 2)
    opened = _opened(engine)
    assert set(opened) == {posts["recent"], posts["old_top"], posts["old_high"]}
    assert opened[posts["recent"]][0] == [] and opened[posts["old_top"]][0] == ["backlog"]
    # the SLA runs from the moment the case entered the queue, not from a week ago
    assert opened[posts["old_top"]][1] > NOW.isoformat()
    with session_scope(engine) as session:
        backlog = session.execute(select(Case).where(col(Case.post_id) == posts["old_top"])).scalar_one()
        assert backlog.notified_at == NOW and backlog.reasons["backlog"] is True

    # not a new install any more: an older complaint stays out unless asked for
    late = f.post(
        engine, author_id=f.author(engine, handle="c38"), text="lost bag", created_at=NOW - timedelta(hours=80)
    )
    assert triage(engine, EngagementSettings(), now=NOW)["backlog"] == 0
    assert late not in _opened(engine)
    assert triage(engine, EngagementSettings(), now=NOW, backlog=True)["backlog"] == 1
    assert _opened(engine)[late][0] == ["backlog"]


def test_backlog_max_keeps_the_most_money(engine: Engine) -> None:
    posts = _world(engine)
    counts = triage(engine, EngagementSettings(triage=TriageSettings(backlog_max=1)), now=NOW)
    assert counts["backlog"] == 1
    assert posts["old_top"] in _opened(engine) and posts["old_high"] not in _opened(engine)
    counts = triage(engine, EngagementSettings(triage=TriageSettings(backlog_days=7)), now=NOW, backlog=True)
    assert counts["backlog"] == 0  # the high customer's complaint is 9 days old: outside 7


def test_the_backlog_is_announced_once_in_one_summary(engine: Engine) -> None:
    _world(engine)
    settings = EngagementSettings()
    triage(engine, settings, now=NOW)
    assert announce_backlog(engine, settings, now=NOW) is True
    assert announce_backlog(engine, settings, now=NOW + timedelta(minutes=5)) is False
    with session_scope(engine) as session:
        rows = session.execute(select(Outbox)).scalars().all()
    assert [r.kind for r in rows] == ["backlog"]
    summary = rows[0].payload
    assert summary["channel"] == "#social-care" and len(summary["case_ids"]) == 2
    assert "Backlog: 2 unanswered complaints from the last 14 days" in summary["text"]
    assert "tag=backlog" in str(summary["blocks"])
