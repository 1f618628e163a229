"""The weekly report's figures on a hand-built world (test_report_dataset.py), asserted exactly."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine
from test_report_dataset import BASE_URL, NOW, build_dataset

from db.engine import session_scope
from engagement.customers.tiers import DEFAULT_FRACTIONS
from engagement.links import Links
from engagement.report.headline import headline
from engagement.report.query import load_report_data
from engagement.report.risk import top_unanswered
from engagement.report.rows import ReportData
from engagement.report.tables import Table, percentile
from engagement.report.terms import Vocabulary, log_odds
from engagement.report.weekly import compute_tables
from engagement.report.weeks import parse_week, resolve_week, week_of
from engagement.settings import ReportSettings

SETTINGS = ReportSettings()
LINKS = Links(BASE_URL)


def load(engine: Engine, week: str = "2026-W47", now: datetime = NOW) -> ReportData:
    with session_scope(engine) as session:
        return load_report_data(
            session=session,
            week=parse_week(week),
            trend_weeks=12,
            now=now,
            fractions=DEFAULT_FRACTIONS,
        )


@pytest.fixture
def data(engine: Engine) -> ReportData:
    """The world on SQLite and on PostgreSQL: every figure must be the same on both."""
    build_dataset(engine)
    return load(engine)


@pytest.fixture
def tables(data: ReportData) -> dict[str, Table]:
    return compute_tables(data, SETTINGS, LINKS)


def test_rows_read_from_the_database(data: ReportData) -> None:
    week = data.posts_in(data.week)
    assert len(week) == 11  # the brand's own post is left out
    assert {p.label for p in week} == {
        "negative",
        "neutral",
        "positive",
        "unsupported_language",
        None,
    }
    # post 3: an older model said negative, the newest score says positive
    assert sorted(p.label or "" for p in week if p.platform == "x").count("positive") == 1
    tiers = {data.customers[cid].crm_id: c.tier for cid, c in data.customers.items()}
    assert tiers == {"C1": "top", "C2": "high", "C3": "high", "C5": "standard"}
    # eve's only identity is a suggestion, not a confirmed link
    assert sum(p.customer_id is None for p in week) == 5
    assert [w.label for w in data.trend][:1] == ["2026-W36"] and data.trend[-1].label == "2026-W47"


def test_volume_and_sentiment_by_platform_and_tier(tables: dict[str, Table]) -> None:
    platform = tables["volume_by_platform"]
    assert platform.column("group") == ["x", "reddit", "All"]
    x = platform.row("x")
    assert (x["posts"], x["negative"], x["neutral"], x["positive"], x["other"]) == (8, 5, 1, 1, 1)
    assert x["negative_share"] == 5 / 7
    assert platform.row("reddit")["negative_share"] == 1 / 2
    total = platform.row("All")
    assert (total["posts"], total["negative"], total["other"]) == (11, 6, 2)
    assert total["negative_share"] == 6 / 9

    tier = tables["volume_by_tier"]
    assert tier.column("group") == ["top", "high", "standard", "unlinked", "All"]
    assert [tier.row(t)["posts"] for t in ("top", "high", "standard", "unlinked")] == [2, 3, 1, 5]
    assert [tier.row(t)["negative_share"] for t in ("top", "high", "standard", "unlinked")] == [
        1.0,
        2 / 3,
        1.0,
        1 / 3,
    ]


def test_trends(tables: dict[str, Table]) -> None:
    trend = tables["trend_weekly"]
    assert len(trend.rows) == 12
    assert trend.column("posts")[-3:] == [1, 4, 11]
    assert trend.row("2026-W46")["negative_share"] == 0.5
    assert trend.row("2026-W40")["negative_share"] is None  # no posts: no share, not 0 %
    assert trend.row("2026-W47")["linked_share"] == 6 / 11
    by_tier = tables["trend_by_tier"]
    assert by_tier.row("2026-W46")["high_negative_share"] == 1.0
    assert by_tier.row("2026-W46")["top_negative_share"] == 0.0
    assert tables["trend_by_platform"].row("2026-W47") == {"group": "2026-W47", "reddit": 3, "x": 8}


def test_revenue_at_risk_answered_vs_unanswered(tables: dict[str, Table]) -> None:
    risk = tables["revenue_at_risk"]
    top = risk.row("top")
    assert (top["cases"], top["money_at_risk"], top["answered_money"], top["dismissed_money"]) == (
        2,
        3500.0,
        2000.0,
        1500.0,
    )
    high = risk.row("high")
    assert (high["unanswered_cases"], high["unanswered_money"], high["answered_money"]) == (
        2,
        1400.0,
        0.0,
    )
    assert risk.row("unlinked")["answered_money"] == 10.0  # a brand reply seen in the thread counts
    total = risk.row("All")
    assert (
        total["money_at_risk"],
        total["answered_money"],
        total["unanswered_money"],
        total["dismissed_money"],
    ) == (
        4960.0,
        2060.0,
        1400.0,
        1500.0,
    )
    assert total["answered_money_share"] == 2060 / 4960
    assert tables["trend_revenue_at_risk"].row("2026-W46")["answered_money"] == 300.0


def test_top_unanswered_high_value_cases_link_to_their_pages(data: ReportData, tables: dict[str, Table]) -> None:
    top = tables["top_unanswered"]
    case_ids = {c.money_at_risk: c.id for c in data.cases}
    assert top.column("case") == [case_ids[800.0], case_ids[600.0]]  # the most money first
    assert top.rows[0]["url"] == f"{BASE_URL}/cases/{case_ids[800.0]}"
    assert top.rows[0]["sla"] == "overdue" and top.rows[1]["sla"] == "on time"
    assert top.rows[0]["waiting_hours"] == 120.0  # Wed 08:00 -> Mon 08:00
    assert top.rows[0]["customer"] == "Customer 3"
    assert top.note == "2 unanswered high-value negative posts this week."
    one = top_unanswered(data, high_value_tiers=["top", "high"], links=LINKS, limit=1)
    assert one.column("case") == [case_ids[800.0]] and one.note.endswith("the 1 worth the most are listed.")
    assert top_unanswered(data, high_value_tiers=["top"], links=LINKS, limit=5).rows == []


def test_response_performance_by_tier_and_team(tables: dict[str, Table]) -> None:
    tier = tables["response_by_tier"]
    assert tier.row("top")["median_hours"] == 0.5
    assert tier.row("top")["sla_hit_rate"] == 1.0 and tier.row("top")["sla_counted"] == 1  # dismissed left out
    assert tier.row("high")["answered"] == 0 and tier.row("high")["median_hours"] is None
    assert (tier.row("high")["sla_counted"], tier.row("high")["sla_hit_rate"]) == (
        1,
        0.0,
    )  # the not-yet-due one waits
    assert tier.row("unlinked")["median_hours"] == 30.0 and tier.row("unlinked")["sla_hit_rate"] == 0.0
    total = tier.row("All")
    assert (total["answered"], total["median_hours"], total["sla_counted"], total["sla_met"]) == (
        3,
        6.0,
        4,
        2,
    )
    assert math.isclose(total["p90_hours"], 25.2)  # 6 + 0.8 x (30 - 6)
    team = tables["response_by_team"]
    assert team.column("group") == ["care", "vip", "All"]
    assert team.row("care")["median_hours"] == 18.0 and math.isclose(team.row("care")["p90_hours"], 27.6)
    assert team.row("vip")["sla_hit_rate"] == 0.5


def test_sentiment_vs_value(tables: dict[str, Table]) -> None:
    value = tables["sentiment_vs_value"]
    negative = value.row("negative")
    assert (
        negative["customers"],
        negative["avg_clv"],
        negative["avg_rclv"],
        negative["median_rclv"],
    ) == (3, 3900.0, 5000.0, 4000.0)
    assert math.isclose(negative["avg_p_alive"], 0.6)
    assert value.row("positive")["avg_rclv"] == 6000.0
    assert value.row("neutral")["customers"] == 0 and value.row("neutral")["avg_rclv"] is None

    turned = tables["turned_negative"]
    assert turned.column("crm_id") == ["C1", "C5"]  # C3 has no earlier week; C2 turned positive
    assert turned.column("before") == ["positive (2026-W46)", "positive (2026-W45)"]
    assert turned.column("negative_posts") == [2, 1]

    at_risk = tables["negative_high_value"]
    assert at_risk.column("crm_id") == ["C1", "C3"]
    assert at_risk.column("p_alive") == [0.9, 0.4]
    assert at_risk.note.startswith("Average P(alive) 65%.")


def test_complaint_terms_this_week_vs_last(tables: dict[str, Table]) -> None:
    terms = tables["complaint_terms"]
    assert terms.column("term") == ["not processed", "refund", "lost luggage", "refund not"]
    assert terms.column("posts") == [4, 4, 2, 2]
    assert terms.column("posts_last_week") == [0, 1, 1, 0]
    assert math.isclose(terms.row("not processed")["log_odds"], math.log(9))
    assert math.isclose(terms.row("lost luggage")["log_odds"], math.log(5 / 9))
    assert terms.row("refund")["share"] == 4 / 6


def test_coverage_sources_and_errors(tables: dict[str, Table]) -> None:
    coverage = tables["coverage"]
    reddit = coverage.row("reddit-sub")
    assert (reddit["posts"], reddit["runs"], reddit["failed_runs"], reddit["quarantined"]) == (
        3,
        2,
        1,
        2,
    )
    assert reddit["linked_share"] == 1 / 3 and reddit["scored_share"] == 2 / 3
    assert reddit["last_error"] == "HTTPError: 503 Service Unavailable"  # last week's error is not this week's
    assert coverage.row("x-mentions")["linked_share"] == 5 / 8
    assert coverage.row("All")["scored_share"] == 10 / 11
    assert tables["step_failures"].rows == [{"job": "score", "failed_runs": 1, "last_error": "OSError: model missing"}]


def test_headline(data: ReportData) -> None:
    h = headline(data, high_value_tiers=["top", "high"])
    assert (h.posts, h.posts_last_week, h.negative, h.cases) == (11, 4, 6, 6)
    assert h.negative_share == 6 / 9 and h.negative_share_last_week == 0.5
    assert math.isclose(h.negative_share_change or 0, 6 / 9 - 0.5)
    assert h.posts_change == 7 / 4
    assert (
        h.money_at_risk,
        h.unanswered_money,
        h.unanswered_cases,
        h.unanswered_high_value_cases,
    ) == (4960.0, 1400.0, 2, 2)
    assert (h.median_response_hours, h.sla_hit_rate, h.linked_share) == (6.0, 0.5, 6 / 11)
    assert (h.negative_customers, h.negative_high_value_customers) == (3, 2)
    assert not h.partial


def test_empty_week_has_no_made_up_figures(sqlite_engine: Engine) -> None:
    build_dataset(sqlite_engine)
    data = load(sqlite_engine, week="2026-W30")
    tables = compute_tables(data, SETTINGS, LINKS)
    h = headline(data, high_value_tiers=["top", "high"])
    assert (h.posts, h.cases, h.money_at_risk) == (0, 0, 0.0)
    assert h.negative_share is None and h.median_response_hours is None and h.sla_hit_rate is None
    for key in (
        "volume_by_platform",
        "revenue_at_risk",
        "response_by_tier",
        "top_unanswered",
        "complaint_terms",
    ):
        assert tables[key].rows == [], key
    assert all(row["posts"] == 0 for row in tables["trend_weekly"].rows)


def test_partial_week_counts_only_what_has_happened(sqlite_engine: Engine) -> None:
    build_dataset(sqlite_engine)
    now = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)  # Wednesday 11:00 of W47
    data = load(sqlite_engine, now=now)
    assert data.partial
    h = headline(data, high_value_tiers=["top", "high"])
    # by then: posts 1-4, and the cases of posts 1 (answered), 2 (dismissed) and 4 (due at 12:00)
    assert (h.posts, h.negative, h.cases, h.unanswered_money) == (4, 3, 3, 800.0)
    tables = compute_tables(data, SETTINGS, LINKS)
    assert tables["response_by_tier"].row("high")["sla_counted"] == 0  # not due yet: neither hit nor miss
    assert tables["response_by_tier"].row("All")["sla_hit_rate"] == 1.0
    assert tables["top_unanswered"].rows[0]["sla"] == "on time"


def test_weeks() -> None:
    week = parse_week("2026-W47")
    assert week.start == datetime(2026, 11, 16, tzinfo=UTC) and week.end == datetime(2026, 11, 23, tzinfo=UTC)
    assert week.span() == "16-22 Nov 2026"
    assert parse_week("2026W01").shift(-1).label == "2025-W52"
    assert resolve_week(None, now=NOW).label == "2026-W47"  # Monday: the week that just ended
    assert resolve_week("current", now=NOW).label == "2026-W48"
    assert resolve_week("latest", now=NOW, newest=datetime(2026, 11, 1, tzinfo=UTC)).label == "2026-W44"
    berlin = parse_week("2026-W47", tz="Europe/Berlin")
    assert berlin.start == datetime(2026, 11, 15, 23, tzinfo=UTC)
    assert week_of(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), "Europe/Berlin").label == "2026-W48"
    for bad in ("2026-W54", "W47", "last week", "9999-W52", "0001-W01", "1989-W52", "2101-W01"):
        with pytest.raises(ValueError, match="bad week"):
            parse_week(bad)
    for edge in ("1990-W01", "2100-W52"):  # their trend and end stay within ``date``
        assert len(parse_week(edge).trend(12)) == 12 and parse_week(edge).end > parse_week(edge).start


def test_terms_and_statistics_helpers() -> None:
    plain = Vocabulary()
    # negations make phrases but are not terms on their own; mentions and links are dropped
    assert plain.terms_of("Refund NOT processed @brand https://t.co/x") == {
        "refund",
        "processed",
        "refund not",
        "not processed",
    }
    assert plain.terms_of("the app is broken") == {"app", "broken"}  # no phrase across a stop word
    assert plain.terms_of("bag lost, refund denied") == {"bag", "lost", "refund", "denied", "bag lost", "refund denied"}
    brand = Vocabulary(["awful"], brand_names=["Skylark Air", "Skylark Air Support", "skylarkair"])
    assert brand.terms_of("Skylark Air lost my bag SkylarkAir never answers, skylark is awful") == {
        "lost",
        "bag",
        "answers",
        "never answers",
    }
    assert log_odds(3, 10, 3, 10) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 90) == pytest.approx(3.7)
    assert percentile([], 90) is None


def test_report_settings_refuse_unknown_zones() -> None:
    assert ReportSettings(timezone="Europe/Berlin").timezone == "Europe/Berlin"
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Base'"):
        ReportSettings(timezone="Mars/Base")


def test_the_unread_report_schedule_settings_warn_where_the_schedule_is() -> None:
    with pytest.warns(FutureWarning, match=r"ops\.scheduler\.weekly_report_day"):
        settings = ReportSettings(day_of_week="mon", hour=7)
    assert not hasattr(settings, "day_of_week") and not hasattr(settings, "hour")
