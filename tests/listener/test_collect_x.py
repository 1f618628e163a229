"""X collection: tweepy cassettes (vcrpy), twarc pages served with ``responses``, limits, budget."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from listener_payloads import tweet, user, x_response, x_tape
from sqlalchemy import Engine, select
from sqlmodel import Session

from db.models import JobRun, Post, SourceCursor
from listener.collect import collect, run_source
from listener.cursors import X_BUDGET_KEY
from listener.ratelimit import RetryPolicy
from listener.settings import ListenerSettings, RetrySettings

SEARCH_URL = "https://api.twitter.com/2/tweets/search/recent"


def _settings(**extra: Any) -> ListenerSettings:
    sources = extra.pop("sources", [{"name": "x-search", "platform": "x", "kind": "search", "query": "#brexit"}])
    return ListenerSettings(x_bearer_token="test-bearer", brand_handles={"x": ["acmeair"]}, sources=sources, **extra)


def _policy(waits: list[float] | None = None) -> RetryPolicy:
    recorded = waits if waits is not None else []
    return RetryPolicy(
        RetrySettings(max_attempts=4, max_rate_limit_wait_seconds=60),
        sleep=recorded.append,
        rng=random.Random(7),
    )


def _cursor(engine: Engine, name: str) -> dict[str, Any]:
    with Session(engine) as session:
        row = session.get(SourceCursor, name)
        return dict(row.position) if row else {}


def _twarc(shared: Path, name: str) -> dict[str, Any]:
    body = json.loads((shared / "fixtures/x/twarc" / name).read_text().splitlines()[0])
    body.pop("__twarc", None)
    return body


def _serve(
    pages: Callable[[dict[str, list[str]]], tuple[int, dict[str, str], Any]],
) -> list[dict[str, list[str]]]:
    seen: list[dict[str, list[str]]] = []

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlparse(str(request.url)).query)
        seen.append(query)
        status, headers, body = pages(query)
        return status, headers, json.dumps(body)

    responses.add_callback(responses.GET, SEARCH_URL, callback=callback)
    return seen


def test_tweepy_cassettes_replay_search_and_mentions(engine: Engine) -> None:
    settings = _settings(
        sources=[
            {
                "name": "x-search",
                "platform": "x",
                "kind": "search",
                "query": "Tweepy",
                "max_pages": 1,
            },
            {
                "name": "x-mentions",
                "platform": "x",
                "kind": "mentions",
                "handle": "Twitter",
                "max_pages": 1,
            },
        ]
    )
    tape = x_tape()
    with tape.use_cassette("test_client_search_recent_tweets.yaml") as cassette:
        [search] = collect(engine, settings, only=["x-search"], policy=_policy())
        assert cassette.all_played
    assert search.ok and search.added == 10 and search.reads == 10
    # the recorded page had a next_token: with the page cap at 1 the cursor keeps it
    position = _cursor(engine, "x-search")
    assert position["next_token"] and position["newest_id"] == "1578516068309794817"
    with tape.use_cassette("test_client_get_user.yaml+test_client_get_users_mentions.yaml"):
        [mentions] = collect(engine, settings, only=["x-mentions"], policy=_policy())
    assert mentions.ok and mentions.added == 10
    assert _cursor(engine, "x-mentions")["user_id"] == "783214"


@responses.activate
def test_pages_then_since_id_then_nothing_new(engine: Engine, shared: Path) -> None:
    first, last = (
        _twarc(shared, "brexit.jsonl"),
        x_response([tweet("1440713900000000000", "older, page 2", author_id="5")], [user("5", "Eve")]),
    )

    def pages(query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        if "since_id" in query:
            return 200, {}, {"meta": {"result_count": 0}}
        return 200, {}, last if "next_token" in query else first

    seen = _serve(pages)
    [result] = collect(engine, _settings(), policy=_policy())
    assert result.ok and result.pages == 2 and result.added == 101
    assert seen[0]["query"] == ["#brexit -is:retweet"]
    assert "conversation_id" in seen[0]["tweet.fields"][0] and seen[0]["expansions"][0].startswith("author_id")
    assert seen[1]["next_token"] == [first["meta"]["next_token"]]
    assert _cursor(engine, "x-search") == {"since_id": "1440716895355764743"}
    [again] = collect(engine, _settings(), policy=_policy())
    assert again.ok and again.added == 0 and seen[2]["since_id"] == ["1440716895355764743"]
    with Session(engine) as session:
        runs = session.exec(select(JobRun).where(JobRun.source == "x-search")).all()  # type: ignore[call-overload]
        assert [r[0].status for r in runs] == ["ok", "ok"] and runs[0][0].counts["added"] == 101


@responses.activate
def test_page_cap_resumes_at_the_token(engine: Engine, shared: Path) -> None:
    first = _twarc(shared, "brexit.jsonl")
    last = x_response([tweet("1440713900000000000", "older", author_id="5")])
    seen = _serve(lambda q: (200, {}, last if "next_token" in q else first))
    settings = _settings(max_pages_per_run=1)
    [capped] = collect(engine, settings, policy=_policy())
    assert capped.ok and capped.pages == 1 and "page cap" in (capped.stopped or "")
    [resumed] = collect(engine, settings, policy=_policy())
    assert resumed.added == 1 and "next_token" in seen[1] and "since_id" not in seen[1]
    assert _cursor(engine, "x-search") == {"since_id": "1440716895355764743"}


@responses.activate
def test_rate_limit_reset_is_honoured_and_capped(engine: Engine, shared: Path) -> None:
    body = _twarc(shared, "two_tweets.jsonl")
    calls = {"n": 0}

    def pages(query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            return (
                429,
                {"x-rate-limit-reset": str(int(time.time()) + 30)},
                {"title": "Too Many Requests"},
            )
        if calls["n"] == 2:
            return (
                429,
                {"x-rate-limit-reset": str(int(time.time()) + 3600)},
                {"title": "Too Many Requests"},
            )
        return 200, {}, body

    _serve(pages)
    waits: list[float] = []
    [result] = collect(engine, _settings(), policy=_policy(waits))
    # waited for the first reset (about 30s, plus jitter), refused to sleep an hour for the second
    assert len(waits) == 1 and 28 <= waits[0] <= 32
    assert result.ok and result.added == 0 and "rate limited" in (result.stopped or "")
    assert _cursor(engine, "x-search") == {}
    [later] = collect(engine, _settings(), policy=_policy())
    assert later.added == 1


@responses.activate
def test_server_errors_back_off_with_jitter_and_are_bounded(engine: Engine, shared: Path) -> None:
    body = _twarc(shared, "two_tweets.jsonl")
    statuses = iter([503, 500, 200])
    _serve(lambda q: (next(statuses), {}, body if True else None))
    waits: list[float] = []
    [result] = collect(engine, _settings(), policy=_policy(waits))
    assert result.ok and result.added == 1
    assert len(waits) == 2 and 0 <= waits[0] <= 2.0 and 0 <= waits[1] <= 4.0

    responses.reset()
    _serve(lambda q: (503, {}, {"title": "Service Unavailable"}))
    waits.clear()
    settings = _settings(
        sources=[
            {"name": "x-broken", "platform": "x", "kind": "search", "query": "acme"},
            {
                "name": "files",
                "platform": "file",
                "files": [str(shared / "fixtures/x/twarc/cotweet.jsonl")],
            },
        ]
    )
    broken, files = collect(engine, settings, policy=_policy(waits))
    assert not broken.ok and "503" in (broken.error or "") and len(waits) == 3
    assert files.ok and files.added == 1  # one failing source never stops the others
    with Session(engine) as session:
        run = session.exec(select(JobRun).where(JobRun.source == "x-broken")).one()[0]  # type: ignore[call-overload]
        assert run.status == "failed" and "503" in run.error


@responses.activate
def test_monthly_read_budget_limits_page_size_and_stops(engine: Engine, shared: Path) -> None:
    first = _twarc(shared, "brexit.jsonl")
    last = x_response([tweet("1440713900000000000", "older", author_id="5")])
    seen = _serve(lambda q: (200, {}, last if "next_token" in q else first))
    settings = _settings(x_monthly_read_budget=130)
    [result] = collect(engine, settings, policy=_policy())
    assert seen[0]["max_results"] == ["100"] and seen[1]["max_results"] == ["30"]
    assert result.reads == 101
    with Session(engine) as session:
        budget = session.get(SourceCursor, X_BUDGET_KEY)
        assert budget is not None and budget.position["reads"] == 101
    settings = _settings(x_monthly_read_budget=105)
    [stopped] = collect(engine, settings, policy=_policy())
    assert stopped.ok and stopped.pages == 0 and "budget" in (stopped.stopped or "")
    assert len(seen) == 2


def test_missing_credentials_fail_that_source_only(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.delenv("TWITTER_BEARER_TOKEN", raising=False)
    settings = ListenerSettings(sources=[{"name": "x-search", "platform": "x", "query": "acme"}])
    result = run_source(engine, settings, "x-search")
    assert not result.ok and "X_BEARER_TOKEN" in (result.error or "")
    with Session(engine) as session:
        assert session.exec(select(Post)).first() is None


@responses.activate
def test_refused_cursor_starts_over_and_repeated_token_is_an_error(engine: Engine, shared: Path) -> None:
    body = _twarc(shared, "two_tweets.jsonl")

    def pages(query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        if "since_id" in query:  # older than the 7-day window of recent search
            return (
                400,
                {},
                {"title": "Invalid Request", "detail": "since_id too old", "type": "about:blank"},
            )
        return 200, {}, body

    seen = _serve(pages)
    with Session(engine) as session:
        session.add(SourceCursor(source="x-search", position={"since_id": "1"}))
        session.commit()
    [result] = collect(engine, _settings(), policy=_policy())
    assert result.ok and result.added == 1 and len(seen) == 2 and "since_id" not in seen[1]
    assert _cursor(engine, "x-search") == {"since_id": "1394735776701816833"}

    responses.reset()
    looping = dict(body, meta={**body["meta"], "next_token": "same-token"})
    _serve(lambda q: (200, {}, looping))
    [loop] = collect(
        engine,
        _settings(sources=[{"name": "x-loop", "platform": "x", "query": "a"}]),
        policy=_policy(),
    )
    assert not loop.ok and "same page position twice" in (loop.error or "") and loop.pages == 1
