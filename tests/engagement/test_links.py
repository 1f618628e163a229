"""One public_url for every link; the old setting names still work, with a warning."""

from __future__ import annotations

import pytest

from engagement.links import Links
from engagement.settings import EngagementSettings, ReportSettings, SlackSettings


def test_every_link_starts_at_public_url() -> None:
    links = Links.from_settings(EngagementSettings(public_url="https://care.example.com/"))
    assert links.case(12) == "https://care.example.com/cases/12"
    assert links.queue(team="billing & refunds", tier="top") == (
        "https://care.example.com/queue?team=billing+%26+refunds&tier=top"
    )
    assert links.queue() == "https://care.example.com/queue"
    assert links.report("2026-W47") == "https://care.example.com/reports/2026-W47"
    assert links.report_file("2026-W47", "csv/revenue_at_risk.csv").endswith(
        "/reports/2026-W47/csv/revenue_at_risk.csv"
    )


def test_no_file_links() -> None:
    with pytest.raises(ValueError, match="no file:// links"):
        EngagementSettings(public_url="file:///srv/reports")


@pytest.mark.parametrize(
    "old",
    [
        {"slack": SlackSettings(web_base_url="https://old.example")},
        {"report": ReportSettings(base_url="https://old.example")},
    ],
)
def test_old_names_are_read_with_a_warning(old: dict[str, object]) -> None:
    with pytest.warns(FutureWarning, match="set engagement.public_url"):
        settings = EngagementSettings(**old)  # type: ignore[arg-type]
    assert settings.public_url == "https://old.example"
    with pytest.warns(FutureWarning):
        assert EngagementSettings(public_url="https://new.example", **old).public_url == "https://new.example"  # type: ignore[arg-type]


def test_old_report_currency_moves_to_money() -> None:
    with pytest.warns(FutureWarning, match="engagement.money.currency"):
        settings = EngagementSettings(report=ReportSettings(currency="eur"))
    assert (settings.money.currency, settings.money.locale) == ("EUR", "en_US")
