"""All four source kinds collect through the scheduler's job wrapper (``JobQueue.run_job``)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from listener_payloads import appstore_entry, appstore_feed, play_review
from sqlalchemy import Engine, select
from sqlmodel import Session

import listener.sources.googleplay as googleplay_source
from db.models import JobRun, Post
from engagebot.config import Settings
from engagebot.ops.scheduler import JobQueue
from listener.settings import ListenerSettings


@responses.activate
def test_each_source_kind_runs_as_a_scheduled_job(
    engine: Engine, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    twarc = json.loads((shared / "fixtures/x/twarc/two_tweets.jsonl").read_text().splitlines()[0])
    responses.get("https://api.twitter.com/2/tweets/search/recent", json=twarc)
    responses.post(
        "https://www.reddit.com/api/v1/access_token",
        json={"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"},
    )
    listing = json.loads((shared / "fixtures/reddit/bodies/TestSubredditListings.test_new.1.json").read_text())["body"]
    responses.get("https://oauth.reddit.com/r/askreddit/new", json=listing)
    feed = "https://itunes.apple.com/us/rss/customerreviews/page={}/id=1349913150/sortby=mostrecent/json"
    responses.get(feed.format(1), json=appstore_feed([appstore_entry("9571111689")]))
    responses.get(feed.format(2), json=appstore_feed(None))

    class Token:
        token = None

    def fake_reviews(app_id: str, **kwargs: Any) -> tuple[list[dict[str, Any]], Any]:
        return [play_review("gp-1", at=datetime(2026, 11, 2, 10, 0))], Token()

    monkeypatch.setattr(googleplay_source, "scraper_reviews", lambda: fake_reviews)
    listener = ListenerSettings(
        x_bearer_token="sched-test",
        reddit_client_id="id1",
        reddit_client_secret="secret1",
        sources=[
            {"name": "x", "platform": "x", "query": "#POIUYTREWQ", "interval_minutes": 5},
            {
                "name": "reddit",
                "platform": "reddit",
                "kind": "subreddit",
                "subreddits": ["askreddit"],
                "listings": ["submissions"],
                "max_pages": 1,
            },
            {"name": "ios", "platform": "appstore", "app_id": "1349913150"},
            {"name": "android", "platform": "googleplay", "app_id": "com.acme"},
            {
                "name": "drop",
                "platform": "file",
                "files": [str(shared / "fixtures/x/twarc/cotweet.jsonl")],
                "file_platform": "x",
            },
        ],
    )
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), listener=listener)
    queue = JobQueue(settings, engine)
    jobs = queue.schedule_cycle(skip=["score", "refresh_values", "triage", "notify", "weekly_report"])
    assert len(jobs) == 5
    outcomes = {name: queue.run_job("collect", name) for name in ("x", "reddit", "ios", "android", "drop")}
    assert all(o.ok for o in outcomes.values()), {n: o.error for n, o in outcomes.items()}
    expected = {"x": 1, "reddit": 100, "ios": 1, "android": 1, "drop": 1}
    with Session(engine) as session:
        for name, count in expected.items():
            posts = session.exec(select(Post).where(Post.source == name)).all()  # type: ignore[call-overload]
            assert len(posts) == count, name
        runs = session.exec(select(JobRun).where(JobRun.job == "collect")).all()  # type: ignore[call-overload]
        assert sorted(r[0].source for r in runs) == sorted(expected) and all(r[0].status == "ok" for r in runs)
