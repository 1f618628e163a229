"""An expired or missing collector credential is one line in ``engagebot status`` per platform,
naming the setting to fix: the Facebook collector run against a fake Graph API that answers
code 190 (expired token), an App Store Connect source with no API key, and the line gone once
the source's newest run succeeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_api import Answer, fake_api
from sqlalchemy import Engine
from typer.testing import CliRunner

from db.engine import session_scope
from engagebot.cli import app as cli
from engagebot.opsdata import collect_credentials
from listener.collect import run_source
from listener.credentials import credential_problem, setting_to_fix
from listener.settings import ListenerSettings, RetrySettings, SourceSettings

PAGE_ID = "245628824887810"
EXPIRED = {"error": {"message": "Error validating access token: Session has expired", "type": "OAuthException",
                     "code": 190, "error_subcode": 463}}  # fmt: skip
TOML = """
[[listener.sources]]
name = "fb-page"
platform = "facebook"
page_id = "245628824887810"

[[listener.sources]]
name = "ios-reviews"
platform = "appstore"
kind = "connect"
app_id = "1349913150"
"""


def _settings(graph: str) -> ListenerSettings:
    return ListenerSettings(
        graph_api_base=graph,
        facebook_page_token="page-token",
        retry=RetrySettings(max_attempts=1, backoff_seconds=0),
        sources=[
            SourceSettings(name="fb-page", platform="facebook", page_id=PAGE_ID),
            SourceSettings(name="ios-reviews", platform="appstore", kind="connect", app_id="1349913150"),
        ],
    )


def test_status_names_the_setting_for_each_platform(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ASC_ISSUER_ID", "ASC_KEY_ID", "ASC_PRIVATE_KEY", "ASC_PRIVATE_KEY_PATH", "FACEBOOK_PAGE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with fake_api() as api:
        api.on("GET", f"/v21.0/{PAGE_ID}/feed", Answer(EXPIRED, status=400))
        settings = _settings(api.url + "/v21.0")
        assert run_source(sqlite_engine, settings, "fb-page").error is not None
        assert run_source(sqlite_engine, settings, "ios-reviews").error is not None
    (tmp_path / "engagebot.toml").write_text(TOML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    screen = CliRunner().invoke(cli, ["status"], env={"COLUMNS": "250"})
    assert screen.exit_code == 0, screen.output
    lines = [line.strip() for line in screen.output.splitlines() if line.strip().startswith("collecting from")]
    assert len(lines) == 2, screen.output
    appstore, facebook = lines
    # the setting comes first: the screen is cut at its width, the fix never is
    assert facebook.startswith("collecting from facebook fails: set FACEBOOK_PAGE_TOKEN (source fb-page: the Graph")
    assert appstore.startswith("collecting from appstore fails: set ASC_ISSUER_ID, ASC_KEY_ID, ASC_PRIVATE_KEY (source")
    # the reply side, per platform too (engagement.queue.answerable)
    assert "replies to facebook not posted: no credentials for 'facebook': set FACEBOOK_PAGE_TOKEN" in screen.output
    report = json.loads(CliRunner().invoke(cli, ["status", "--json"]).output)
    assert set(report["credentials"]) == {"facebook", "appstore"}
    [facebook_json] = report["credentials"]["facebook"]
    assert facebook_json["source"] == "fb-page" and facebook_json["setting"] == "FACEBOOK_PAGE_TOKEN"
    assert facebook_json["problem"].startswith("the Graph access token is expired or invalid")
    assert "App Store Connect needs a team API key" in report["credentials"]["appstore"][0]["problem"]

    # a new token: the next run succeeds and the line is gone
    with fake_api() as api:
        api.on("GET", f"/v21.0/{PAGE_ID}/feed", Answer({"data": [], "paging": {}}))
        assert run_source(sqlite_engine, _settings(api.url + "/v21.0"), "fb-page").error is None
    with session_scope(sqlite_engine) as session:
        found = collect_credentials(session, {"fb-page": "facebook", "ios-reviews": "appstore"})
    assert set(found) == {"appstore"}


def test_only_credential_errors_count_and_the_setting_is_named() -> None:
    assert credential_problem("Retriable: Graph API 500: oops") is None
    assert credential_problem(None) is None
    refused = credential_problem('StoreApiError: App Store Connect refused the credentials (401): {"errors": []}')
    assert refused is not None and refused.startswith("App Store Connect refused the credentials (401)")
    assert setting_to_fix("googleplay", "Google Play refused the credentials (403)") == "GOOGLE_APPLICATION_CREDENTIALS"
    assert (
        setting_to_fix("tiktok", "access token is expired or invalid: set a new one in TIKTOK_TOKEN") == "TIKTOK_TOKEN"
    )
