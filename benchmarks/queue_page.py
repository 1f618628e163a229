"""Server time of the queue page at 100k open cases on PostgreSQL (target: under 200 ms).

Builds a throw-away schema in the local PostgreSQL (100k open cases, each with its post,
author and score; a tenth linked to customers; five teams), signs in an agent and times the
pages in-process (FastAPI's TestClient: no network, so the figure is the server's time):
the queue page of my team, all teams, filtered, searched, the HTMX-polled rows, the JSON API
and a case page. The baseline, measured in the same run, is the queue's own SQL alone
(``queue.list_cases`` + ``queue.count_cases`` for the same filters), so the ratio says what the
page adds on top of the query.

    .venv/bin/python benchmarks/queue_page.py [--cases 100000] [--repeat 30] [--url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, insert, text
from sqlmodel import Session

from db.engine import make_engine
from db.migrate import upgrade
from db.models import Author, Case, CasePost, Customer, Post, Score, User
from engagement import queue
from engagement.settings import EngagementSettings, WebSettings
from engagement.users import hash_password
from engagement.web import create_app
from engagement.web.queue_view import SEARCH_COUNT_CAP

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEAMS = ("care", "billing", "baggage", "loyalty", "app")
PLATFORMS = ("x", "reddit", "appstore", "googleplay")
TIERS = ("top", "high", "standard", "unlinked")
WORDS = (
    "flight", "delayed", "bag", "lost", "refund", "charged", "app", "crash", "seat", "rude",
    "staff", "cancelled", "waiting", "hours",
)  # fmt: skip
PASSWORD = "benchmark password"
ACTIVE_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_cases_active_team ON cases (team, priority DESC, id) "
    "WHERE status IN ('open', 'claimed', 'pending_approval', 'escalated')"
)


def _batches(rows: list[dict[str, Any]], size: int = 5000) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def build(engine: Engine, n_cases: int, extra_posts: int = 0) -> None:
    """Insert the data set with bulk INSERTs (one transaction per table)."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    n_customers = n_cases // 10
    n_authors = n_cases // 2
    customers = [
        dict(id=i + 1, crm_id=f"C{i}", name=f"Customer {i}", currency="USD",
             clv=rng.uniform(50, 5000), rclv=rng.uniform(50, 9000), p_alive=rng.random(),
             created_at=now, updated_at=now)
        for i in range(n_customers)
    ]  # fmt: skip
    authors = [
        dict(id=i + 1, platform=PLATFORMS[i % 4], external_id=f"a{i}", handle=f"user{i}",
             display_name=f"User {i}", followers=rng.randint(0, 50000), verified=False,
             is_brand=False, updated_at=now)
        for i in range(n_authors)
    ]  # fmt: skip
    posts: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    for i in range(n_cases):
        author = i % n_authors
        platform = PLATFORMS[author % 4]
        created = now - timedelta(minutes=rng.randint(1, 72 * 60))
        lang = rng.choice(("en", "en", "en", "es", "fr"))
        # Twelve common words and one rare "booking code" (1 in ~20,000 posts shares it): the
        # search timings cover a broad query and a selective one.
        text_ = " ".join(rng.choice(WORDS) for _ in range(12)) + f" code{rng.randint(0, n_cases // 5)}"
        posts.append(
            dict(id=i + 1, platform=platform, external_id=f"p{i}", source=f"{platform}-search",
                 text=text_, lang=lang, conversation_id=f"conv{i}", is_brand=False,
                 author_id=author + 1, created_at=created, collected_at=created)
        )  # fmt: skip
        money = rng.uniform(1, 3000)
        linked = i % 10 == 0
        cases.append(
            dict(id=i + 1, dedupe_key=f"k{i}", post_id=i + 1, author_id=author + 1,
                 customer_id=(i // 10) % n_customers + 1 if linked else None, status="open",
                 team=TEAMS[i % len(TEAMS)], tier=rng.choice(TIERS[:3]) if linked else "unlinked",
                 platform=platform, lang=lang, priority=money * rng.uniform(1, 2),
                 money_at_risk=money,
                 reasons={"why": f"case {i}", "money_at_risk": money, "p_negative": 0.8},
                 sla_due_at=created + timedelta(hours=rng.choice((1, 4, 24))),
                 created_at=created, updated_at=created)
        )  # fmt: skip
        links.append({"case_id": i + 1, "post_id": i + 1})
        scores.append(
            dict(post_id=i + 1, model_id="bench", label="negative", p_negative=0.8,
                 p_neutral=0.15, p_positive=0.05, scored_at=created)
        )  # fmt: skip
    # Posts that never became cases (most collected posts are not complaints): the post index
    # grows with them, the cases do not.
    for j in range(extra_posts):
        i = n_cases + j
        text_ = " ".join(rng.choice(WORDS) for _ in range(12)) + f" code{rng.randint(0, (n_cases + extra_posts) // 5)}"
        posts.append(
            dict(id=i + 1, platform="x", external_id=f"p{i}", source="x-search", text=text_, lang="en",
                 conversation_id=f"conv{i}", is_brand=False, author_id=j % n_authors + 1, created_at=now,
                 collected_at=now)
        )  # fmt: skip
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (Customer, customers), (Author, authors), (Post, posts), (Case, cases),
        (CasePost, links), (Score, scores),
    ]  # fmt: skip
    with Session(engine) as session:
        for table, rows in tables:
            for batch in _batches(rows):
                session.execute(insert(table), batch)
            session.commit()
        ana = User(email="ana@example.com", name="Ana", role="agent", team="care",
                   password_hash=hash_password(PASSWORD))  # fmt: skip
        session.add(ana)
        session.commit()
        for name in ("customers", "authors", "posts", "cases", "scores"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
            )
        session.commit()
    # Steady state: autovacuum would have set the visibility map and statistics by now.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm: connection pool, template compile, facet cache
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


SEARCHES = (("refund", "broad: one word in most posts"), ("code7", "selective: a rare word"),
            ("bag lost", "two words"))  # fmt: skip


def search_report(engine: Engine, repeat: int) -> float:
    """Text search (list + count, every team) on the full-text index, counted up to 1,000 as the
    queue page does, beside the LIKE scan with the full count it replaced (same run); returns
    the slowest full-text p50."""
    worst = 0.0
    for text_, what in SEARCHES:
        for method in ("fulltext", "like"):

            def query(method: str = method, text_: str = text_) -> None:
                with Session(engine) as session:
                    args: dict[str, Any] = {"status": queue.ACTIVE_STATUSES, "search": text_, "search_method": method}
                    queue.list_cases(session, limit=50, **args)
                    queue.count_cases(session, cap=SEARCH_COUNT_CAP if method == "fulltext" else None, **args)

            p50 = report(f"search {text_!r} ({what}), {method}", timed(query, repeat))
            if method == "fulltext":
                worst = max(worst, p50)
    return worst


def report(name: str, samples: list[float]) -> float:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(f"  {name:<60} min {ordered[0]:7.1f}  p50 {p50:7.1f}  p95 {p95:7.1f} ms")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument(
        "--extra-posts", type=int, default=0, help="posts that are in no case (the post index grows, cases do not)"
    )
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--url", default=PG_URL, help="PostgreSQL URL; a fresh schema is made and dropped"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the schema afterwards (to re-run with --schema)"
    )
    parser.add_argument(
        "--schema", help="re-use a schema kept by an earlier --keep run instead of building one"
    )
    parser.add_argument(
        "--active-index",
        action="store_true",
        help="first add the proposed partial index on active cases (team, priority DESC, id)",
    )
    args = parser.parse_args()

    schema = args.schema or f"bench_queue_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    if not args.schema:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.url else "?"
    engine = make_engine(f"{args.url}{sep}options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        if not args.schema:
            start = time.perf_counter()
            build(engine, args.cases, args.extra_posts)
            print(
                f"built {args.cases:,} open cases and {args.cases + args.extra_posts:,} posts in "
                f"{time.perf_counter() - start:.1f} s "
                f"(schema {schema})"
            )

        if args.active_index:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text(ACTIVE_INDEX))
                connection.execute(text("ANALYZE cases"))
            print("with the proposed partial index: " + ACTIVE_INDEX)
        else:
            print("with the schema as migrated (no extra index)")
        settings = EngagementSettings(web=WebSettings(session_secret=SecretStr("b" * 48)))
        app = create_app(engine, settings)
        client = TestClient(app, base_url="https://testserver")
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post(
            "/login",
            data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token.group(1)},
        )

        def page(url: str) -> Callable[[], Any]:
            def get() -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code, response.text[:300])

            return get

        def query_only() -> None:
            with Session(engine) as session:
                queue.list_cases(session, team="care", status=queue.ACTIVE_STATUSES, limit=50)
                queue.count_cases(session, team="care", status=queue.ACTIVE_STATUSES)

        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"server time, {args.repeat} requests each (in-process, after one warm-up)")
        print(f"load average {load} on {os.cpu_count()} CPUs (a busy machine inflates every figure)")
        baseline = report(
            "baseline: queue SQL alone (list + count)", timed(query_only, args.repeat)
        )
        main_p50 = report("GET /queue (my team, 50 rows)", timed(page("/queue"), args.repeat))
        search_p50 = search_report(engine, args.repeat)
        report("GET /queue?team=all", timed(page("/queue?team=all"), args.repeat))
        report(
            "GET /queue?team=all&platform=reddit&tier=top",
            timed(page("/queue?team=all&platform=reddit&tier=top"), args.repeat),
        )
        report(
            "GET /queue?q=refund (search post text)", timed(page("/queue?q=refund"), args.repeat)
        )
        report("GET /queue/rows (HTMX poll)", timed(page("/queue/rows"), args.repeat))
        report(
            "GET /queue?offset=10000 (deep page)", timed(page("/queue?offset=10000"), args.repeat)
        )
        report("GET /api/cases", timed(page("/api/cases"), args.repeat))
        report("GET /cases/1 (case page)", timed(page("/cases/1"), args.repeat))
        print(f"queue page / queue SQL alone: {main_p50 / baseline:.2f}x")
        print(f"search page p50 {search_p50:.1f} ms (full-text index)")
        verdict = "meets" if main_p50 < 200 else "MISSES"
        print(
            f"queue page p50 {main_p50:.1f} ms at {args.cases:,} open cases: "
            f"{verdict} the 200 ms target"
        )
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
