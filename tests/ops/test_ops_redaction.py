"""No secret in any log line at any level: canary secrets through failing Slack sends (bot token
and webhook, slack_sdk logging at DEBUG), a bad DSN, a rejected settings value and tracebacks;
every captured line (stderr and every record) is searched for them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from slack_server import FakeSlack, Scripted, fake_slack
from sqlalchemy import text

from db.engine import make_engine
from engagebot import redaction
from engagebot.runtime import configure_logging, load_settings
from engagement.notify.transport import WebApiTransport, WebhookTransport, transport_for

BOT_TOKEN = "xoxb-4242-canarybottoken-abcdef"
SIGNING_SECRET = "canary-signing-secret-7f3e9a"
DB_PASSWORD = "canary-db-pw-93kd"
WEBHOOK_PATH = "/hooks/T0CANARY/B0CANARY/canarywebhooksecret42"
SHORT_SECRET = "canary-too-short-xyz"
CANARIES = (BOT_TOKEN, SIGNING_SECRET, DB_PASSWORD, "canarywebhooksecret42", SHORT_SECRET, "hooksecretpublic99")


NOISY = ("slack_sdk", "urllib3", "sqlalchemy")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as server:
        yield server


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.LogCaptureFixture]:
    """The app's own logging at DEBUG to stderr (as ``engagebot --log-level DEBUG``; set up in
    the test, where capsys captures stderr), plus pytest's record capture on the root logger."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in NOISY}
    yield caplog
    # Leave logging as the test found it: a handler on the closed capture stream and DEBUG on
    # SQLAlchemy would change what later tests log and store.
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    for name, level in noisy.items():
        logging.getLogger(name).setLevel(level)


def _debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("DEBUG")
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG)


def _every_line(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> list[str]:
    handler = logging.getLogger().handlers[0]
    formatted = [handler.format(record) for record in caplog.records]
    out, err = capsys.readouterr()
    # every field a handler prints (the live exception object in exc_info aside: formatters print
    # exc_text, which holds its redacted traceback)
    raw = [json.dumps({k: v for k, v in r.__dict__.items() if k != "exc_info"}, default=str) for r in caplog.records]
    return [*formatted, *out.splitlines(), *err.splitlines(), *raw]


def test_canary_secrets_never_reach_a_log_line(
    slack: FakeSlack,
    logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _debug_logging(logs)
    hook = fake_slack()
    hook_server = hook.__enter__()
    monkeypatch.setenv("ENGAGEBOT_ENGAGEMENT__SLACK__BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("ENGAGEBOT_ENGAGEMENT__SLACK__WEBHOOK_URL", hook_server.url + WEBHOOK_PATH)
    monkeypatch.setenv("ENGAGEBOT_ENGAGEMENT__SLACK__SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("ENGAGEBOT_ENGAGEMENT__SLACK__BASE_URL", slack.url + "/api/")
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://engagebot:{DB_PASSWORD}@127.0.0.1:1/nothing")
    settings = load_settings()  # remembers every configured secret
    log = logging.getLogger("engagebot.test")

    # failing Slack sends: slack_sdk logs the request (webhook URL included) at DEBUG
    web_api = transport_for(settings.engagement.slack)
    assert isinstance(web_api, WebApiTransport)
    slack.script = [Scripted(500, {"ok": False, "error": "internal_error"})]
    assert not web_api.send({"channel": "#care", "text": "hello"}).ok
    slack.script = [Scripted(200, {"ok": False, "error": "invalid_auth"})]
    assert not web_api.send({"channel": "#care", "text": "hello"}).ok
    webhook_url = hook_server.url + WEBHOOK_PATH
    hook_server.script = [Scripted(500, "server error")]
    delivery = WebhookTransport(webhook_url).send({"text": "hello"})
    assert not delivery.ok
    log.warning("slack webhook failed: %s", delivery.error)
    hook.__exit__(None, None, None)  # the same webhook, now refusing connections
    refused = WebhookTransport(webhook_url, timeout=2).send({"text": "hello"})
    assert not refused.ok
    log.warning("slack webhook failed: %s", refused.error)
    log.info("an interaction answered at https://hooks.slack.com/actions/T1/B2/hooksecretpublic99")
    log.debug("sent with headers %s", {"Authorization": f"Bearer {BOT_TOKEN}"})

    # a bad DSN: the driver's error and our own line about it
    try:
        with make_engine(settings.database_url).connect() as connection:
            connection.execute(text("select 1"))
    except Exception:
        log.exception("database unreachable at %s", settings.database_url)

    # a secret in an exception's message, logged with its traceback
    try:
        raise RuntimeError(f"Slack refused token {BOT_TOKEN} for {webhook_url}")
    except RuntimeError:
        log.exception("send failed")

    # a rejected, too-short secret: neither the error nor a log of it echoes the value
    monkeypatch.setenv("ENGAGEBOT_ENGAGEMENT__WEB__PRODUCTION", "true")
    monkeypatch.setenv("ENGAGEBOT_ENGAGEMENT__WEB__SESSION_SECRET", SHORT_SECRET)
    with pytest.raises(typer.BadParameter) as rejected:
        load_settings()
    assert SHORT_SECRET not in str(rejected.value) and "at least 32 characters" in str(rejected.value)
    log.error("settings refused: %s", rejected.value)

    lines = _every_line(logs, capsys)
    assert any(r.name.startswith("slack_sdk") for r in logs.records), "slack_sdk logged nothing: the test proves little"
    assert sum("[REDACTED]" in line for line in lines) >= 5
    leaks = [line for line in lines for canary in CANARIES if canary in line]
    assert leaks == [], "\n".join(leaks)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "post to https://hooks.slack.com/services/T0/B0/abc123",
            "post to https://hooks.slack.com/[REDACTED]",
        ),
        ("token xoxb-1-2-abc and xoxp-9-z", "token [REDACTED] and [REDACTED]"),
        ("Authorization: Bearer abc.def-123", "Authorization: Bearer [REDACTED]"),
        ("postgresql://app:s3cr%40t@db:5432/x", "postgresql://app:[REDACTED]@db:5432/x"),
        ("GET /cb?code=1&client_secret=zz9&x=2", "GET /cb?code=1&client_secret=[REDACTED]&x=2"),
        ("{'password': 'hunter22'}", "{'password': '[REDACTED]'}"),
        ("42 tokens in 3 batches; max_tokens 512", "42 tokens in 3 batches; max_tokens 512"),
    ],
)
def test_patterns(line: str, expected: str) -> None:
    assert redaction.redact(line) == expected


def test_status_shows_a_failed_run_without_the_secret_its_error_quoted(sqlite_engine: Any) -> None:
    from db.jobs import job_run
    from engagebot.opsdata import status_report

    with pytest.raises(RuntimeError), job_run(sqlite_engine, "notify"):
        raise RuntimeError(f"Slack said invalid_auth for {BOT_TOKEN} at https://hooks.slack.com/services/T/B/x1y2z3")
    [job] = status_report(sqlite_engine)["jobs"]
    assert job["status"] == "failed" and BOT_TOKEN not in job["error"] and "x1y2z3" not in job["error"]
    assert job["error"].startswith("RuntimeError: Slack said invalid_auth for [REDACTED]")
