"""App Store Connect ``customerReviews`` and Android Publisher ``reviews.list`` collectors against
a local fake of each API: the documented requests, incremental paging, and a review that
already carries the developer's response stored as answered, so triage opens no case for it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fake_api import Answer, FakeApi, fake_api
from sqlalchemy import Engine, select
from sqlmodel import Session

from db.models import Case, Post
from engagement.settings import EngagementSettings
from engagement.triage.cases import triage
from listener.collect import run_source
from listener.settings import ListenerSettings, SourceSettings
from listener.sources.store_apis import AppStoreConnectSource, GooglePlayApiSource
from listener.store_auth import AppStoreConnectKey, GooglePlayToken

APP = "1349913150"
PACKAGE = "com.skylark.air"


def _review(review_id: str, rating: int, body: str, created: str, response: str | None = None) -> dict[str, Any]:
    """A ``customerReviews`` resource as Apple's OpenAPI document describes it."""
    review: dict[str, Any] = {
        "type": "customerReviews",
        "id": review_id,
        "attributes": {
            "rating": rating,
            "title": body.split(".")[0],
            "body": body,
            "reviewerNickname": f"traveller{review_id[-2:]}",
            "createdDate": created,
            "territory": "USA",
        },
        "relationships": {"response": {"links": {"related": f"/v1/customerReviews/{review_id}/response"}}},
        "links": {"self": f"/v1/customerReviews/{review_id}"},
    }
    if response:
        review["relationships"]["response"]["data"] = {"type": "customerReviewResponses", "id": response}
    return review


def _response(response_id: str, text: str, modified: str) -> dict[str, Any]:
    return {
        "type": "customerReviewResponses",
        "id": response_id,
        "attributes": {"responseBody": text, "lastModifiedDate": modified, "state": "PUBLISHED"},
    }


def _asc_pages(api: FakeApi) -> None:
    page1 = {
        "data": [
            _review("rev-03", 1, "The app logged me out at the gate. My boarding pass was gone.",
                    "2026-11-20T09:10:00-08:00"),
            _review("rev-02", 2, "Seat map crashes every time.", "2026-11-20T07:00:00-08:00", response="resp-02"),
        ],
        "included": [_response("resp-02", "Sorry! 4.2 fixes the seat map.", "2026-11-20T08:00:00-08:00")],
        "links": {"self": "…", "next": f"{api.url}/v1/apps/{APP}/customerReviews?cursor=Mg&limit=2"},
        "meta": {"paging": {"total": 3, "limit": 2}},
    }  # fmt: skip
    page2 = {
        "data": [_review("rev-01", 5, "Smooth check-in, great crew.", "2026-11-19T12:00:00-08:00")],
        "links": {"self": "…"},
        "meta": {"paging": {"total": 3, "limit": 2}},
    }
    api.on("GET", f"/v1/apps/{APP}/customerReviews", lambda seen: Answer(page2 if "cursor" in seen.query else page1))


def _asc_key() -> tuple[AppStoreConnectKey, Any]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return AppStoreConnectKey(issuer_id="issuer-1", key_id="KEY123", private_key=pem), private.public_key()


def _posts(engine: Engine) -> dict[str, Post]:
    with Session(engine) as session:
        return {p.external_id: p for p in session.exec(select(Post)).scalars()}  # type: ignore[call-overload]


def test_appstore_connect_reviews_with_responses(sqlite_engine: Engine) -> None:
    key, public = _asc_key()
    with fake_api() as api:
        _asc_pages(api)
        settings = ListenerSettings(
            sources=[SourceSettings(name="ios", platform="appstore", kind="connect", app_id=APP, page_size=2)]
        )

        def factory(spec: SourceSettings, _: ListenerSettings) -> AppStoreConnectSource:
            return AppStoreConnectSource(spec, key, base_url=api.url, timeout=5)

        result = run_source(sqlite_engine, settings, "ios", factory=factory)
        assert result.ok, result.error
        assert (result.added, result.pages) == (3, 2)
        first = api.requests[0]
        assert first.query == {"include": "response", "sort": "-createdDate", "limit": "2"}
        token = first.headers["authorization"].removeprefix("Bearer ")
        assert jwt.decode(token, public, algorithms=["ES256"], audience="appstoreconnect-v1")["iss"] == "issuer-1"
        assert api.requests[1].query == {"cursor": "Mg", "limit": "2"}  # links.next followed as given
        posts = _posts(sqlite_engine)
        assert posts["rev-02"].answered_at is not None
        assert posts["rev-02"].answered_at.replace(tzinfo=UTC) == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
        assert posts["rev-03"].answered_at is None and posts["rev-03"].rating == 1
        assert posts["rev-03"].platform == "appstore" and posts["rev-03"].title == "The app logged me out at the gate"
        # the next pass stops at the newest review it already has: one page, nothing added
        again = run_source(sqlite_engine, settings, "ios", factory=factory)
        assert (again.added, again.pages) == (0, 1)


def test_a_review_with_a_developer_response_opens_no_case(sqlite_engine: Engine) -> None:
    key, _ = _asc_key()
    with fake_api() as api:
        _asc_pages(api)
        settings = ListenerSettings(
            sources=[SourceSettings(name="ios", platform="appstore", kind="connect", app_id=APP)]
        )
        run_source(
            sqlite_engine, settings, "ios",
            factory=lambda spec, _: AppStoreConnectSource(spec, key, base_url=api.url, timeout=5),
        )  # fmt: skip
    # no model has scored them: a low-star review still becomes a case ("sentiment unknown")
    triage(sqlite_engine, EngagementSettings(), now=datetime(2026, 11, 20, 18, 0, tzinfo=UTC))
    with Session(sqlite_engine) as session:
        cases = session.exec(select(Case.post_id)).all()  # type: ignore[call-overload]
    posts = _posts(sqlite_engine)
    opened = {next(k for k, p in posts.items() if p.id == row[0]) for row in cases}
    assert opened == {"rev-03"}  # rev-02 (2 stars) carries the developer's response


def _service_account(token_uri: str) -> dict[str, Any]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "engagebot@skylark-air.iam.gserviceaccount.com",
        "token_uri": token_uri,
    }


def _play_review(review_id: str, stars: int, text: str, seconds: int, reply: str | None = None) -> dict[str, Any]:
    """A ``Review`` as the androidpublisher v3 discovery document describes it."""
    comments: list[dict[str, Any]] = [
        {
            "userComment": {
                "text": f"\t{text}",
                "lastModified": {"seconds": str(seconds), "nanos": 0},
                "starRating": stars,
                "reviewerLanguage": "en",
                "appVersionName": "4.1.0",
                "thumbsUpCount": 3,
            }
        }
    ]
    if reply:
        comments.append({"developerComment": {"text": reply, "lastModified": {"seconds": str(seconds + 600)}}})
    return {"reviewId": review_id, "authorName": "Jonas Weber", "comments": comments}


def test_googleplay_api_pages_and_marks_answered(sqlite_engine: Engine) -> None:
    start = int(datetime(2026, 11, 20, 10, 0, tzinfo=UTC).timestamp())
    page1 = {
        "reviews": [
            _play_review("gp:1", 1, "Refund never arrived", start),
            _play_review("gp:2", 2, "Crashes at checkout", start - 3600, reply="Fixed in 4.2, sorry!"),
        ],
        "tokenPagination": {"nextPageToken": "page-2"},
        "pageInfo": {"totalResults": 3, "resultPerPage": 2},
    }
    page2 = {"reviews": [_play_review("gp:3", 4, "Nice app", start - 7200)]}
    later = {"reviews": [_play_review("gp:1", 1, "Refund never arrived", start, reply="We refunded you today.")]}
    with fake_api() as api:
        api.on("POST", "/token", Answer({"access_token": "ya29.play", "expires_in": 3600, "token_type": "Bearer"}))
        path = f"/androidpublisher/v3/applications/{PACKAGE}/reviews"
        answers = [page1, page2, later]
        api.on("GET", path, lambda seen: Answer(answers.pop(0)))
        settings = ListenerSettings(
            sources=[SourceSettings(name="android", platform="googleplay", kind="api", app_id=PACKAGE, page_size=2)]
        )
        token = GooglePlayToken(_service_account(api.url + "/token"))

        def factory(spec: SourceSettings, _: ListenerSettings) -> GooglePlayApiSource:
            return GooglePlayApiSource(spec, token, base_url=api.url, timeout=5)

        result = run_source(sqlite_engine, settings, "android", factory=factory)
        assert result.ok, result.error
        assert (result.added, result.pages) == (3, 2)
        assert [r.query for r in api.seen("GET", path)] == [{"maxResults": "2"}, {"maxResults": "2", "token": "page-2"}]
        assert all(r.headers["authorization"] == "Bearer ya29.play" for r in api.seen("GET", path))
        posts = _posts(sqlite_engine)
        assert posts["gp:2"].answered_at is not None and posts["gp:1"].answered_at is None
        assert posts["gp:1"].text == "Refund never arrived" and posts["gp:1"].app_version == "4.1.0"
        # a reply given since the last pass: the known review is marked answered, nothing added
        again = run_source(sqlite_engine, settings, "android", factory=factory)
        assert (again.added, again.answered) == (0, 1)
        assert _posts(sqlite_engine)["gp:1"].answered_at is not None
