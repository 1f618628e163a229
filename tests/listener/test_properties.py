"""Property tests: any JSON either parses or is rejected, and nothing raises out of a collect."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from listener_payloads import (
    appstore_entry,
    appstore_feed,
    play_review,
    reddit_comment,
    reddit_listing,
    tweet,
    user,
    x_response,
)
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from db.models import Post, QuarantinedRecord
from listener.base import Page, Source
from listener.collect import collect
from listener.parsers import API_PLATFORMS, BODY_PARSERS, parse_body
from listener.parsers.tabular import parse_row
from listener.ratelimit import RetryPolicy
from listener.records import ParsedPage, RecordError
from listener.settings import ListenerSettings, RetrySettings, SourceSettings

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)

VALID = {
    "x": x_response([tweet("1600000000000000001", "hi", author_id="1")], [user("1", "ann")]),
    "reddit": reddit_listing([reddit_comment("c1", "hello", author="bob")]),
    "appstore": appstore_feed([appstore_entry("123")]),
    "googleplay": [play_review("gp-1", at="2026-11-02T10:00:00")],
    # shapes of fixtures/meta: a comment page without ids, and comments with nested replies
    "facebook": {
        "data": [
            {
                "comment_count": 0,
                "created_time": "2021-08-11T23:22:14+0000",
                "like_count": 0,
                "message": "Hi, please access the Instagram Help Center",
                "permalink_url": "https://www.facebook.com/19292868552/posts/10158407654328553/"
                "?comment_id=10158407903973553&reply_comment_id=10158409983033553",
            },
            {"id": "4_10113477241177441", "message": "Happy July 4th!", "created_time": "2021-07-04T19:50:58+0000"},
        ],
        "paging": {"cursors": {"after": "after"}, "next": "https://graph.facebook.com/next"},
    },
    "instagram": {
        "data": [
            {
                "id": "17858154961981086",
                "text": "Beautiful!",
                "timestamp": "2020-06-01T10:56:52+0000",
                "username": "lixiangguodu123",
                "replies": {
                    "data": [{"id": "17900000000000001", "text": "Thanks", "timestamp": "2020-06-02T10:00:00+0000"}]
                },
            }
        ],
        "paging": {"cursors": {"after": "after"}},
    },
}
FIELDS = (
    "id",
    "text",
    "created_at",
    "author_id",
    "conversation_id",
    "public_metrics",
    "lang",
    "data",
    "kind",
    "created_utc",
    "body",
    "name",
    "feed",
    "entry",
    "im:rating",
    "label",
    "reviewId",
    "content",
    "at",
    "score",
    "message",
    "permalink_url",
    "created_time",
    "timestamp",
    "username",
    "replies",
)


def _mutate(value: Any, rng: random.Random, replacement: Any) -> Any:
    """Replace one randomly chosen node of a valid payload (keeps most of the real shape)."""
    if isinstance(value, Mapping) and value and rng.random() < 0.8:
        key = rng.choice(sorted(value, key=str))
        return {**value, key: _mutate(value[key], rng, replacement)}
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        return [*value[:index], _mutate(value[index], rng, replacement), *value[index + 1 :]]
    return replacement


def _check(page: ParsedPage) -> None:
    for post in page.posts:
        assert post.external_id and isinstance(post.text, str)
        assert post.created_at.tzinfo is not None
        json.dumps(post.raw, default=str)
    for rejected in page.rejected:
        assert rejected.error and isinstance(rejected.raw, str)


@settings(max_examples=150, deadline=None)
@given(platform=st.sampled_from(API_PLATFORMS), body=json_values)
def test_any_json_parses_or_is_rejected(platform: str, body: Any) -> None:
    _check(BODY_PARSERS[platform](body))  # the parser itself, without parse_body's safety net


@settings(max_examples=300, deadline=None)
@given(
    platform=st.sampled_from(API_PLATFORMS),
    seed=st.integers(0, 2**32),
    replacement=json_values | st.sampled_from(FIELDS),
)
def test_mutated_real_shapes_parse_or_are_rejected(platform: str, seed: int, replacement: Any) -> None:
    body = _mutate(VALID[platform], random.Random(seed), replacement)
    page = BODY_PARSERS[platform](body)
    _check(page)


@settings(max_examples=150, deadline=None)
@given(row=st.dictionaries(st.sampled_from(["text", "date", "id", "author", "rating", "x"]), json_values, max_size=6))
def test_any_export_row_parses_or_raises_record_error(row: dict[str, Any]) -> None:
    try:
        post = parse_row(row, platform="csv", column_map={"date": "created_at"})
    except RecordError:
        return
    assert post.text.strip() and post.created_at.tzinfo is not None


class GarbageSource:
    """Serves hypothesis-made bodies through the real collect loop."""

    platform = "x"

    def __init__(self, name: str, bodies: list[Any], platform: str) -> None:
        self.name = name
        self.bodies = bodies
        self.platform = platform

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        index = int(position.get("page", 0))
        return Page(
            body=self.bodies[index],
            position={"page": index + 1},
            done=index + 1 >= len(self.bodies),
        )

    def parse(self, body: Any) -> ParsedPage:
        return parse_body(self.platform, body)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    platform=st.sampled_from(API_PLATFORMS),
    bodies=st.lists(json_values | st.sampled_from(list(VALID.values())), min_size=1, max_size=4),
)
def test_nothing_raises_out_of_a_collect_run(sqlite_engine: Engine, platform: str, bodies: list[Any]) -> None:
    name = f"garbage-{platform}-{uuid.uuid4().hex[:8]}"  # a fresh cursor for every example

    def factory(spec: SourceSettings, listener: ListenerSettings) -> Source:
        return GarbageSource(name, bodies, platform)

    listener = ListenerSettings(
        sources=[{"name": name, "platform": "file", "files": ["none"], "file_platform": platform}]
    )
    with Session(sqlite_engine) as session:
        session.exec(QuarantinedRecord.__table__.delete())  # type: ignore[attr-defined]
        session.commit()
    policy = RetryPolicy(RetrySettings(max_attempts=1), sleep=lambda s: None)
    [result] = collect(sqlite_engine, listener, factory=factory, policy=policy)
    assert result.ok, result.error
    with Session(sqlite_engine) as session:
        quarantined = session.exec(select(func.count()).select_from(QuarantinedRecord)).one()  # type: ignore[call-overload]
        assert quarantined[0] <= result.rejected
        assert session.exec(select(func.count()).select_from(Post)).one()[0] >= 0  # type: ignore[call-overload]


def test_nul_and_nan_survive_postgres(pg_engine: Engine, tmp_path: Path) -> None:
    """PostgreSQL refuses NUL in text and NaN in JSON: the store cleans both."""
    body = x_response([tweet("1600000000000000009", "nul\x00byte", author_id="1")], [user("1", "ann")])
    body["data"][0]["public_metrics"]["like_count"] = float("nan")
    (tmp_path / "x.json").write_text(json.dumps(body), encoding="utf-8")
    from listener.importer import import_files

    result = import_files(pg_engine, platform="x", paths=[tmp_path / "x.json"])
    assert result.added == 1
