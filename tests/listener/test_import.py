"""import_files and ``engagebot import-posts`` on SQLite and PostgreSQL, with the real fixtures."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from listener_payloads import (
    BASE,
    appstore_entry,
    appstore_feed,
    play_review,
    reddit_comment,
    reddit_listing,
    tweet,
    user,
    write_json,
    x_response,
)
from sqlalchemy import Engine, delete, func, select, text
from sqlmodel import Session
from typer.testing import CliRunner

from db.models import Author, JobRun, Post, QuarantinedRecord
from engagebot.cli import app
from listener.importer import import_files


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one()[0])  # type: ignore[call-overload]


def _post(engine: Engine, platform: str, external_id: str) -> Post:
    with Session(engine) as session:
        row = session.exec(select(Post).where(Post.platform == platform, Post.external_id == external_id)).one()  # type: ignore[call-overload]
        return row[0]  # type: ignore[no-any-return]


def test_twarc_pages_import_once_and_quarantine_once(engine: Engine, shared: Path) -> None:
    files = sorted((shared / "fixtures/x/twarc").glob("*.jsonl"))
    first = import_files(engine, platform="x", paths=files)
    assert first.added == 216 and first.duplicates == 0
    # users.jsonl holds user objects (96) and the stream file a truncated last line (1)
    assert first.rejected == 97
    assert any(
        r.file == "streaming_output_with_error.jsonl" and r.ref == "streaming_output_with_error.jsonl:8"
        for r in first.rejections
    )
    # users.jsonl repeats 5 of its users verbatim: the quarantine keeps each distinct record once
    assert _count(engine, QuarantinedRecord) == 92
    again = import_files(engine, platform="x", paths=files)
    assert (again.added, again.duplicates) == (0, 216)
    assert _count(engine, Post) == 216 and _count(engine, QuarantinedRecord) == 92
    post = _post(engine, "x", "1440716745577140229")
    assert post.conversation_id == "1440621713281093641" and post.lang == "en" and post.source == "import:x"
    assert post.raw is not None and post.raw["id"] == "1440716745577140229"
    with Session(engine) as session:
        author = session.get(Author, post.author_id)
        assert author is not None and author.handle == "calin_a" and author.followers == 1150
        runs = session.exec(select(JobRun).where(JobRun.job == "import")).all()  # type: ignore[call-overload]
        assert len(runs) == 2 and runs[0][0].counts["added"] == 216


def test_wrapped_bodies_from_both_recordings(engine: Engine, shared: Path) -> None:
    x_files = [
        shared / "fixtures/x/bodies/test_client_search_recent_tweets.0.GET.json",
        shared / "fixtures/x/bodies/test_client_get_users_mentions.0.GET.json",
    ]
    result = import_files(engine, platform="x", paths=x_files, source="backfill")
    assert result.added == 20 and result.rejected == 0
    reddit_files = sorted((shared / "fixtures/reddit/bodies").glob("*.json"))
    result = import_files(engine, platform="reddit", paths=reddit_files)
    assert result.added == 242 and result.duplicates == 16 and result.rejected == 0
    comment_thread = _post(engine, "reddit", "t3_2gmzqe")
    assert comment_thread.title and comment_thread.engagement is not None


def test_brand_reply_marks_thread_answered_in_any_order(engine: Engine, tmp_path: Path) -> None:
    customer = tweet("1700000000000000001", "@acmeair my bag is lost", author_id="1", minutes=0)
    other = tweet(
        "1700000000000000002",
        "same here",
        author_id="3",
        minutes=1,
        conversation_id=customer["id"],
        reply_to=customer["id"],
    )
    late = tweet(
        "1700000000000000009",
        "still waiting!!",
        author_id="1",
        minutes=30,
        conversation_id=customer["id"],
        reply_to="1700000000000000005",
    )
    brand = tweet(
        "1700000000000000005",
        "@ann so sorry, DM us",
        author_id="2",
        minutes=10,
        conversation_id=customer["id"],
        reply_to=customer["id"],
    )
    users = [
        user("1", "Ann", followers=500),
        user("2", "AcmeAir", followers=90000),
        user("3", "Bob"),
    ]
    # the brand's reply arrives in an earlier file than the complaint it answers
    write_json(tmp_path / "a.json", x_response([brand], users))
    write_json(tmp_path / "b.json", x_response([customer, other, late], users))
    result = import_files(
        engine,
        platform="x",
        paths=[tmp_path / "a.json", tmp_path / "b.json"],
        brand_handles={"x": ["@AcmeAir"]},
    )
    assert result.added == 4 and result.answered == 2
    assert _post(engine, "x", brand["id"]).is_brand
    answered = _post(engine, "x", customer["id"]).answered_at
    assert answered == BASE + timedelta(minutes=10)
    assert _post(engine, "x", other["id"]).answered_at == answered
    assert _post(engine, "x", late["id"]).answered_at is None  # written after the brand's reply
    with Session(engine) as session:
        brand_author = session.exec(select(Author).where(Author.handle == "acmeair")).one()[0]  # type: ignore[call-overload]
        assert brand_author.is_brand and brand_author.followers == 90000


def test_reddit_brand_comment_answers_earlier_comments(engine: Engine, tmp_path: Path) -> None:
    listing = reddit_listing(
        [
            reddit_comment("c1", "Acme lost my order", author="Unhappy", created=1000.0),
            reddit_comment("c2", "Hi, we're on it", author="Acme_Support", parent="t1_c1", created=2000.0),
            reddit_comment("c3", "thanks", author="Unhappy", parent="t1_c2", created=3000.0),
        ]
    )
    write_json(tmp_path / "listing.json", listing)
    result = import_files(
        engine,
        platform="reddit",
        paths=[tmp_path / "listing.json"],
        brand_handles={"reddit": ["acme_support"]},
    )
    assert result.added == 3 and result.answered == 1
    assert _post(engine, "reddit", "t1_c1").answered_at is not None
    assert _post(engine, "reddit", "t1_c2").is_brand
    assert _post(engine, "reddit", "t1_c3").answered_at is None


def test_reviews_and_time_shift(engine: Engine, tmp_path: Path) -> None:
    write_json(
        tmp_path / "feed.json",
        appstore_feed([appstore_entry("9571111689"), appstore_entry("9571111690", rating=5)]),
    )
    shift = timedelta(days=1000)
    result = import_files(engine, platform="appstore", paths=[tmp_path / "feed.json"], time_shift=shift)
    assert result.added == 2
    review = _post(engine, "appstore", "9571111689")
    assert review.rating == 1 and review.app_version == "2023.2.0" and review.lang is None
    assert review.created_at.year == 2025  # 2023-02-01 + 1000 days
    reviews = [
        play_review("gp-1", at="2026-11-02T10:00:00", reply="Fixed!", replied_at="2026-11-02T12:00:00"),
        play_review("gp-2", at="2026-11-02T11:00:00", name="Bo"),
    ]
    write_json(tmp_path / "play.json", reviews)
    assert import_files(engine, platform="googleplay", paths=[tmp_path / "play.json"]).added == 2
    assert _post(engine, "googleplay", "gp-1").answered_at is not None
    assert _post(engine, "googleplay", "gp-2").answered_at is None
    # the developer replies later: re-importing the review records the answer
    reviews[1]["replyContent"], reviews[1]["repliedAt"] = "Thanks Bo", "2026-11-03T09:00:00"
    write_json(tmp_path / "play.json", reviews)
    again = import_files(engine, platform="googleplay", paths=[tmp_path / "play.json"])
    assert again.added == 0 and again.answered == 1
    assert _post(engine, "googleplay", "gp-2").answered_at is not None


def test_csv_and_jsonl_exports(engine: Engine, tmp_path: Path) -> None:
    csv_file = tmp_path / "yelp.csv"
    csv_file.write_text(
        "Review,Date,Reviewer,Stars\n"
        '"Cold food, rude staff 😞",2026-10-30,@Bob,1\n'
        "no date here,,Eve,2\n"
        '"Great",2026-10-31,Ann,5,EXTRA\n',
        encoding="utf-8",
    )
    mapping = {"Review": "text", "Date": "created_at", "Stars": "rating"}
    result = import_files(engine, platform="csv", paths=[csv_file], column_map=mapping)
    assert result.added == 1 and result.rejected == 2
    assert {r.ref for r in result.rejections} == {"yelp.csv:3", "yelp.csv:4"}
    assert import_files(engine, platform="csv", paths=[csv_file], column_map=mapping).added == 0
    jsonl = tmp_path / "trustpilot.jsonl"
    rows = [
        {
            "id": "tp-1",
            "stars": 2,
            "text": "Refund took 3 months",
            "createdAt": "2026-11-01T08:00:00Z",
            "consumer": {"id": "c-1", "displayName": "Ann"},
            "companyReply": {"text": "Sorry", "createdAt": "2026-11-02T08:00:00Z"},
        }
    ]
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n", encoding="utf-8")
    result = import_files(engine, platform="jsonl", paths=[jsonl], column_map={"platform": "platform"})
    assert result.added == 1 and result.rejected == 1
    post = _post(engine, "jsonl", "tp-1")
    assert post.answered_at is not None and post.rating == 2


def test_cli_import_posts(tmp_path: Path, shared: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    files = [
        str(shared / "fixtures/x/twarc/brexit.jsonl"),
        str(shared / "fixtures/x/twarc/streaming_output_with_error.jsonl"),
    ]
    result = runner.invoke(app, ["import-posts", "--platform", "x", *files, "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert counts["added"] == 107 and counts["rejected"] == 1
    result = runner.invoke(app, ["import-posts", "--platform", "x", *files])
    assert result.exit_code == 0 and "0 added" in result.output and "107 duplicates" in result.output
    bad = runner.invoke(app, ["import-posts", "--platform", "myspace", files[0]])
    assert bad.exit_code == 2 and "unknown platform" in bad.output
    missing = runner.invoke(app, ["import-posts", "--platform", "x", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    badmap = runner.invoke(app, ["import-posts", "--platform", "csv", files[0], "--map", "a=b"])
    assert badmap.exit_code == 2 and "unknown field" in badmap.output


def _last_analyzed(engine: Engine, table: str) -> object:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "select last_analyze from pg_stat_user_tables where schemaname = current_schema() and relname = :t"
            ),
            {"t": table},
        ).scalar_one()


def test_long_imports_refresh_planner_statistics(pg_engine: Engine, shared: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import db.statistics

    files = sorted((shared / "fixtures/x/twarc").glob("*.jsonl"))
    monkeypatch.setattr(db.statistics, "ANALYZE_EVERY", 1_000)
    import_files(pg_engine, platform="x", paths=files, chunk_size=50)  # 216 posts: under the mark
    assert _last_analyzed(pg_engine, "posts") is None and _last_analyzed(pg_engine, "authors") is None
    monkeypatch.setattr(db.statistics, "ANALYZE_EVERY", 100)
    import_files(pg_engine, platform="x", paths=files, chunk_size=50)  # nothing new: no analyze
    assert _last_analyzed(pg_engine, "posts") is None
    with Session(pg_engine) as session:
        session.exec(delete(Post))  # type: ignore[call-overload]
        session.commit()
    import_files(pg_engine, platform="x", paths=files, chunk_size=50)  # 216 new: past 100
    assert _last_analyzed(pg_engine, "posts") is not None and _last_analyzed(pg_engine, "authors") is not None
