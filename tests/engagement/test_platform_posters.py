"""The reply adapters against a local fake of each platform's API: the documented request
(method, path, body, auth header), the platform's id kept, and a second attempt after an
unknown outcome finding the first reply instead of posting twice."""

from __future__ import annotations

import glob
import json
import threading
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fake_api import Answer, Seen, fake_api

from engagement.queue.limits import LIMITS
from engagement.queue.platforms import DryRunPoster, poster_for
from engagement.queue.platforms.appstore import AppStorePoster
from engagement.queue.platforms.base import PermanentPostError, ReplyTarget, TransientPostError, UnknownOutcome
from engagement.queue.platforms.facebook import FacebookPoster
from engagement.queue.platforms.googleplay import GooglePlayPoster
from engagement.queue.platforms.instagram import InstagramPoster
from engagement.settings import ReplySettings
from listener.store_auth import AppStoreConnectKey, GooglePlayToken

PAGE_ID = "245628824887810"
TOP_COMMENT = "245778718206154_229887283291835"


def test_reply_limits_table_names_every_platform() -> None:
    assert {k: LIMITS[k] for k in ("googleplay", "appstore", "instagram", "facebook")} == {
        "googleplay": 350,
        "appstore": 5_970,
        "instagram": 2_200,
        "facebook": 8_000,
    }


class GraphThread:
    """A comment thread on the fake Graph API: POSTs add comments (optionally answering too late
    for the client), GETs list them newest first."""

    def __init__(self, created: dict[str, Any], *, slow_first: float = 0.0) -> None:
        self.created = created
        self.comments: list[dict[str, Any]] = []
        self.slow_first = slow_first
        self.lock = threading.Lock()

    def post(self, seen: Seen) -> Answer:
        with self.lock:
            comment = {
                **self.created,
                "id": f"{self.created['id']}{len(self.comments) or ''}",
                "message": seen.form()["message"],
                "from": {"id": PAGE_ID, "name": "Skylark Air"},
            }
            self.comments.insert(0, comment)
            delay, self.slow_first = self.slow_first, 0.0
        time.sleep(delay)  # stored, then the answer comes too late: the client cannot tell
        return Answer({"id": comment["id"]})

    def list(self, seen: Seen) -> Answer:
        return Answer({"data": list(self.comments), "paging": {"cursors": {"before": "b", "after": "a"}}})


def test_facebook_reply_is_posted_under_the_thread(shared: Path) -> None:
    created = json.loads((shared / "fixtures/meta/facebook/comments_create_resp.json").read_text())
    thread = GraphThread(created)
    target = ReplyTarget(platform="facebook", external_id="245778718206154_1111", conversation_id=TOP_COMMENT)
    with fake_api() as api:
        api.on("POST", f"/v21.0/{TOP_COMMENT}/comments", thread.post)
        poster = FacebookPoster(base_url=api.url + "/v21.0", token="page-token", page_id=PAGE_ID)
        reply_id = poster.post_reply(target, "Hi Maria, we're sorry: please DM us your booking reference.")
        [sent] = api.seen("POST")
        assert sent.path == f"/v21.0/{TOP_COMMENT}/comments"  # a reply to a reply goes under its top comment
        assert sent.headers["authorization"] == "Bearer page-token"
        assert sent.form() == {"message": "Hi Maria, we're sorry: please DM us your booking reference."}
        assert reply_id == created["id"] == "245778718206154_229887283291835"


def test_facebook_unknown_outcome_then_found_not_posted_twice(shared: Path) -> None:
    created = json.loads((shared / "fixtures/meta/facebook/comments_create_resp.json").read_text())
    thread = GraphThread(created, slow_first=2.0)
    target = ReplyTarget(platform="facebook", external_id=TOP_COMMENT, conversation_id=TOP_COMMENT)
    text = "We're on it, Maria &amp; team will call you today."
    with fake_api() as api:
        api.on("POST", f"/v21.0/{TOP_COMMENT}/comments", thread.post)
        api.on("GET", f"/v21.0/{TOP_COMMENT}/comments", thread.list)
        api.on("GET", "/v21.0/me", Answer({"id": PAGE_ID, "name": "Skylark Air"}))
        poster = FacebookPoster(base_url=api.url + "/v21.0", token="page-token", timeout=0.5)
        with pytest.raises(UnknownOutcome):
            poster.post_reply(target, text)
        found = poster.find_existing(target, text)
        assert found == created["id"]
        assert len(api.seen("POST")) == 1 and len(thread.comments) == 1
        check = api.seen("GET", f"/v21.0/{TOP_COMMENT}/comments")[0]
        assert check.query["filter"] == "stream" and "from" in check.query["fields"]
        assert poster.find_existing(target, "a different text") is None


def test_facebook_hide_comment_and_refusals() -> None:
    with fake_api() as api:
        api.on("POST", "/v21.0/245778718206154_999", Answer({"success": True}))
        expired = {"error": {"message": "Error validating access token", "type": "OAuthException", "code": 190}}
        api.on("POST", "/v21.0/1_2/comments", Answer(expired, status=400))
        throttled = {"error": {"message": "Application request limit reached", "code": 4}}
        api.on("POST", "/v21.0/1_3/comments", Answer(throttled, status=400))
        poster = FacebookPoster(base_url=api.url + "/v21.0", token="page-token", page_id=PAGE_ID)
        assert poster.hide_comment("245778718206154_999") is True
        hide = api.seen("POST", "/v21.0/245778718206154_999")[0]
        assert hide.form() == {"is_hidden": "true"} and hide.headers["authorization"] == "Bearer page-token"
        with pytest.raises(PermanentPostError, match="FACEBOOK_PAGE_TOKEN"):
            poster.post_reply(ReplyTarget(platform="facebook", external_id="1_2"), "hi")
        with pytest.raises(TransientPostError, match="rate limited"):
            poster.post_reply(ReplyTarget(platform="facebook", external_id="1_3"), "hi")


def test_instagram_reply_and_find_existing(shared: Path) -> None:
    comment = json.loads((shared / "fixtures/meta/instagram/comments_comment_fields.json").read_text())
    replies: list[dict[str, Any]] = []

    def post(seen: Seen) -> Answer:
        replies.append({"id": "17870913679156914", "text": seen.form()["message"], "username": "skylarkair"})
        return Answer({"id": "17870913679156914"})

    target = ReplyTarget(platform="instagram", external_id=comment["id"], conversation_id=comment["id"], raw=comment)
    with fake_api() as api:
        api.on("POST", f"/v21.0/{comment['id']}/replies", post)
        api.on("GET", f"/v21.0/{comment['id']}/replies", lambda s: Answer({"data": replies}))
        poster = InstagramPoster(base_url=api.url + "/v21.0", token="ig-token", username="@SkylarkAir")
        assert poster.find_existing(target, "Hey! How can we help?") is None
        assert poster.post_reply(target, "Hey! How can we help?") == "17870913679156914"
        sent = api.seen("POST")[0]
        assert (
            sent.form() == {"message": "Hey! How can we help?"} and sent.headers["authorization"] == "Bearer ig-token"
        )
        assert poster.find_existing(target, "Hey!  How can we help?") == "17870913679156914"
        caption = json.loads((shared / "fixtures/meta/instagram/users_mentioned_media.json").read_text())
        media = ReplyTarget(platform="instagram", external_id="17889114512354744", raw=caption["mentioned_media"])
        with pytest.raises(PermanentPostError, match="caption"):
            poster.post_reply(media, "thanks!")


def _ec_key() -> tuple[str, Any]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode(), private.public_key()


def test_appstore_response_replaces_and_is_found() -> None:
    pem, public = _ec_key()
    key = AppStoreConnectKey(issuer_id="57246542-96fe-1a63-e053-0824d011072a", key_id="2X9R4HXF34", private_key=pem)
    stored: dict[str, Any] = {
        "data": {
            "type": "customerReviewResponses",
            "id": "old-response",
            "attributes": {"responseBody": "An older answer", "state": "PUBLISHED"},
        }
    }

    def create(seen: Seen) -> Answer:
        text = seen.json()["data"]["attributes"]["responseBody"]
        stored["data"] = {
            "type": "customerReviewResponses",
            "id": "6a5cd28e-resp",
            "attributes": {"responseBody": text, "state": "PENDING_PUBLISH"},
        }
        return Answer(stored, status=201)

    review = "00000042-0f2b-4b6e-9d3c-5e7a1b2c3d4e"
    with fake_api() as api:
        api.on("POST", "/v1/customerReviewResponses", create)
        api.on("GET", f"/v1/customerReviews/{review}/response", lambda s: Answer(stored))
        poster = AppStorePoster(base_url=api.url, key=key)
        target = ReplyTarget(platform="appstore", external_id=review)
        text = "Thanks Sam: the seat-map crash is fixed in 4.2."
        assert poster.find_existing(target, text) is None  # the review holds an older answer
        assert poster.post_reply(target, text) == "6a5cd28e-resp"
        sent = api.seen("POST")[0]
        assert sent.json() == {
            "data": {
                "type": "customerReviewResponses",
                "attributes": {"responseBody": text},
                "relationships": {"review": {"data": {"type": "customerReviews", "id": review}}},
            }
        }
        scheme, token = sent.headers["authorization"].split(" ")
        assert scheme == "Bearer" and jwt.get_unverified_header(token) == {
            "alg": "ES256",
            "kid": "2X9R4HXF34",
            "typ": "JWT",
        }
        claims = jwt.decode(token, public, algorithms=["ES256"], audience="appstoreconnect-v1")
        assert claims["iss"] == key.issuer_id and 0 < claims["exp"] - claims["iat"] <= 20 * 60
        assert poster.find_existing(target, text) == "6a5cd28e-resp"  # after an unknown outcome: found


def test_appstore_without_response_and_refused_key() -> None:
    pem, _ = _ec_key()
    key = AppStoreConnectKey(issuer_id="issuer", key_id="KEY", private_key=pem)
    refused = {
        "errors": [
            {
                "status": "401",
                "code": "NOT_AUTHORIZED",
                "title": "Authentication credentials are missing or invalid.",
                "detail": "Provide a properly configured and signed bearer token",
            }
        ]
    }
    with fake_api() as api:
        api.on("GET", "/v1/customerReviews/r1/response", Answer({"errors": [{"status": "404"}]}, status=404))
        api.on("POST", "/v1/customerReviewResponses", Answer(refused, status=401))
        poster = AppStorePoster(base_url=api.url, key=key)
        assert poster.find_existing(ReplyTarget(platform="appstore", external_id="r1"), "hi") is None
        with pytest.raises(PermanentPostError, match="credentials were refused"):
            poster.post_reply(ReplyTarget(platform="appstore", external_id="r1"), "hi")


def _service_account(token_uri: str) -> dict[str, Any]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        "type": "service_account",
        "project_id": "skylark-air",
        "private_key_id": "abc123",
        "private_key": pem.decode(),
        "client_email": "engagebot@skylark-air.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }


def _discovery() -> dict[str, Any]:
    import googleapiclient

    [path] = glob.glob(
        str(Path(googleapiclient.__file__).parent / "discovery_cache/documents/androidpublisher.v3.json")
    )
    return json.loads(Path(path).read_text())  # type: ignore[no-any-return]


def test_googleplay_reply_follows_the_discovery_document() -> None:
    methods = _discovery()["resources"]["reviews"]["methods"]
    request_fields = set(_discovery()["schemas"]["ReviewsReplyRequest"]["properties"])
    package, review = "com.skylark.air", "gp:AOqpTOH0gh0EXFpMxRnhpEMvNWr1JAdL1VXnvLqE4bM"
    review_body: dict[str, Any] = {
        "reviewId": review,
        "authorName": "Jonas",
        "comments": [
            {"userComment": {"text": "Booking crashes", "starRating": 1, "lastModified": {"seconds": "1764400000"}}}
        ],
    }

    def reply(seen: Seen) -> Answer:
        edited = {"seconds": "1764403600", "nanos": 0}
        review_body["comments"].append({"developerComment": {"text": seen.json()["replyText"], "lastModified": edited}})
        return Answer({"result": {"replyText": seen.json()["replyText"], "lastEdited": edited}})

    with fake_api() as api:
        api.on(
            "POST", "/token", Answer({"access_token": "ya29.test-token", "expires_in": 3600, "token_type": "Bearer"})
        )
        path = "/" + methods["reply"]["path"].format(packageName=package, reviewId=review)
        api.on("POST", path, reply)
        api.on(
            "GET",
            "/" + methods["get"]["path"].format(packageName=package, reviewId=review),
            lambda s: Answer(review_body),
        )
        poster = GooglePlayPoster(
            base_url=api.url, token=GooglePlayToken(_service_account(api.url + "/token")), package=package
        )
        target = ReplyTarget(platform="googleplay", external_id=review)
        text = "Sorry Jonas: version 4.2 fixes the crash."
        assert poster.find_existing(target, text) is None
        assert poster.post_reply(target, text) == f"{review}:reply@1764403600"
        sent = api.seen("POST", path)[0]
        assert methods["reply"]["httpMethod"] == sent.method == "POST"
        assert set(sent.json()) <= request_fields and sent.json() == {"replyText": text}
        assert sent.headers["authorization"] == "Bearer ya29.test-token"
        grant = api.seen("POST", "/token")[0].form()
        assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        assert jwt.decode(grant["assertion"], options={"verify_signature": False})["scope"] == (
            "https://www.googleapis.com/auth/androidpublisher"
        )
        assert poster.find_existing(target, text) == f"{review}:reply@1764403600"
        assert len(api.seen("POST", "/token")) == 1  # the token is reused while valid


def test_poster_for_builds_each_adapter_or_says_why_not(tmp_path: Path) -> None:
    pem, _ = _ec_key()
    live = ReplySettings(dry_run=False, instagram_username="skylarkair", googleplay_package="com.skylark.air")
    sa = tmp_path / "sa.json"
    sa.write_text(json.dumps(_service_account("http://127.0.0.1:9/token")))
    env = {
        "FACEBOOK_PAGE_TOKEN": "t",
        "ASC_ISSUER_ID": "i",
        "ASC_KEY_ID": "k",
        "ASC_PRIVATE_KEY": pem,
        "GOOGLE_APPLICATION_CREDENTIALS": str(sa),
    }
    assert isinstance(poster_for("facebook", live, env), FacebookPoster)
    assert isinstance(poster_for("instagram", live, env), InstagramPoster)  # the Page token serves Instagram
    assert isinstance(poster_for("appstore", live, env), AppStorePoster)
    assert isinstance(poster_for("googleplay", live, env), GooglePlayPoster)
    missing = poster_for("appstore", live, {"ASC_ISSUER_ID": "i"})
    assert isinstance(missing, DryRunPoster) and "ASC_KEY_ID" in missing.reason
    assert isinstance(poster_for("facebook", live, {}), DryRunPoster)
    assert "FACEBOOK_PAGE_TOKEN" in poster_for("facebook", live, {}).reason  # type: ignore[attr-defined]
    assert isinstance(poster_for("facebook", ReplySettings(dry_run=True), env), DryRunPoster)
