"""Scale benchmark: import → score → link → triage on PostgreSQL, 1 and 2 workers, 100k and 1M posts.

For each size and worker count the benchmark builds a fresh schema with a customer base
(100k customers, 30 % of them with a known X account), many authors (one per five posts,
skewed: a few are loud) and posts with real tweet texts (``../shared/data/airline-tweets``,
so lengths and language are real) spread over 180 days. Then it times each step, run by N
worker processes at once, each calling the product's own step function:

- import: the listener's file import of X API v2 search pages (``data`` + ``includes.users``),
  the files split between the workers; above ``--import-limit`` posts are bulk-generated
  with ``INSERT ... SELECT generate_series`` instead (timed as ``generate``);
- score: ``pipeline.score`` (the transformer; bf16 where the CPU has it) up to
  ``--score-limit`` posts; above it scores are bulk-generated (25 % negative);
- link: ``engagement.customers.identities.link_authors`` (CRM handles and ids → authors), then
  ``relink``: the same again with nothing new, what every later scheduled run costs (it
  compares only new or changed authors and customers);
- triage: ``pipeline.triage`` (negative, unanswered, last 72 h → cases).

It prints throughput per step, the ratio 2 workers / 1 worker, the growth per post from the
smallest to the largest size (1.0 = linear), and ``EXPLAIN (ANALYZE, BUFFERS)`` of the
slowest queries of the reply queue (``claim_next``), triage and the weekly report at the
largest size. Usage (the 1M run takes a while on 2 cores):

    .venv/bin/python benchmarks/scale.py --sizes 100000 1000000 --workers 1 2
    .venv/bin/python benchmarks/scale.py --sizes 20000 --score-limit 5000   # a quick look
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ENGAGEBOT_SHARED", REPO.parent / "shared"))
DEFAULT_PG = os.environ.get("ENGAGEBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STEPS = ("import", "score", "link", "relink", "triage")
#: steps that several workers split; link and triage run on the scheduler leader only
#: (concurrent triage runs would race on the same new cases), so "2 workers" runs them once
SHARED = {"import", "score"}
DAYS = 180  # 1M posts over six months: a brand that hears about 5,500 posts a day
NOW = datetime.now(UTC).replace(microsecond=0)
#: only this schema's tables (a bare ANALYZE would walk every schema of the database)
ANALYZE = "ANALYZE posts, scores, authors, customers, identities"


# --- schema and data ---------------------------------------------------------------------


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def fresh_schema(base: str, keep: bool) -> Iterator[str]:
    """A new schema, migrated; dropped afterwards unless ``keep``."""
    from db.engine import make_engine
    from db.migrate import upgrade

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = schema_url(base, schema)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def tweet_texts() -> list[str]:
    with (SHARED_DATA / "data" / "airline-tweets" / "tweets.csv").open(newline="") as f:
        return [row["text"] for row in csv.DictReader(f) if row["text"].strip()]


def generate_people(engine: Engine, *, customers: int) -> None:
    """Customers (imported CLV) and CRM identities (X handle and id) for 30 % of them.

    Customer ``k`` is X user ``u<k>``; authors are ``u1 .. u<posts/5>``, so the customers
    who post are the ones with small ids, and most customers never post (as in life).
    """
    with engine.begin() as c:
        c.execute(text("SELECT setseed(0.42)"))
        c.execute(
            text(
                """
                INSERT INTO customers (crm_id, name, email, segment, currency, clv, clv_source,
                                       imported_clv, rclv, created_at, updated_at)
                SELECT 'C' || g, 'Customer ' || g, 'c' || g || '@example.com',
                       (ARRAY['consumer','business','vip'])[1 + (g % 3)], 'USD',
                       v, 'import', v, v, now(), now()
                FROM (SELECT g, round((exp(random() * 6) * 10)::numeric, 2)::float AS v
                      FROM generate_series(1, :n) g) s
                """
            ),
            {"n": customers},
        )
        # a CRM export with X handles and ids: the identities link_authors resolves
        c.execute(
            text(
                """
                INSERT INTO identities (customer_id, platform, platform_user_id, handle, method,
                                        status, confidence, created_at)
                SELECT c.id, 'x', 'u' || c.id, 'h' || left(md5('u' || c.id), 12), 'crm_import',
                       'confirmed', 1.0, now()
                FROM customers c WHERE random() < 0.3
                """
            )
        )


def x_pages(texts: list[str], *, posts: int, authors: int, folder: Path, page: int = 100) -> list[Path]:
    """X API v2 search responses (``data`` + ``includes.users`` + ``meta``), ``page`` tweets each."""
    rng = random.Random(7)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for start in range(0, posts, page):
        tweets, users = [], {}
        for i in range(start, min(start + page, posts)):
            k = 1 + int(authors * rng.random() ** 2)
            created = NOW - timedelta(seconds=rng.random() * DAYS * 86400)
            tweets.append(
                {
                    "id": str(10**15 + i),
                    "text": texts[i % len(texts)],
                    "author_id": f"u{k}",
                    "conversation_id": str(10**15 + i),
                    "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "lang": "en",
                    "public_metrics": {
                        "like_count": rng.randint(0, 20),
                        "reply_count": 0,
                        "retweet_count": 0,
                        "quote_count": 0,
                    },
                }
            )
            handle = "h" + hashlib.md5(f"u{k}".encode()).hexdigest()[:12]
            users[k] = {
                "id": f"u{k}",
                "username": handle,
                "name": handle,
                "public_metrics": {"followers_count": int(rng.random() ** 4 * 50000)},
            }
        body = {
            "data": tweets,
            "includes": {"users": list(users.values())},
            "meta": {"result_count": len(tweets)},
        }
        path = folder / f"page-{start // page:06d}.json"
        path.write_text(json.dumps(body))
        paths.append(path)
    return paths


def generate_posts(engine: Engine, texts: list[str], *, posts: int, authors: int) -> None:
    """Authors and posts in bulk SQL (the import path is measured separately, smaller)."""
    with engine.begin() as c:
        c.execute(text("SELECT setseed(0.42)"))
        c.execute(text("CREATE TEMP TABLE bench_texts (i int primary key, body text) ON COMMIT DROP"))
        c.execute(
            text("INSERT INTO bench_texts VALUES (:i, :body)"),
            [{"i": i, "body": t} for i, t in enumerate(texts)],
        )
        c.execute(
            text(
                """
                INSERT INTO authors (platform, external_id, handle, display_name, followers,
                                     verified, is_brand, updated_at)
                SELECT 'x', 'u' || g, 'h' || left(md5('u' || g), 12), 'h' || left(md5('u' || g), 12),
                       floor(power(random(), 4) * 50000)::int, false, false, now()
                FROM generate_series(1, :n) g
                """
            ),
            {"n": authors},
        )
        c.execute(
            text(
                """
                INSERT INTO posts (platform, external_id, source, text, lang, conversation_id,
                                   is_brand, engagement, author_id, created_at, collected_at)
                SELECT 'x', (1000000000000000 + s.g)::text, 'x-bench', t.body, 'en',
                       (1000000000000000 + s.g)::text, false, floor(random() * 20)::int,
                       a.id, now() - random() * interval '180 days', now()
                FROM (SELECT g, 1 + floor(:authors * power(random(), 2))::int AS k
                      FROM generate_series(0, :n - 1) g) s
                JOIN bench_texts t ON t.i = s.g % :ntexts
                JOIN authors a ON a.external_id = 'u' || s.k
                """
            ),
            {"n": posts, "ntexts": len(texts), "authors": authors},
        )
        c.execute(text(ANALYZE))


def generate_scores(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(text("SELECT setseed(0.42)"))
        c.execute(
            text(
                """
                INSERT INTO scores (post_id, model_id, label, p_negative, p_neutral, p_positive, scored_at)
                SELECT id, 'bench', CASE WHEN r < 0.25 THEN 'negative' WHEN r < 0.6 THEN 'neutral'
                                         ELSE 'positive' END,
                       CASE WHEN r < 0.25 THEN 0.9 ELSE 0.05 END, 0.05,
                       CASE WHEN r < 0.25 THEN 0.05 ELSE 0.9 END, now()
                FROM (SELECT id, random() AS r FROM posts) p
                """
            )
        )
        c.execute(text(ANALYZE))


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as c:
        return int(c.execute(text(sql)).scalar_one())


STEP_TIMEOUT = [1800.0]  # set from --step-timeout


class StepTooSlow(Exception):
    """A step ran past ``--step-timeout``; its figure is a lower bound."""


# --- the steps, one call per worker process ----------------------------------------------


def _settings(url: str) -> Any:
    os.environ["DATABASE_URL"] = url
    from engagebot.config import get_settings

    return get_settings(sentiment={"threads": 1} if os.environ.get("BENCH_ONE_THREAD") else {})


def _step(args: tuple[str, str, list[str]]) -> tuple[float, float, Any]:
    """Run one step in this worker process: (start, end, counts), start after imports/model load."""
    step, url, files = args
    from db.engine import make_engine
    from engagebot import pipeline
    from engagement.customers.identities import link_authors
    from listener.importer import import_files

    settings = _settings(url)
    engine = make_engine(url)
    if step == "score":
        pipeline.sentiment_model(settings)  # loading the model is start-up, not throughput
    started = time.time()
    counts: Any
    if step == "import":
        paths = [Path(f) for f in files]
        result = import_files(engine, platform="x", paths=paths, source="x-bench")
        counts = {"added": result.added, "duplicates": result.duplicates, "rejected": result.rejected}
    elif step == "score":
        counts = pipeline.score(settings, engine).counts
    elif step in ("link", "relink"):
        counts = link_authors(engine)
    elif step == "triage":
        counts = pipeline.triage(settings, engine).counts
    else:
        raise ValueError(step)
    finished = time.time()
    engine.dispose()
    return started, finished, counts


def run_workers(
    step: str, url: str, workers: int, files: list[str] | None = None
) -> tuple[float, list[dict[str, Any]]]:
    """Start ``workers`` processes on ``step`` at once; wall time until all are done."""
    shares = [files[i::workers] for i in range(workers)] if files else [[] for _ in range(workers)]
    env_one_thread = workers > 1 and step == "score"
    if env_one_thread:  # two scorers on two cores: one torch thread each
        os.environ["BENCH_ONE_THREAD"] = "1"
    ctx = mp.get_context("spawn")
    try:
        with ctx.Pool(workers) as pool:
            pending = pool.map_async(_step, [(step, url, share) for share in shares])
            try:
                runs = pending.get(timeout=STEP_TIMEOUT[0])
            except mp.TimeoutError:
                pool.terminate()  # its transaction rolls back; the step is reported as too slow
                raise StepTooSlow(f"{step} did not finish in {STEP_TIMEOUT[0]:.0f}s") from None
    finally:
        os.environ.pop("BENCH_ONE_THREAD", None)
    # from the first worker's start to the last one's end (process start-up excluded)
    seconds = max(end for _, end, _ in runs) - min(start for start, _, _ in runs)
    return seconds, [counts for _, _, counts in runs]


# --- EXPLAIN of the slowest queries ------------------------------------------------------


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[float, str, Any]]]:
    """Record (seconds, SQL, parameters) of every SELECT ``engine`` runs inside the block."""
    seen: list[tuple[float, str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        conn.info["t0"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and not many:
            seen.append((time.perf_counter() - conn.info.get("t0", 0), statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def explain(engine: Engine, statement: str, parameters: Any) -> list[str]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        lines = [row[0] for row in cursor.fetchall()]
        raw.rollback()
        return lines
    finally:
        raw.close()


def explain_hot_queries(url: str, *, top: int = 2) -> None:
    from db.engine import make_engine, session_scope
    from engagebot import pipeline
    from engagebot.opsdata import status_report
    from engagement.queue import claim_next
    from engagement.queue.policy import Actor
    from engagement.report.query import load_cases, load_posts

    settings = _settings(url)
    engine = make_engine(url)
    bench = Actor(name="bench", role="lead", team="bench")
    work: dict[str, Callable[[], object]] = {
        "queue (claim_next)": lambda: claim_next(engine, actor=bench, team=None),
        "triage": lambda: pipeline.triage(settings, engine),
        "report (load_posts, load_cases)": lambda: _report_queries(engine, session_scope, load_posts, load_cases),
        "status and /metrics (backlog)": lambda: status_report(engine),
    }
    for name, call in work.items():
        with captured(engine) as seen:
            started = time.perf_counter()
            try:
                call()
            except Exception as exc:  # report the queries that ran before it failed
                print(f"\n=== {name} failed: {type(exc).__name__}: {exc}")
            took = time.perf_counter() - started
        slowest = sorted(seen, key=lambda s: s[0], reverse=True)[:top]
        print(f"\n=== {name}: {took:.2f}s, {len(seen)} SELECTs; slowest {len(slowest)}:")
        for seconds, statement, parameters in slowest:
            print(f"--- {seconds * 1000:.1f} ms: {' '.join(statement.split())[:300]}")
            for line in explain(engine, statement, parameters)[:14]:
                print("    " + line)
    engine.dispose()


def _report_queries(engine: Engine, session_scope: Any, load_posts: Any, load_cases: Any) -> None:
    end = NOW + timedelta(hours=1)
    start = end - timedelta(days=7)
    from engagement.report.query import newest_labels

    with session_scope(engine) as session:
        load_posts(start, end, session=session, labels=newest_labels(start, end, session=session))
        load_cases(start, end, session=session, count_dry_runs=True)


# --- the benchmark -----------------------------------------------------------------------


def run_size(args: argparse.Namespace, texts: list[str], size: int, workers: int, tmp: Path) -> dict[str, Any]:
    from db.engine import make_engine

    authors = max(size // 5, 1000)
    figures: dict[str, Any] = {"posts": size, "workers": workers}
    with fresh_schema(args.url, args.keep) as url:
        engine = make_engine(url)
        started = time.perf_counter()
        generate_people(engine, customers=args.customers)
        figures["people_s"] = round(time.perf_counter() - started, 2)
        print(f"people {figures['people_s']}s", flush=True)
        if size <= args.import_limit:
            files = x_pages(texts, posts=size, authors=authors, folder=tmp / f"x-{size}")
            seconds, _ = run_workers("import", url, workers, [str(p) for p in files])
            figures["import"] = (seconds, count(engine, "select count(*) from posts"))
            print(f"import {seconds:.1f}s", flush=True)
            with engine.begin() as c:
                c.execute(text(ANALYZE))
        else:
            started = time.perf_counter()
            generate_posts(engine, texts, posts=size, authors=authors)
            figures["generate"] = (time.perf_counter() - started, size)
            print(f"generate {figures['generate'][0]:.1f}s", flush=True)
        scored = False
        if size <= args.score_limit:
            try:
                seconds, counts = run_workers("score", url, workers)
                items = count(engine, "select count(distinct post_id) from scores")
                figures["score"] = (seconds, items)
                # each worker claims its own chunks: the per-worker counts add up to the posts
                figures["score_split"] = [c.get("scored") for c in counts]
                figures["score_rows"] = count(engine, "select count(*) from scores")
                print(f"score {seconds:.1f}s, per worker {figures['score_split']}", flush=True)
                scored = True
            except Exception as exc:  # e.g. the model's weights are not trained yet
                print(f"score skipped: {type(exc).__name__}: {exc}", flush=True)
                figures["score_skipped"] = str(exc)
        if not scored:
            started = time.perf_counter()
            generate_scores(engine)
            figures["generate_scores"] = (time.perf_counter() - started, size)
            print(f"generate_scores {figures['generate_scores'][0]:.1f}s", flush=True)
        for step, items in (
            ("link", "select count(*) from identities"),
            ("relink", "select count(*) from authors"),
            (
                "triage",
                "select count(*) from posts where created_at > now() - interval '72 hours'",
            ),
        ):
            if step in args.skip or (step == "relink" and "link" in args.skip):
                continue
            try:
                seconds, counts = run_workers(step, url, workers if step in SHARED else 1)
            except Exception as exc:  # too slow, or failed (e.g. a deadlock between workers)
                print(f"{step} failed: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
                figures[f"{step}_failed"] = f"{type(exc).__name__}: {str(exc)[:300]}"
                figures[f"{step}_counts"] = None
                continue
            figures[step] = (seconds, count(engine, items))
            print(f"{step} {seconds:.1f}s", flush=True)
            figures[f"{step}_counts"] = counts
        figures["cases"] = count(engine, "select count(*) from cases")
        figures["posts_stored"] = count(engine, "select count(*) from posts")
        if args.explain and size == max(args.sizes) and workers == min(args.workers):
            explain_hot_queries(url)
        engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_PG, help="PostgreSQL database (a schema per run is made in it)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument(
        "--import-limit",
        type=int,
        default=100_000,
        help="import files up to this size, generate above",
    )
    parser.add_argument("--score-limit", type=int, default=100_000, help="score with the model up to this size")
    parser.add_argument("--no-explain", dest="explain", action="store_false")
    parser.add_argument("--skip", nargs="*", default=[], choices=["link", "triage"], help="steps to leave out")
    parser.add_argument("--step-timeout", type=float, default=1800, help="stop a step after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark schemas")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    STEP_TIMEOUT[0] = args.step_timeout
    sys.path.insert(0, str(REPO))
    texts = tweet_texts()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sorted(args.sizes):
            for workers in sorted(args.workers):
                print(f"\n##### {size:,} posts, {workers} worker(s)", flush=True)
                figures = run_size(args, texts, size, workers, Path(tmp))
                results.append(figures)
                for step in ("import", "generate", "score", "generate_scores", "link", "relink", "triage"):
                    if step in figures:
                        seconds, items = figures[step]
                        print(
                            f"{step:<16} {items:>10,} items {seconds:8.1f}s {items / max(seconds, 1e-9):10,.0f}/s",
                            flush=True,
                        )
                print(
                    f"cases {figures['cases']:,}; link {figures.get('link_counts')}; "
                    f"relink {figures.get('relink_counts')}; "
                    f"triage {figures.get('triage_counts')}"
                )
    summarise(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


def summarise(results: list[dict[str, Any]]) -> None:
    """Throughput table, 2 workers / 1 worker, and per-post growth from the smallest size."""
    print("\n##### summary: items/s (ratio 2 workers / 1 worker)")
    by = {(r["posts"], r["workers"]): r for r in results}
    sizes = sorted({r["posts"] for r in results})
    for size in sizes:
        for step in ("import", "score", "link", "relink", "triage"):
            one, two = by.get((size, 1), {}).get(step), by.get((size, 2), {}).get(step)
            if not one:
                continue
            rate1 = one[1] / one[0]
            line = f"{size:>9,} {step:<8} 1 worker {rate1:9,.0f}/s"
            if two:
                rate2 = two[1] / two[0]
                line += f"   2 workers {rate2:9,.0f}/s   ratio {rate2 / rate1:4.2f}"
                line += "" if step in SHARED else "  (leader-only: one process either way)"
            print(line)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\n##### growth of seconds per post, {small:,} → {large:,} posts (1.0 = linear)")
        for step in ("import", "score", "link", "relink", "triage"):
            a, b = by.get((small, 1), {}).get(step), by.get((large, 1), {}).get(step)
            if a and b:
                growth = (b[0] / max(large, 1)) / (a[0] / max(small, 1))
                print(f"{step:<8} {growth:5.2f}")


if __name__ == "__main__":
    main()
