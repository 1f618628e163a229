"""Posting replies: recorded X and Reddit calls, dry-run by default, exactly once across crashes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import queue_factories as f
import requests
import responses
import vcr
from queue_factories import NOW
from sqlalchemy import Engine
from vcr.persisters.filesystem import FilesystemPersister
from vcr.serialize import deserialize

from db.engine import session_scope
from engagement import queue
from engagement.queue import replies
from engagement.queue.platforms import PermanentPostError
from engagement.settings import EngagementSettings, ReplySettings
from engagement.triage.cases import triage

LIVE_X = ReplySettings(
    dry_run=False,
    x_consumer_key="k",
    x_consumer_secret="s",
    x_access_token="t",
    x_access_token_secret="ts",
)
LIVE_REDDIT = ReplySettings(
    dry_run=False,
    reddit_client_id="dummy",
    reddit_client_secret="dummy",
    reddit_username="brandbot",
    reddit_password="x",
    reddit_user_agent="engagebot-test/0.1",
)
TWEETS = "https://api.twitter.com/2/tweets"
ME = "https://api.twitter.com/2/users/me"
TIMELINE = "https://api.twitter.com/2/users/99/tweets"


def _claimed_case(
    engine: Engine,
    *,
    platform: str = "x",
    external_id: str = "1455953449008816128",
    conversation_id: str | None = None,
) -> int:
    author = f.author(engine, handle="ada", platform=platform)
    f.post(
        engine,
        author_id=author,
        text="where is my refund",
        platform=platform,
        external_id=external_id,
        conversation_id=conversation_id,
    )
    triage(engine, EngagementSettings(), now=NOW)
    case = queue.claim_next(engine, actor=f.person("amy"), team="default", now=NOW)
    assert case is not None and case.id is not None
    return case.id


def test_dry_run_is_the_default_and_sends_nothing(engine: Engine) -> None:
    case_id = _claimed_case(engine)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        reply = queue.reply(engine, case_id, actor=f.person("amy"), text="Sorry!", settings=ReplySettings(), now=NOW)
        assert len(mock.calls) == 0
    assert reply.status == "not_sent" and reply.error == "dry_run setting is on"
    with session_scope(engine) as session:  # nothing was posted: the case stays open, not "replied"
        case = queue.get_case(session, case_id)
        assert case.status == "claimed" and case.last_error is not None and "not sent" in case.last_error
    # credentials alone do not switch it on: dry_run must be turned off too
    creds_only = LIVE_X.model_copy(update={"dry_run": True})
    assert replies.poster_for("x", creds_only).dry_run
    assert replies.poster_for("x", ReplySettings(dry_run=False)).dry_run  # no credentials: still dry-run


def test_x_reply_replays_the_recorded_create_tweet(engine: Engine, shared: Path) -> None:
    case_id = _claimed_case(engine)
    sent: list[Any] = []

    def seen(request: Any) -> Any:  # vcrpy shows us each outgoing request before matching it
        if request.method == "POST":
            sent.append(json.loads(request.body))
        return request

    tape = vcr.VCR(
        cassette_library_dir=str(shared / "fixtures/x/cassettes"),
        filter_headers=["Authorization"],
        record_mode="none",
        decode_compressed_response=True,
        before_record_request=seen,
    )
    with tape.use_cassette("test_client_create_and_delete_tweet.yaml"):
        reply = queue.reply(engine, case_id, actor=f.person("amy"), text="Test Tweet", settings=LIVE_X, now=NOW)
    sent_body = sent[-1]
    assert reply.status == "sent" and reply.platform_reply_id == "1456012973835788293"
    assert sent_body == {
        "text": "Test Tweet",
        "reply": {"in_reply_to_tweet_id": "1455953449008816128"},
    }
    with session_scope(engine) as session:
        assert queue.get_case(session, case_id).status == "replied"


class _Placeholders(FilesystemPersister):
    @classmethod
    def load_cassette(cls, cassette_path: Any, serializer: Any) -> Any:
        text = Path(cassette_path).read_text()
        for token, value in {"<TEST_SUBREDDIT>": "testsub", "<USERNAME>": "brandbot"}.items():
            text = text.replace(token, value)
        return deserialize(text, serializer)


def _reddit_tape(shared: Path) -> vcr.VCR:
    tape = vcr.VCR(
        cassette_library_dir=str(shared / "fixtures/reddit/cassettes"),
        serializer="json",
        record_mode="none",
        match_on=["method", "scheme", "host", "port", "path", "query"],
    )
    tape.register_persister(_Placeholders)
    return tape


def test_reddit_reply_replays_the_recorded_comment(engine: Engine, shared: Path) -> None:
    case_id = _claimed_case(engine, platform="reddit", external_id="t1_d1616q2", conversation_id="t3_4b1tfm")
    with _reddit_tape(shared).use_cassette("TestComment.test_reply.json"):
        reply = queue.reply(engine, case_id, actor=f.person("amy"), text="Comment reply", settings=LIVE_REDDIT, now=NOW)
    assert reply.status == "sent" and reply.platform_reply_id == "t1_d1680wu"


def test_a_refused_reply_fails_visibly_on_the_case(engine: Engine, shared: Path) -> None:
    case_id = _claimed_case(engine, platform="reddit", external_id="eear2ml", conversation_id="t3_abc")
    with _reddit_tape(shared).use_cassette("TestComment.test_reply__none.json"):
        reply = queue.reply(engine, case_id, actor=f.person("amy"), text="TEST", settings=LIVE_REDDIT, now=NOW)
    assert reply.status == "failed" and "did not create" in (reply.error or "")
    with session_scope(engine) as session:
        case = queue.get_case(session, case_id)
    assert case.status == "claimed" and "did not create" in (case.last_error or "")


class FakeX:
    """A stateful stand-in for X's API: tweets posted are visible on the brand's timeline."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.tweets: list[dict[str, Any]] = []
        self.posts = 0
        self.fail_next: int | None = None  # HTTP status to answer the next POST with
        self.create_despite_failure = False
        mock.add_callback(responses.POST, TWEETS, callback=self._create)
        mock.add(responses.GET, ME, json={"data": {"id": "99", "name": "Acme", "username": "acme"}})
        mock.add_callback(responses.GET, TIMELINE, callback=self._timeline)

    def _create(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        self.posts += 1
        body = json.loads(request.body or b"{}")
        tweet = {
            "id": str(2000 + self.posts),
            "text": body["text"],
            "edit_history_tweet_ids": [str(2000 + self.posts)],
            "referenced_tweets": [{"type": "replied_to", "id": body["reply"]["in_reply_to_tweet_id"]}],
        }
        status, self.fail_next = self.fail_next, None
        if status is not None:
            if self.create_despite_failure:
                self.tweets.append(tweet)
            return (
                status,
                {},
                json.dumps({"title": "error", "detail": "boom", "errors": [{"message": "boom"}]}),
            )
        self.tweets.append(tweet)
        return 201, {}, json.dumps({"data": {"id": tweet["id"], "text": tweet["text"]}})

    def _timeline(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        return (
            200,
            {},
            json.dumps({"data": list(reversed(self.tweets)), "meta": {"result_count": len(self.tweets)}}),
        )


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeX(mock)


def test_crash_between_send_and_record_does_not_send_twice(
    engine: Engine, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _claimed_case(engine)
    original = replies._record_outcome

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit("killed after the platform accepted the reply")

    monkeypatch.setattr(replies, "_record_outcome", crash)
    with pytest.raises(SystemExit):
        queue.reply(engine, case_id, actor=f.person("amy"), text="Sorry about that", settings=LIVE_X, now=NOW)
    monkeypatch.setattr(replies, "_record_outcome", original)
    assert fake_x.posts == 1
    with session_scope(engine) as session:
        [stuck] = queue.case_replies(session, case_id)
    assert stuck.status == "sending" and stuck.id is not None
    # another worker right away leaves the in-flight send alone
    assert replies.retry_replies(engine, settings=LIVE_X, now=NOW + timedelta(seconds=30)) == {
        "considered": 1,
        "sending": 1,
    }
    counts = replies.retry_replies(engine, settings=LIVE_X, now=NOW + timedelta(minutes=5))
    assert counts == {"considered": 1, "sent": 1}
    assert fake_x.posts == 1, "the reply was posted twice"
    with session_scope(engine) as session:
        [done] = queue.case_replies(session, case_id)
        assert done.platform_reply_id == "2001" and queue.get_case(session, case_id).status == "replied"
    assert replies.retry_replies(engine, settings=LIVE_X, now=NOW + timedelta(minutes=9)) == {"considered": 0}


def test_crash_before_the_send_posts_it_once_on_retry(
    engine: Engine, fake_x: FakeX, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _claimed_case(engine)
    from engagement.queue.platforms.x import XPoster

    def killed(self: XPoster, target: Any, text: str) -> str:
        raise SystemExit("killed before the request left")

    with monkeypatch.context() as patch:
        patch.setattr(XPoster, "post_reply", killed)
        with pytest.raises(SystemExit):
            queue.reply(engine, case_id, actor=f.person("amy"), text="Sorry", settings=LIVE_X, now=NOW)
    assert fake_x.posts == 0
    assert replies.retry_replies(engine, settings=LIVE_X, now=NOW + timedelta(minutes=5))["sent"] == 1
    assert fake_x.posts == 1 and len(fake_x.tweets) == 1


@pytest.mark.parametrize("created", [True, False])
def test_server_error_is_an_unknown_outcome_checked_before_retrying(
    engine: Engine, fake_x: FakeX, created: bool
) -> None:
    case_id = _claimed_case(engine)
    fake_x.fail_next, fake_x.create_despite_failure = 503, created
    first = queue.reply(engine, case_id, actor=f.person("amy"), text="On it", settings=LIVE_X, now=NOW)
    assert first.status == "sending" and "unknown outcome" in (first.error or "")
    with session_scope(engine) as session:
        assert "unknown outcome" in (queue.get_case(session, case_id).last_error or "")
    replies.retry_replies(engine, settings=LIVE_X, now=NOW + timedelta(minutes=5))
    assert len(fake_x.tweets) == 1  # exactly one reply exists on the platform either way
    assert fake_x.posts == (1 if created else 2)
    with session_scope(engine) as session:
        [reply] = queue.case_replies(session, case_id)
        assert reply.status == "sent" and queue.get_case(session, case_id).last_error is None


def test_forbidden_is_permanent(engine: Engine, fake_x: FakeX) -> None:
    case_id = _claimed_case(engine)
    fake_x.fail_next = 403
    reply = queue.reply(engine, case_id, actor=f.person("amy"), text="On it", settings=LIVE_X, now=NOW)
    assert reply.status == "failed" and "refused" in (reply.error or "")
    assert replies.retry_replies(engine, settings=LIVE_X, now=NOW + timedelta(minutes=5)) == {"considered": 0}
    assert fake_x.posts == 1


class _Refusing:
    """The platform's answer to a reply it refuses (a deleted post, a revoked permission)."""

    dry_run = False

    def __init__(self, platform: str) -> None:
        self.platform = platform

    def post_reply(self, target: Any, text: str) -> str:
        raise PermanentPostError(f"{self.platform}: the post was deleted")

    def find_existing(self, target: Any, text: str) -> str | None:
        return None


@pytest.mark.parametrize("platform", ["x", "reddit", "facebook", "instagram", "appstore", "googleplay"])
def test_nothing_posted_never_reads_replied_on_any_platform(sqlite_engine: Engine, platform: str) -> None:
    """Dry run, missing credentials, a refusal: the reply is not sent, the case stays open with the
    reason, and only an explicit "answered elsewhere" closes it."""
    engine = sqlite_engine
    case_id = _claimed_case(engine, platform=platform, external_id=f"{platform}-1")
    amy = f.person("amy")
    dry = queue.reply(engine, case_id, actor=amy, text="Sorry!", settings=ReplySettings(), now=NOW)
    assert dry.status == "not_sent" and dry.error == "dry_run setting is on"
    live_without_keys = queue.reply(engine, case_id, actor=amy, text="Sorry!", settings=ReplySettings(dry_run=False),
                                    now=NOW)  # fmt: skip
    assert live_without_keys.status == "not_sent" and live_without_keys.error
    refused = queue.reply(engine, case_id, actor=amy, text="Sorry!", settings=ReplySettings(dry_run=False), now=NOW,
                          poster_factory=lambda p, s: _Refusing(p))  # fmt: skip
    assert refused.status == "failed" and "deleted" in (refused.error or "")
    with session_scope(engine) as session:
        case = queue.get_case(session, case_id)
        assert case.status == "claimed" and case.last_error is not None and "not sent" in case.last_error
    closed = replies.answered_elsewhere(engine, case_id, actor=amy, url="", note="phoned her", now=NOW)
    assert closed.status == "replied" and closed.close_reason == "answered elsewhere"
