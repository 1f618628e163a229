"""Slack that respects attention: a flood becomes one digest, breaches above a value per team and
interval with the real lead mentioned, repeats wait, spikes show posts, quiet hours, preview,
backfill; every amount in its currency."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import queue_factories as f
from queue_factories import NOW
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from db.models import Case, Outbox
from engagement import notify
from engagement.money import Money, format_money
from engagement.notify import attention
from engagement.settings import EngagementSettings, MoneySettings, SlackSettings
from engagement.triage.cases import triage

LEAD = "U0LEAD42"


def _outbox(engine: Engine) -> list[Outbox]:
    with session_scope(engine) as session:
        return list(session.execute(select(Outbox).order_by(Outbox.id)).scalars())  # type: ignore[arg-type]


def _cases(engine: Engine, values: list[float]) -> None:
    """One negative post per customer, each worth ``value`` (rCLV), triaged at NOW."""
    for n, value in enumerate(values):
        handle = f"c{n}"
        f.customer(engine, handle=handle, rclv=value, name=f"Customer {n}")
        f.post(engine, author_id=f.author(engine, handle=handle), text=f"delayed again, flight {n} & <bag>")
    triage(engine, EngagementSettings(), now=NOW)


def _all_amounts_have_a_currency(payload: dict[str, object], symbol: str) -> None:
    """No bare '1,234' amounts next to 'at risk': every amount carries the currency symbol."""
    text = json.dumps(payload, ensure_ascii=False)
    assert symbol in text
    bare = re.findall(r"(?<![\d$€.,])\d[\d,.]*\d(?=\*? at risk)", text)
    assert not bare, f"amounts without a currency: {bare}"


def test_money_reads_in_two_locales() -> None:
    assert format_money(8169.4) == "$8,169"
    assert format_money(8169.4, currency="EUR", locale="de_DE") == "8.169\u00a0€"
    assert format_money(1234567, currency="GBP", locale="en_GB") == "£1,234,567"
    assert format_money(None) == "–"
    assert format_money(float("inf")) == format_money(float("nan")) == "–"  # an old row, never a crash
    assert Money("EUR", "de_DE")(42.6, "USD") == "43\u00a0$"  # a customer's own CRM currency
    with pytest.raises(ValueError, match="unknown currency"):
        MoneySettings(currency="EURO")
    with pytest.raises(ValueError, match="unknown locale"):
        MoneySettings(locale="xx_YY")


def test_a_flood_is_one_digest_sorted_by_money(engine: Engine) -> None:
    _cases(engine, [1000, 9000, 3000, 500, 7000, 2000, 4000, 8000])
    slack = SlackSettings(immediate_min_priority=0, flood_threshold=5, digest_top=3)
    settings = EngagementSettings(public_url="https://care.example", slack=slack)
    counts = notify.enqueue_notifications(engine, settings, NOW)
    assert counts == {"new_case": 0, "digest": 1, "sla_breach": 0, "spike": 0}
    [digest] = _outbox(engine)
    assert digest.dedupe_key.startswith("flood:#social-care:")
    body = digest.payload["blocks"][1]["text"]["text"]
    ids = [int(i) for i in re.findall(r"\|#(\d+)>", body)]
    with session_scope(engine) as session:
        money = {c.id: c.money_at_risk for c in session.execute(select(Case)).scalars()}  # type: ignore[arg-type]
        assert session.scalar(select(func.count()).where(Case.notified_at.is_(None))) == 0  # type: ignore[union-attr]
    assert len(ids) == 3 and [money[i] for i in ids] == sorted(money.values(), reverse=True)[:3]
    assert f"*{format_money(sum(money.values()))}* at risk in 8 cases" in body
    assert digest.payload["blocks"][2]["elements"][0]["url"] == "https://care.example/queue?team=default"
    assert "…and 5 more" in json.dumps(digest.payload["blocks"], ensure_ascii=False)
    _all_amounts_have_a_currency(digest.payload, "$")
    assert notify.enqueue_notifications(engine, settings, NOW + timedelta(minutes=5))["digest"] == 0


def test_few_cases_notify_one_by_one_in_the_configured_currency(engine: Engine) -> None:
    _cases(engine, [9000, 4000])
    settings = EngagementSettings(
        money=MoneySettings(currency="EUR", locale="de_DE"), slack=SlackSettings(immediate_min_priority=0)
    )
    assert notify.enqueue_notifications(engine, settings, NOW)["new_case"] == 2
    for row in _outbox(engine):
        assert "\u00a0€" in row.payload["text"] and "$" not in json.dumps(row.payload)
        why = row.payload["blocks"][3]["elements"][0]["text"]
        assert re.search(r"rCLV [\d.]+\u00a0€ × P\(negative\) 0\.90 .* = [\d.]+\u00a0€ at risk", why), why


def test_breaches_above_the_tier_value_one_alert_per_team_with_the_lead(engine: Engine) -> None:
    _cases(engine, [9000, 6000, 10])  # the last one is worth a few dollars
    slack = SlackSettings(
        immediate_min_priority=0, breach_min_money={}, breach_default_min_money=100.0, lead_mentions={"*": LEAD}
    )
    settings = EngagementSettings(slack=slack)
    notify.enqueue_notifications(engine, settings, NOW)
    late = NOW + timedelta(days=2)  # every SLA has passed
    assert notify.enqueue_notifications(engine, settings, late)["sla_breach"] == 1
    [alert] = [r for r in _outbox(engine) if r.kind == "sla_breach"]
    assert alert.payload["text"].startswith(f"<@{LEAD}> 2 case(s) past their SLA in team default")
    assert len(alert.payload["case_ids"]) == 2, "the $5 case is the queue's business, not the lead's"
    assert "lead: lead" not in json.dumps(alert.payload) and f"<@{LEAD}>" in alert.payload["blocks"][0]["text"]["text"]
    _all_amounts_have_a_currency(alert.payload, "$")
    # still breached an interval later: rate-limited per case
    assert notify.enqueue_notifications(engine, settings, late + timedelta(hours=2))["sla_breach"] == 0
    # after breach_repeat_hours the lead hears again
    assert notify.enqueue_notifications(engine, settings, late + timedelta(hours=25))["sla_breach"] == 1


def test_user_group_mentions_and_refused_names() -> None:
    slack = SlackSettings(lead_mentions={"billing": "S0BILLING", "*": LEAD})
    assert attention.lead_mention("billing", slack) == "<!subteam^S0BILLING>"
    assert attention.lead_mention("care", slack) == f"<@{LEAD}>"
    assert attention.lead_mention("care", SlackSettings()) is None
    with pytest.raises(ValueError, match="not a name"):
        SlackSettings(lead_mentions={"care": "lead"})


def test_a_spike_says_what_and_shows_three_posts(engine: Engine) -> None:
    author = f.author(engine, handle="many")
    for minute in range(6):
        f.post(engine, author_id=author, text=f"outage number {minute}", created_at=NOW - timedelta(minutes=minute + 1))
    settings = EngagementSettings(slack=SlackSettings(spike_keywords=["outage"], spike_min_count=5))
    assert notify.enqueue_notifications(engine, settings, NOW)["spike"] == 2  # the source and the keyword
    keyword = next(r for r in _outbox(engine) if r.dedupe_key.startswith("spike:keyword:outage"))
    *sections, footer = keyword.payload["blocks"]  # dry run (the default) adds a footer saying so
    assert footer["type"] == "context" and "dry run" in footer["elements"][0]["text"]
    head, examples = (b["text"]["text"] for b in sections)
    assert "*Negative spike* in keyword *outage*: 6 negative posts in the last 1 h" in head
    assert examples.count("\n>") == 3 and "outage number" in examples and "— @many" in examples


def test_quiet_hours_hold_messages_until_they_end(engine: Engine, tmp_path: Path) -> None:
    sink = tmp_path / "slack.jsonl"
    slack = SlackSettings(quiet_hours={"#social-care": "22:00-07:00"}, quiet_timezone="Europe/Berlin", sink=str(sink))
    night = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert attention.quiet_until("#social-care", night, slack) == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    assert attention.quiet_until("#social-care", datetime(2026, 11, 21, 5, 0, tzinfo=UTC), slack) is not None
    assert attention.quiet_until("#social-care", NOW, slack) is None  # 13:00 in Berlin
    assert attention.quiet_until("#leads", night, slack) is None
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        SlackSettings(quiet_hours={"#x": "late"})
    _cases(engine, [9000])
    notify.enqueue_notifications(engine, EngagementSettings(slack=slack), night)
    rows = _outbox(engine)
    assert {r.kind for r in rows} >= {"new_case"}
    assert {r.next_attempt_at for r in rows} == {datetime(2026, 11, 21, 6, 0, tzinfo=UTC)}
    assert notify.deliver_pending(engine, EngagementSettings(slack=slack), night)["sent"] == 0
    assert not sink.exists() or sink.read_text() == ""
    morning = datetime(2026, 11, 21, 6, 1, tzinfo=UTC)
    assert notify.deliver_pending(engine, EngagementSettings(slack=slack), morning)["sent"] == len(rows)


def test_preview_shows_what_would_be_sent_and_changes_nothing(engine: Engine) -> None:
    _cases(engine, [9000, 4000])
    settings = EngagementSettings(slack=SlackSettings(immediate_min_priority=0))
    shown = notify.preview_notifications(engine, settings, NOW)
    assert [(p.state, p.kind) for p in shown] == [("new", "new_case"), ("new", "new_case")]
    assert shown[0].channel == "#social-care" and "$" in shown[0].text
    assert _outbox(engine) == []
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).where(Case.notified_at.is_not(None))) == 0  # type: ignore[union-attr]
    notify.enqueue_notifications(engine, settings, NOW)
    again = notify.preview_notifications(engine, settings, NOW)
    assert [(p.state, p.kind) for p in again] == [("queued", "new_case"), ("queued", "new_case")]


def test_backfill_mode_never_notifies(engine: Engine) -> None:
    _cases(engine, [9000, 4000])
    settings = EngagementSettings(slack=SlackSettings(backfill=True, immediate_min_priority=0))
    assert notify.enqueue_notifications(engine, settings, NOW + timedelta(days=3)) == {
        "new_case": 0,
        "digest": 0,
        "sla_breach": 0,
        "spike": 0,
    }
    assert _outbox(engine) == []
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).where(Case.notified_at.is_(None))) == 0  # type: ignore[union-attr]
    # back to normal: the history's cases are not announced one by one later
    assert notify.enqueue_notifications(engine, EngagementSettings(), NOW + timedelta(days=3))["new_case"] == 0


def test_notify_preview_cli(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from engagebot.cli import app

    _cases(sqlite_engine, [9000, 4000])
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["notify", "--preview", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown and {item["state"] for item in shown} == {"new"}
    assert all("$" in item["text"] for item in shown if item["kind"] in ("new_case", "digest"))
    assert _outbox(sqlite_engine) == [], "--preview sends and queues nothing"
    text = CliRunner().invoke(app, ["notify", "--preview"])
    assert text.exit_code == 0 and "nothing was sent or marked" in text.stdout


def test_a_breach_alert_counts_every_case_agrees_with_the_lead_view_and_names_the_routing_lead(
    engine: Engine,
) -> None:
    """Seven cases worth an alert and one worth a few dollars: the alert lists five and says
    "…and 2 more", names the team's eight overdue (the lead view's count), and with no
    ``lead_mentions`` mentions the routing lead, by Slack id once she has one."""
    from db.models import User
    from engagement.settings import RoutingSettings
    from engagement.web.ops_view import lead_view

    _cases(engine, [9000, 8000, 7000, 6000, 5000, 4000, 3000, 10])
    with session_scope(engine) as session:
        session.add(User(email="lena@example.com", name="Lena", role="lead", team="default", password_hash="x"))
    slack = SlackSettings(immediate_min_priority=0, breach_min_money={}, breach_default_min_money=100.0, digest_top=5)
    settings = EngagementSettings(slack=slack, routing=RoutingSettings(lead="Lena"))
    notify.enqueue_notifications(engine, settings, NOW)
    late = NOW + timedelta(days=2)
    assert notify.enqueue_notifications(engine, settings, late)["sla_breach"] == 1
    [alert] = [r for r in _outbox(engine) if r.kind == "sla_breach"]
    head = alert.payload["blocks"][0]["text"]["text"]
    assert alert.payload["text"].startswith("@Lena 7 case(s) past their SLA in team default")
    assert "(8 overdue in the team in all)" in alert.payload["text"] and "8 overdue in the team in all." in head
    assert head.count("\n• ") == 5 and "\n…and 2 more" in head, "five listed, two counted"
    assert "No lead to mention" not in json.dumps(alert.payload)
    assert "Lena has no Slack id in engagebot" in json.dumps(alert.payload)
    with session_scope(engine) as session:
        load = {t.team: t.overdue for t in lead_view(session=session, days=7).teams}
    # the lead view reads the clock itself: every case is overdue by then too
    assert load == {"default": 8}

    with session_scope(engine) as session:
        lena = session.execute(select(User).where(User.name == "Lena")).scalar_one()  # type: ignore[arg-type]
        lena.slack_user_id = "U0LENA01"
    later = late + timedelta(days=2)
    assert notify.enqueue_notifications(engine, settings, later)["sla_breach"] == 1
    alert = [r for r in _outbox(engine) if r.kind == "sla_breach"][-1]
    assert alert.payload["text"].startswith("<@U0LENA01> 7 case(s)") and alert.payload["lead"] == "<@U0LENA01>"
    assert "has no Slack id" not in json.dumps(alert.payload)
