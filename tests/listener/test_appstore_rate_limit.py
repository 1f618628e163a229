"""App Store Connect's hourly limit (``X-Rate-Limit: user-hour-lim:3600;user-hour-rem:0;``),
against a local fake of the API: the collector stops cleanly after the answer that spent the
hour, without sending another call, and the next run resumes at the saved page; the reply
adapter refuses (retryable) instead of calling while the key's hour is spent."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fake_api import Answer, Seen, fake_api
from sqlalchemy import Engine
from sqlmodel import Session

from db.models import SourceCursor
from engagement.queue.platforms import appstore
from engagement.queue.platforms.appstore import AppStorePoster
from engagement.queue.platforms.base import ReplyTarget, TransientPostError, UnknownOutcome
from listener.collect import run_source
from listener.ratelimit import RetryPolicy, appstore_connect_remaining
from listener.settings import ListenerSettings, RetrySettings, SourceSettings
from listener.sources.store_apis import AppStoreConnectSource
from listener.store_auth import AppStoreConnectKey

APP = "1349913150"
SPENT = {"X-Rate-Limit": "user-hour-lim:3600;user-hour-rem:0;"}
LEFT = {"X-Rate-Limit": "user-hour-lim:3600;user-hour-rem:3599;"}


def _key() -> AppStoreConnectKey:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return AppStoreConnectKey(issuer_id="issuer-1", key_id="KEY123", private_key=pem.decode())


def _review(review_id: str, created: str) -> dict[str, Any]:
    return {
        "type": "customerReviews",
        "id": review_id,
        "attributes": {"rating": 1, "title": "Logged out", "body": "Logged out at the gate.",
                       "reviewerNickname": "traveller", "createdDate": created, "territory": "USA"},
    }  # fmt: skip


def test_the_header_is_read() -> None:
    assert appstore_connect_remaining(SPENT) == 0
    assert appstore_connect_remaining({"x-rate-limit": "user-hour-lim:3600;user-hour-rem:17;"}) == 17
    assert appstore_connect_remaining({"X-Rate-Limit": "garbage"}) is None
    assert appstore_connect_remaining({}) is None


def test_the_collector_stops_when_the_hour_is_spent_and_resumes_next_run(sqlite_engine: Engine) -> None:
    key = _key()
    with fake_api() as api:
        page1 = {
            "data": [_review("rev-03", "2026-11-20T09:10:00-08:00"), _review("rev-02", "2026-11-20T07:00:00-08:00")],
            "links": {"next": f"{api.url}/v1/apps/{APP}/customerReviews?cursor=Mg&limit=2"},
        }
        page2 = {"data": [_review("rev-01", "2026-11-19T12:00:00-08:00")], "links": {}}
        headers = [SPENT]  # the first answer spends the hour; later ones (the next run) have room

        def reviews(seen: Seen) -> Answer:
            return Answer(page2 if "cursor" in seen.query else page1, headers=headers.pop(0) if headers else LEFT)

        api.on("GET", f"/v1/apps/{APP}/customerReviews", reviews)
        settings = ListenerSettings(
            retry=RetrySettings(max_attempts=3, backoff_seconds=0, max_rate_limit_wait_seconds=60),
            sources=[SourceSettings(name="ios", platform="appstore", kind="connect", app_id=APP, page_size=2)],
        )

        def factory(spec: SourceSettings, _: ListenerSettings) -> AppStoreConnectSource:
            return AppStoreConnectSource(spec, key, base_url=api.url, timeout=5)

        policy = RetryPolicy(settings.retry, sleep=lambda seconds: None)
        first = run_source(sqlite_engine, settings, "ios", factory=factory, policy=policy)
        assert first.ok and (first.added, first.pages) == (2, 1)
        assert first.stopped is not None and "rate limited for 36" in first.stopped  # the hour > the 60 s cap
        assert len(api.requests) == 1  # no call was sent past the limit
        with Session(sqlite_engine) as session:
            cursor = session.get(SourceCursor, "ios")
            assert cursor is not None and "cursor=Mg" in cursor.position["next"]

        second = run_source(sqlite_engine, settings, "ios", factory=factory, policy=policy)
        assert second.ok and second.stopped is None and (second.added, second.pages) == (1, 1)
        assert api.requests[1].query == {"cursor": "Mg", "limit": "2"}  # resumed at the saved page


def test_the_poster_holds_replies_while_the_hour_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(appstore, "_SPENT_UNTIL", {})
    key = _key()
    created = {"data": {"type": "customerReviewResponses", "id": "resp-1", "attributes": {"responseBody": "Sorry"}}}
    with fake_api() as api:
        api.on("POST", "/v1/customerReviewResponses", Answer(created, status=201, headers=SPENT))
        target = ReplyTarget(platform="appstore", external_id="rev-03")
        assert AppStorePoster(base_url=api.url, key=key).post_reply(target, "Sorry") == "resp-1"
        later = AppStorePoster(base_url=api.url, key=key)  # a poster is made per reply: the limit is the key's
        with pytest.raises(TransientPostError, match="hourly request limit spent"):
            later.post_reply(target, "Sorry again")
        with pytest.raises(UnknownOutcome, match="hourly request limit spent"):
            later.find_existing(target, "Sorry again")  # a check that did not happen leaves it unknown
        assert len(api.seen("POST")) == 1 and not api.seen("GET")
        appstore._SPENT_UNTIL.clear()  # the hour is over
        api.on("POST", "/v1/customerReviewResponses", Answer(created, status=201, headers=LEFT))
        assert later.post_reply(target, "Sorry again") == "resp-1"
        assert len(api.seen("POST")) == 2
