"""Benchmark: import 100k posts from X API response files on SQLite and PostgreSQL.

Prints posts/s of a first import, the cost of a rerun that adds nothing, and the ratio
against a baseline measured in the same run: row-by-row ORM inserts with a lookup per post
(what a naive importer does), on a sample. Run: ``.venv/bin/python benchmarks/import_posts.py``
(``--posts 20000`` for a quick run, ``--pg URL`` for another PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session, select

from db.engine import make_engine
from db.migrate import upgrade
from db.models import Author, Post
from listener.importer import import_files
from listener.parsers import parse_body

PER_PAGE = 100
TOP = 1_900_000_000_000_000_000
START = datetime(2026, 10, 1, tzinfo=UTC)


def page(number: int, authors: int) -> dict[str, Any]:
    """One X v2 search response: 100 tweets, their authors in ``includes.users``."""
    tweets = []
    user_ids = set()
    for i in range(PER_PAGE):
        n = number * PER_PAGE + i
        author = str(1000 + n % authors)
        user_ids.add(author)
        conversation = str(TOP - (n - n % 5))  # threads of 5
        tweets.append(
            {
                "id": str(TOP - n),
                "text": f"@acmeair flight {n} delayed again, 3 hours on the tarmac 😡 #fail",
                "author_id": author,
                "conversation_id": conversation,
                "created_at": (START - timedelta(seconds=n * 7)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "lang": "en",
                "public_metrics": {
                    "retweet_count": n % 3,
                    "reply_count": 1,
                    "like_count": n % 11,
                    "quote_count": 0,
                },
                "edit_history_tweet_ids": [str(TOP - n)],
            }
        )
    users = [
        {
            "id": u,
            "username": f"user{u}",
            "name": f"User {u}",
            "public_metrics": {"followers_count": int(u) % 5000},
        }
        for u in sorted(user_ids)
    ]
    return {
        "data": tweets,
        "includes": {"users": users},
        "meta": {"result_count": PER_PAGE, "next_token": f"t{number + 1}"},
    }


def write_files(folder: Path, posts: int, authors: int, pages_per_file: int = 100) -> list[Path]:
    files = []
    pages = posts // PER_PAGE
    for start in range(0, pages, pages_per_file):
        path = folder / f"search_{start:05d}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for number in range(start, min(pages, start + pages_per_file)):
                handle.write(json.dumps(page(number, authors)) + "\n")
        files.append(path)
    return files


@contextmanager
def pg_schema(url: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def naive_import(engine: Engine, files: list[Path], limit: int) -> int:
    """The baseline: one SELECT per author and per post, ORM add, commit per page."""
    done = 0
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            parsed = parse_body("x", json.loads(line))
            with Session(engine) as session:
                for post in parsed.posts:
                    author_id = None
                    if post.author is not None:
                        author = session.exec(
                            select(Author).where(
                                Author.platform == "x",
                                Author.external_id == post.author.external_id,
                            )
                        ).first()
                        if author is None:
                            author = Author(
                                platform="x",
                                external_id=post.author.external_id,
                                handle=post.author.handle,
                                display_name=post.author.display_name,
                                followers=post.author.followers,
                            )
                            session.add(author)
                            session.flush()
                        author_id = author.id
                    exists = session.exec(
                        select(Post.id).where(Post.platform == "x", Post.external_id == post.external_id)
                    ).first()
                    if exists is None:
                        session.add(
                            Post(
                                platform="x",
                                external_id=post.external_id,
                                source="naive",
                                text=post.text,
                                lang=post.lang,
                                conversation_id=post.conversation_id,
                                created_at=post.created_at,
                                author_id=author_id,
                                engagement=post.engagement,
                                raw=post.raw,
                            )
                        )
                    done += 1
                session.commit()
            if done >= limit:
                return done
    return done


def measure(name: str, url: str, files: list[Path], posts: int, sample: int) -> dict[str, float]:
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    first = import_files(engine, platform="x", paths=files, brand_handles={"x": ["acmeair"]})
    first_s = time.perf_counter() - started
    assert first.added == posts, first.as_dict()
    started = time.perf_counter()
    again = import_files(engine, platform="x", paths=files, brand_handles={"x": ["acmeair"]})
    rerun_s = time.perf_counter() - started
    assert again.added == 0 and again.duplicates == posts
    engine.dispose()
    return {
        "first_s": first_s,
        "rerun_s": rerun_s,
        "posts_per_s": posts / first_s,
        "rerun_posts_per_s": posts / rerun_s,
        "baseline_posts_per_s": _baseline(name, url, files, sample),
    }


def _baseline(name: str, url: str, files: list[Path], sample: int) -> float:
    if name == "sqlite":
        url = url.replace(".db", "-naive.db")
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        done = naive_import(engine, files, sample)
        engine.dispose()
        return done / (time.perf_counter() - started)
    base = url.split("?options=")[0].split("&options=")[0]
    with pg_schema(base) as naive_url:
        engine = make_engine(naive_url)
        upgrade(engine)
        started = time.perf_counter()
        done = naive_import(engine, files, sample)
        engine.dispose()
        return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--authors", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=5_000, help="posts imported by the naive baseline")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        files = write_files(folder, args.posts, args.authors)
        size = sum(f.stat().st_size for f in files) / 1e6
        took = time.perf_counter() - started
        print(f"wrote {args.posts} posts in {len(files)} files ({size:.0f} MB) in {took:.1f}s")
        results = {"sqlite": measure("sqlite", f"sqlite:///{folder / 'bench.db'}", files, args.posts, args.sample)}
        if not args.no_pg:
            with pg_schema(args.pg) as url:
                results["postgresql"] = measure("postgresql", url, files, args.posts, args.sample)
    print(
        f"\n{'backend':<11} {'first import':>14} {'posts/s':>9} {'rerun (adds 0)':>15} "
        f"{'rerun posts/s':>14} {'naive posts/s':>14} {'speed-up':>9} {'rerun/first':>12}"
    )
    for name, r in results.items():
        print(
            f"{name:<11} {r['first_s']:>13.1f}s {r['posts_per_s']:>9.0f} {r['rerun_s']:>14.1f}s "
            f"{r['rerun_posts_per_s']:>14.0f} {r['baseline_posts_per_s']:>14.0f} "
            f"{r['posts_per_s'] / r['baseline_posts_per_s']:>8.1f}x "
            f"{r['rerun_s'] / r['first_s']:>12.2f}"
        )


if __name__ == "__main__":
    main()
