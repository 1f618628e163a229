"""Test connection (issue 26): one call against the configured base URL, nothing stored, and the
rate budget the collector knows (App Store Connect's hourly requests, X's monthly reads)."""

from __future__ import annotations

from fake_api import Answer, fake_api
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from test_appstore_rate_limit import APP, LEFT, _key, _review

from db.models import JobRun, Post, SourceCursor
from listener.check import check_connection
from listener.settings import ListenerSettings, SourceSettings
from listener.sources.store_apis import AppStoreConnectSource


def test_app_store_connect_check_says_the_requests_left_and_stores_nothing(sqlite_engine: Engine) -> None:
    key = _key()
    with fake_api() as api:
        api.on("GET", f"/v1/apps/{APP}/customerReviews",
               Answer({"data": [_review("r1", "2026-12-01T10:00:00-07:00")], "links": {}}, headers=LEFT))  # fmt: skip
        settings = ListenerSettings(
            sources=[SourceSettings(name="ios", platform="appstore", kind="connect", app_id=APP)]
        )

        def builder(spec: SourceSettings, _: ListenerSettings) -> AppStoreConnectSource:
            return AppStoreConnectSource(spec, key, base_url=api.url, timeout=5)

        check = check_connection(sqlite_engine, settings, "ios", builder=builder)
        assert check.ok and check.items == 1
        assert check.rate == "3,599 App Store Connect requests left this hour"
        assert len(api.requests) == 1 and api.requests[0].headers["authorization"].startswith("Bearer ")
        api.on("GET", f"/v1/apps/{APP}/customerReviews", Answer({"errors": [{"detail": "bad key"}]}, status=401))
        refused = check_connection(sqlite_engine, settings, "ios", builder=builder)
        assert not refused.ok and refused.message.startswith("appstore refused the call")
    with Session(sqlite_engine) as session:
        for table in (Post, JobRun, SourceCursor):
            assert session.exec(select(func.count()).select_from(table)).one() == 0


def test_x_check_reports_the_monthly_read_budget(sqlite_engine: Engine) -> None:
    settings = ListenerSettings(x_monthly_read_budget=10_000,
                                sources=[SourceSettings(name="x-search", platform="x", query="brand")])  # fmt: skip

    def no_token(spec: SourceSettings, _: ListenerSettings) -> AppStoreConnectSource:
        raise RuntimeError("X needs a bearer token: set X_BEARER_TOKEN")

    check = check_connection(sqlite_engine, settings, "x-search", builder=no_token)
    assert not check.ok and "set X_BEARER_TOKEN" in check.message
    assert check.rate == "10,000 of 10,000 X reads left this month"
