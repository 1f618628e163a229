"""Claim latency of the reply queue on PostgreSQL: 20 agents calling ``claim_next`` at once.

Builds a fresh schema with (by default) 1,000,000 posts and 100,000 open cases spread over
5 teams using set-based SQL (``generate_series``), then measures each ``claim_next`` call:
first one agent alone (the baseline, same run), then N concurrent agents (threads, or
``--processes``). Prints p50/p95/p99 latency, claims per second and the ratio (concurrent vs
one agent), and checks that no case was handed out twice. Every claim goes through the state
machine (``SKIP LOCKED`` pick, then ``transition``, which writes the audit row).

    .venv/bin/python benchmarks/claim_latency.py                      # 1M posts / 100k cases
    .venv/bin/python benchmarks/claim_latency.py --posts 100000 --cases 10000 --claims 50
    ENGAGEBOT_BENCH_PG=postgresql://postgres@127.0.0.1:5432/test  (the default)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.engine import make_engine
from db.migrate import upgrade
from engagement import queue
from engagement.queue.policy import Actor

PG = os.environ.get("ENGAGEBOT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEAMS = 5
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def schema_url(schema: str) -> str:
    sep = "&" if "?" in PG else "?"
    return f"{PG}{sep}options=-csearch_path%3D{schema}"


def populate(engine: Engine, posts: int, cases: int) -> None:
    """Authors, posts, scores for the cases' posts, and open cases with their case_posts, in SQL."""
    authors = max(1, posts // 20)
    statements = [
        f"""INSERT INTO authors (platform, external_id, handle, followers, verified, is_brand,
                                updated_at)
            SELECT 'x', 'u' || g, 'user' || g, (g * 37) % 100000, false, false, now()
            FROM generate_series(1, {authors}) g""",
        f"""INSERT INTO posts (platform, external_id, source, text, lang, conversation_id, is_brand,
                              author_id, created_at, collected_at)
            SELECT 'x', 'p' || g, 'x-search', 'post number ' || g || ' about delays and refunds',
                   'en',
                   'c' || (g / 3), false, 1 + (g % {authors}),
                   timestamptz '2026-11-20 12:00+00' - ((g % 4320) || ' minutes')::interval, now()
            FROM generate_series(1, {posts}) g""",
        f"""INSERT INTO scores (post_id, model_id, label, p_negative, p_neutral, p_positive,
                               scored_at)
            SELECT id, 'bench', 'negative', 0.9, 0.05, 0.05, now()
            FROM posts WHERE id <= {cases}""",
        f"""INSERT INTO cases (dedupe_key, post_id, author_id, status, team, tier, priority,
                              money_at_risk, reasons, platform, lang, created_at, updated_at,
                              sla_due_at)
            SELECT 'x:' || author_id || ':' || external_id, id, author_id, 'open',
                   'team' || (id % {TEAMS}), 'standard', ((id * 7919) % 100000) / 10.0,
                   ((id * 7919) % 100000) / 20.0, '{{}}'::json,
                   'x', 'en', now(), now(), now() + interval '1 day'
            FROM posts WHERE id <= {cases}""",
        "INSERT INTO case_posts (case_id, post_id) SELECT id, post_id FROM cases",
        "ANALYZE",
    ]
    for sql in statements:
        with engine.begin() as connection:
            connection.execute(text(sql))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


CLAIM = queue.claim_next


def agent_loop(
    engine: Engine, agent: str, team: str, claims: int, start: Callable[[], None]
) -> tuple[list[float], list[int]]:
    start()
    timings: list[float] = []
    got: list[int] = []
    for _ in range(claims):
        began = time.perf_counter()
        case = CLAIM(engine, actor=Actor(name=agent, role="agent", team=team), team=team, now=NOW)
        timings.append(time.perf_counter() - began)
        if case is None:
            break
        got.append(case.id or 0)
    return timings, got


_barrier: object = None


def _init(barrier: object) -> None:
    global _barrier
    _barrier = barrier


def process_agent(url: str, agent: str, team: str, claims: int) -> tuple[list[float], list[int]]:
    engine = make_engine(url, pool_size=1)
    try:
        return agent_loop(engine, agent, team, claims, _barrier.wait)  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def report(label: str, timings: list[float], wall: float) -> float:
    ms = [t * 1000 for t in timings]
    p50 = pct(ms, 0.50)
    print(
        f"{label:<34} n={len(ms):>6}  p50 {p50:7.2f} ms  p95 {pct(ms, 0.95):7.2f} ms  "
        f"p99 {pct(ms, 0.99):7.2f} ms  mean {statistics.fmean(ms):7.2f} ms  "
        f"{len(ms) / wall:8.0f} claims/s"
    )
    return p50


def vacuum(url: str) -> None:
    """Clear the dead index entries the previous run's claims left, so runs start alike."""
    cleaner = create_engine(url, isolation_level="AUTOCOMMIT")
    with cleaner.connect() as connection:
        connection.execute(text("VACUUM ANALYZE cases"))
    cleaner.dispose()


def run_agents(engine: Engine, url: str, args: argparse.Namespace) -> tuple[list[float], float, list[int]]:
    """N agents claiming from their teams at once; returns (timings, wall seconds, claimed ids)."""
    timings: list[float] = []
    claimed: list[int] = []
    began = time.perf_counter()
    if args.processes:
        engine.dispose()  # no pooled connection may be inherited by the forked agents
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(args.agents)
        with ProcessPoolExecutor(args.agents, mp_context=context, initializer=_init, initargs=(barrier,)) as pool:
            futures = [
                pool.submit(process_agent, url, f"agent{i}", f"team{1 + i % (TEAMS - 1)}", args.claims)
                for i in range(args.agents)
            ]
            results = [fut.result() for fut in futures]
    else:
        start = threading.Barrier(args.agents)
        with ThreadPoolExecutor(args.agents) as pool:
            futures = [
                pool.submit(agent_loop, engine, f"agent{i}", f"team{1 + i % (TEAMS - 1)}", args.claims, start.wait)
                for i in range(args.agents)
            ]
            results = [fut.result() for fut in futures]
    wall = time.perf_counter() - began
    for t, got in results:
        timings += t
        claimed += got
    return timings, wall, claimed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--claims", type=int, default=100, help="claims per agent")
    parser.add_argument("--processes", action="store_true", help="agents as processes instead of threads")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = schema_url(schema)
    engine = make_engine(url, pool_size=args.agents + 2, max_overflow=0)
    try:
        upgrade(engine)
        began = time.perf_counter()
        populate(engine, args.posts, args.cases)
        print(
            f"schema {schema}: {args.posts:,} posts, {args.cases:,} open cases in {TEAMS} teams "
            f"(built in {time.perf_counter() - began:.1f} s)"
        )
        with engine.connect() as connection:
            plan = (
                connection.execute(
                    text(
                        "EXPLAIN SELECT id FROM cases WHERE status='open' AND team='team1' "
                        "ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED"
                    )
                )
                .scalars()
                .all()
            )
        print("plan:", " / ".join(line.strip() for line in plan[:4]))

        # baseline: one agent, no contention (same run, same data)
        began = time.perf_counter()
        base, _ = agent_loop(engine, "solo", "team0", args.claims * 2, lambda: None)
        base_p50 = report("baseline: 1 agent", base, time.perf_counter() - began)
        kind = "processes" if args.processes else "threads"
        timings, wall, claimed = run_agents(engine, url, args)
        fast_p50 = report(f"{args.agents} agents ({kind})", timings, wall)
        print(f"ratio p50 concurrent / 1-agent baseline: {fast_p50 / base_p50:.2f}x")
        duplicates = len(claimed) - len(set(claimed))
        print(f"claimed {len(claimed):,} cases, duplicates: {duplicates}")
        if duplicates:
            raise SystemExit("a case was claimed twice")
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
