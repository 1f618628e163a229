"""A collector or importer process for the kill -9 test (run as a script, killed mid-way).

``collect``: the real X source (tweepy) against pages served by ``responses`` in this
process, slowly, so the test can kill it between (or during) page transactions.
``import``: ``import_files`` on a large file in small chunks.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import responses

sys.path.insert(0, str(Path(__file__).resolve().parent))

from listener_payloads import tweet, user, x_response

import db.jobs
from db.engine import make_engine
from listener.collect import collect
from listener.importer import import_files
from listener.settings import ListenerSettings

PAGES = 12
PER_PAGE = 100
TOP = 1_800_000_000_000_000_000


def page(number: int) -> dict:
    tweets = [
        tweet(
            str(TOP - number * PER_PAGE - i),
            f"post {number}-{i}",
            author_id=str(i % 7 + 1),
            minutes=-(number * PER_PAGE + i),
        )
        for i in range(PER_PAGE)
    ]
    users = [user(str(k), f"user{k}") for k in range(1, 8)]
    return x_response(tweets, users, next_token=f"p{number + 1}" if number + 1 < PAGES else None)


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    db.jobs.HEARTBEAT_SECONDS = float(os.environ.get("CRASH_HEARTBEAT_SECONDS", db.jobs.HEARTBEAT_SECONDS))
    engine = make_engine(url)
    if mode == "collect":
        delay = float(sys.argv[3])
        settings = ListenerSettings(
            x_bearer_token="crash-test",
            x_monthly_read_budget=None,
            max_pages_per_run=PAGES + 5,
            sources=[{"name": "x-crash", "platform": "x", "kind": "search", "query": "acme"}],
        )
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(
                responses.GET,
                "https://api.twitter.com/2/tweets/search/recent",
                callback=lambda request: _respond(request, delay),
            )
            [result] = collect(engine, settings)
        print(json.dumps(result.as_dict()))
    else:
        pause = float(os.environ.get("CRASH_IMPORT_PAUSE_SECONDS", "0"))  # per stored chunk
        result = import_files(
            engine,
            platform="x",
            paths=[Path(sys.argv[3])],
            chunk_size=100,
            on_progress=lambda _path, _done: time.sleep(pause),
        )
        print(json.dumps(result.as_dict()))


def _respond(request, delay: float):  # type: ignore[no-untyped-def]
    query = parse_qs(urlparse(str(request.url)).query)
    token = query.get("next_token", ["p0"])[0]
    time.sleep(delay)
    return 200, {}, json.dumps(page(int(token[1:])))


if __name__ == "__main__":
    main()
