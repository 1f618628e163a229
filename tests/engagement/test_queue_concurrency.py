"""20 agents claiming at once (threads, and separate processes on PostgreSQL): never twice, none
lost."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from queue_factories import NOW, person
from sqlalchemy import Engine, func, insert, select

from db.engine import make_engine, session_scope
from db.models import AuditEvent, Author, Case, Post
from engagement import queue

AGENTS = 20
CASES = 300


def _seed(engine: Engine, n: int = CASES) -> None:
    """``n`` open cases in one team, spread over priorities (bulk insert, as triage would leave
    them)."""
    with session_scope(engine) as session:
        session.execute(
            insert(Author),
            [
                {
                    "platform": "x",
                    "external_id": "u1",
                    "handle": "u1",
                    "verified": False,
                    "is_brand": False,
                    "updated_at": NOW,
                }
            ],
        )
        session.execute(
            insert(Post),
            [
                {
                    "platform": "x",
                    "external_id": f"p{i}",
                    "source": "s",
                    "text": f"t{i}",
                    "is_brand": False,
                    "author_id": 1,
                    "created_at": NOW,
                    "collected_at": NOW,
                }
                for i in range(n)
            ],
        )
        post_ids = session.execute(select(Post.id).order_by(Post.id)).scalars().all()  # type: ignore[arg-type]
        session.execute(
            insert(Case),
            [
                {
                    "dedupe_key": f"x:1:p{i}",
                    "post_id": pid,
                    "status": "open",
                    "team": "care",
                    "platform": "x",
                    "priority": float((i * 7919) % 101),
                    "money_at_risk": 1.0,
                    "reasons": {},
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i, pid in enumerate(post_ids)
            ],
        )


def _drain(engine: Engine, agent: str, start: threading.Barrier | None = None) -> list[int]:
    if start is not None:
        start.wait()
    mine: list[int] = []
    while (case := queue.claim_next(engine, actor=person(agent, team="care"), team="care", now=NOW)) is not None:
        assert case.id is not None and case.claimed_by == agent
        mine.append(case.id)
    return mine


def _check(engine: Engine, results: dict[str, list[int]]) -> None:
    claimed = [cid for ids in results.values() for cid in ids]
    twice = [cid for cid, n in Counter(claimed).items() if n > 1]
    assert twice == [], f"claimed more than once: {twice}"
    with session_scope(engine) as session:
        rows = session.execute(select(Case.id, Case.status, Case.claimed_by)).all()  # type: ignore[call-overload]
        audits = session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "claimed")
        ).scalar_one()  # type: ignore[arg-type]
    assert sorted(claimed) == sorted(r[0] for r in rows), "a case was lost (never handed out)"
    holder = {cid: agent for agent, ids in results.items() for cid in ids}
    assert all(status == "claimed" and holder[cid] == who for cid, status, who in rows)
    assert audits == len(rows)
    assert sum(1 for ids in results.values() if ids) > 1  # the work really was shared


def test_twenty_threads_never_claim_a_case_twice(engine: Engine) -> None:
    _seed(engine)
    barrier = threading.Barrier(AGENTS)
    with ThreadPoolExecutor(AGENTS) as pool:
        futures = {f"agent{i}": pool.submit(_drain, engine, f"agent{i}", barrier) for i in range(AGENTS)}
        results = {name: fut.result(timeout=120) for name, fut in futures.items()}
    _check(engine, results)


_start: Any = None


def _init_worker(start: Any) -> None:
    global _start
    _start = start


def _process_agent(url: str, agent: str) -> list[int]:
    """One agent in its own process, with its own engine and connection (as a web worker has)."""
    engine = make_engine(url, pool_size=1)
    try:
        _start.wait()
        return _drain(engine, agent)
    finally:
        engine.dispose()


def test_twenty_processes_never_claim_a_case_twice(pg_url: str, pg_engine: Engine) -> None:
    _seed(pg_engine)
    pg_engine.dispose()  # no pooled connection may be inherited by the forked agents
    context = multiprocessing.get_context("fork")
    start = context.Barrier(AGENTS)
    with ProcessPoolExecutor(AGENTS, mp_context=context, initializer=_init_worker, initargs=(start,)) as pool:
        futures = {f"proc{i}": pool.submit(_process_agent, pg_url, f"proc{i}") for i in range(AGENTS)}
        results = {name: fut.result(timeout=180) for name, fut in futures.items()}
    _check(pg_engine, results)


def test_expired_leases_are_reclaimed_once_under_contention(pg_engine: Engine) -> None:
    _seed(pg_engine, 40)
    for _ in range(40):
        assert queue.claim_next(pg_engine, actor=person("gone", team="care"), team="care", now=NOW) is not None
    later = NOW + timedelta(minutes=queue.DEFAULT_LEASE_MINUTES + 1)

    def drain_later(agent: str) -> list[int]:
        out: list[int] = []
        while (
            case := queue.claim_next(pg_engine, actor=person(agent, team="care"), team="care", now=later)
        ) is not None:
            out.append(case.id or 0)
        return out

    with ThreadPoolExecutor(AGENTS) as pool:
        results = dict(
            zip(
                [f"a{i}" for i in range(AGENTS)],
                pool.map(drain_later, [f"a{i}" for i in range(AGENTS)]),
                strict=True,
            )
        )
    claimed = [c for ids in results.values() for c in ids]
    assert len(claimed) == len(set(claimed)) == 40
