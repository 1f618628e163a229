"""One rule per concept: every consumer shows the same sentiment, customer, reach value and
open-case count for the same data (issue 17), on SQLite and PostgreSQL.

The data is built so that each old, diverging rule would give a different answer:

- post ``corrected``: a person labelled it negative; a newer model score says positive (the
  queue page read the newest score, the spike counts the highest score id);
- post ``late_id``: its newest score (by ``scored_at``) is negative, but a neutral one was
  stored later (higher id), which ``max(Score.id)`` took;
- author ``ada``: claimed by two customers; "Low Id Co" (lower customer id, linked by handle,
  confidence 0.9) and "Best Match" (attached to the author, confidence 1.0). The report took
  the lowest customer id, triage ignored author-attached links;
- reach value: triage had its own formula and weights (12.04 in "why" against 3.04 in the
  customer card for one case);
- open cases: one of every status; ``status`` and ``/metrics`` left out ``pending_approval``.

- links: Slack and the report built them on ``slack.web_base_url`` and ``report.base_url``;
  now every link is ``engagement.links.Links`` on the one ``engagement.public_url``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.core import Metric
from sqlalchemy import Engine, create_engine, select, text
from sqlmodel import col

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Author, Case, Customer, Identity, Outbox, Post, Score
from db.models.posts import HUMAN_CORRECTION_MODEL_ID
from db.scores import current_scores
from engagebot.ops.observability import DatabaseCollector
from engagebot.opsdata import backlog
from engagement.customers.identities import customer_for_author, customers_for_authors
from engagement.customers.value import refresh_values, voice_value
from engagement.links import Links
from engagement.notify.alerts import enqueue_notifications
from engagement.notify.spikes import negative_windows
from engagement.queue import ACTIVE_STATUSES, CaseStatus
from engagement.report.query import author_customers, load_cases, load_posts, load_report_data, newest_labels
from engagement.report.risk import UNANSWERED, outcome, top_unanswered
from engagement.report.weeks import week_of
from engagement.settings import EngagementSettings
from engagement.triage.cases import triage
from engagement.triage.facts import gather_facts
from engagement.web.case_view import case_detail
from engagement.web.ops_view import lead_view
from engagement.web.queue_view import QueueFilters, queue_page

NOW = datetime.now(UTC).replace(microsecond=0)  # the lead view and pages read the wall clock
PG_URL = os.environ.get("ENGAGEBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PUBLIC_URL = "https://care.example.com"
SETTINGS = EngagementSettings.model_validate(
    {"public_url": f"{PUBLIC_URL}/", "slack": {"immediate_min_priority": 0.0, "flood_threshold": 100}}
)
WEEK = (NOW - timedelta(days=7), NOW + timedelta(minutes=1))
EXTRA_STATUSES = (
    CaseStatus.CLAIMED,
    CaseStatus.PENDING_APPROVAL,
    CaseStatus.ESCALATED,
    CaseStatus.REPLIED,
    CaseStatus.DISMISSED,
    CaseStatus.CLOSED,
)


@dataclass
class World:
    """What was built, by role."""

    engine: Engine
    posts: dict[str, int]
    authors: dict[str, int]
    customers: dict[str, int]
    cases: dict[str, int]


def _score(post_id: int, model: str, label: str, p_negative: float, hours_ago: float) -> Score:
    rest = (1.0 - p_negative) / 2
    return Score(
        post_id=post_id,
        model_id=model,
        label=label,
        p_negative=p_negative,
        p_neutral=rest,
        p_positive=rest,
        scored_at=NOW - timedelta(hours=hours_ago),
    )


def _build(engine: Engine) -> World:
    with session_scope(engine) as session:
        ada = Author(platform="x", external_id="u-ada", handle="ada", display_name="Ada", followers=102)
        bo = Author(platform="x", external_id="u-bo", handle="bo", display_name="Bo", followers=1000)
        session.add_all([ada, bo])
        session.flush()
        low = Customer(crm_id="c-low", name="Low Id Co", clv=500.0)
        session.add(low)
        session.flush()
        best = Customer(crm_id="c-best", name="Best Match", clv=900.0)
        session.add(best)
        session.flush()
        assert ada.id is not None and bo.id is not None and low.id is not None and best.id is not None
        session.add(Identity(customer_id=low.id, platform="x", handle="ada", method="crm_import", confidence=0.9))
        session.flush()
        session.add(
            Identity(
                customer_id=best.id,
                platform="x",
                platform_user_id="u-other",
                author_id=ada.id,
                method="manual",
                confidence=1.0,
            )
        )
        posts: dict[str, int] = {}
        for key, author, hours_ago, engagement in (
            ("corrected", ada, 2.0, 2),
            ("late_id", bo, 3.0, 4),
        ):
            post = Post(
                platform="x",
                external_id=key,
                source="x-search",
                text=f"{key}: the flight was cancelled again, awful service",
                author_id=author.id,
                created_at=NOW - timedelta(hours=hours_ago),
                conversation_id=f"conv-{key}",
                lang="en",
                engagement=engagement,
            )
            session.add(post)
            session.flush()
            assert post.id is not None
            posts[key] = post.id
        corrected, late_id = posts["corrected"], posts["late_id"]
        session.add(_score(corrected, "model-a", "negative", 0.8, 1.9))
        session.flush()
        session.add(_score(corrected, HUMAN_CORRECTION_MODEL_ID, "negative", 1.0, 1.5))
        session.flush()
        session.add(_score(corrected, "model-b", "positive", 0.05, 0.5))  # newer, but a person decided
        session.flush()
        session.add(_score(late_id, "model-b", "negative", 0.9, 0.5))
        session.flush()
        session.add(_score(late_id, "model-a", "neutral", 0.2, 2.5))  # stored later, scored earlier
        authors = {"ada": ada.id, "bo": bo.id}
        customers = {"low": low.id, "best": best.id}
    refresh_values(engine, SETTINGS.clv, now=NOW)
    triage(engine, SETTINGS, now=NOW)
    with session_scope(engine) as session:
        cases = {
            key: session.execute(select(col(Case.id)).where(col(Case.post_id) == post_id)).scalar_one()
            for key, post_id in posts.items()
        }
        for status in EXTRA_STATUSES:  # one case of every other status, each on its own post
            post = Post(
                platform="x",
                external_id=f"extra-{status}",
                source="x-search",
                text="still waiting",
                author_id=authors["bo"],
                created_at=NOW - timedelta(hours=1),
                conversation_id=f"conv-extra-{status}",
                answered_at=NOW if status in (CaseStatus.REPLIED, CaseStatus.CLOSED) else None,
            )
            session.add(post)
            session.flush()
            assert post.id is not None
            case = Case(
                dedupe_key=f"x:extra:{status}",
                post_id=post.id,
                author_id=authors["bo"],
                status=str(status),
                team="default",
                tier="unlinked",
                priority=1.0,
                money_at_risk=1.0,
                platform="x",
                sla_due_at=NOW + timedelta(hours=1),
                created_at=NOW - timedelta(minutes=30),
                updated_at=NOW - timedelta(minutes=30),
            )
            session.add(case)
            session.flush()
            assert case.id is not None
            cases[str(status)] = case.id
    enqueue_notifications(engine, SETTINGS, now=NOW)
    return World(engine=engine, posts=posts, authors=authors, customers=customers, cases=cases)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The data above, built once per backend for every consumer of the module."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('one-rule') / 'test.db'}")
        upgrade(engine)
        yield _build(engine)
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    engine = make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        yield _build(engine)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --- sentiment: a person's label first, else the newest model score ---------------------------


def _labels_rule(w: World) -> dict[int, str]:
    with session_scope(w.engine) as session:
        return {pid: s.label for pid, s in current_scores(session, list(w.posts.values())).items()}


def _labels_triage(w: World) -> dict[int, str]:
    with session_scope(w.engine) as session:
        posts = list(session.scalars(select(Post).where(col(Post.id).in_(w.posts.values()))))
        return {f.post.id or 0: f.label or "" for f in gather_facts(session, posts, SETTINGS, now=NOW)}


def _labels_queue_page(w: World) -> dict[int, str]:
    with session_scope(w.engine) as session:
        rows = queue_page(session=session, filters=QueueFilters(status="all"), limit=100).rows
        return {r.post_id: r.sentiment or "" for r in rows if r.post_id in w.posts.values()}


def _labels_case_page(w: World) -> dict[int, str]:
    with session_scope(w.engine) as session:
        labels = {}
        for key in w.posts:
            detail = case_detail(session=session, case_id=w.cases[key])
            assert detail.score is not None
            labels[w.posts[key]] = detail.score.label
        return labels


def _labels_report(w: World) -> dict[int, str]:
    with session_scope(w.engine) as session:
        labels = newest_labels(*WEEK, session=session)
        return {
            row.id: row.label or ""
            for row in load_posts(*WEEK, session=session, labels=labels)
            if row.id in w.posts.values()
        }


SENTIMENT: dict[str, Callable[[World], dict[int, str]]] = {
    "db.scores": _labels_rule,
    "triage": _labels_triage,
    "queue page": _labels_queue_page,
    "case page": _labels_case_page,
    "weekly report": _labels_report,
}


@pytest.mark.parametrize("consumer", SENTIMENT, ids=list(SENTIMENT))
def test_every_consumer_shows_the_current_score(world: World, consumer: str) -> None:
    expected = {world.posts["corrected"]: "negative", world.posts["late_id"]: "negative"}
    assert SENTIMENT[consumer](world) == expected == _labels_rule(world)


def test_slack_spike_counts_read_the_current_score(world: World) -> None:
    """Both posts are negative by the rule; the old ``max(Score.id)`` counted neither."""
    with session_scope(world.engine) as session:
        by_source = negative_windows(session, SETTINGS, NOW + timedelta(minutes=1)).by_source
        report_negative = sum(label == "negative" for label in newest_labels(*WEEK, session=session).values())
    assert sum(by_source["x-search"]) == 2 == report_negative  # windows of the last 25 hours


# --- the customer behind an author -------------------------------------------------------------


def _slack_message(w: World, case_id: int) -> dict[str, Any]:
    """The case's new-case Slack message, as queued in the outbox."""
    with session_scope(w.engine) as session:
        message = session.scalars(
            select(Outbox).where(col(Outbox.case_id) == case_id, col(Outbox.kind) == "new_case")
        ).one()
        return dict(message.payload)


def _values(node: Any, key: str) -> Iterator[str]:
    """Every string under ``key`` anywhere in a Block Kit structure."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, str):
                yield value
            else:
                yield from _values(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item, key)


def _slack_text(w: World, case_id: int) -> str:
    """Every text of the case's Slack message, one per line."""
    return "\n".join(_values(_slack_message(w, case_id)["blocks"], "text"))


def _slack_customer(w: World, case_id: int) -> str | None:
    found = re.search(r"\*Customer\*\n(.+?) \(", _slack_text(w, case_id))
    assert found is not None
    return found.group(1)


def _customer_names(w: World) -> dict[str, Callable[[], str | None]]:
    corrected = w.posts["corrected"]

    def rule() -> str | None:
        with session_scope(w.engine) as session:
            found = customer_for_author(session, w.authors["ada"])
            return found.name if found else None

    def many() -> str | None:
        with session_scope(w.engine) as session:
            return customers_for_authors(session, [w.authors["ada"], w.authors["bo"]])[w.authors["ada"]].name

    def triage_facts() -> str | None:
        with session_scope(w.engine) as session:
            post = session.get(Post, corrected)
            assert post is not None
            fact = gather_facts(session, [post], SETTINGS, now=NOW)[0]
            return fact.customer.name if fact.customer else None

    def queue_page_row() -> str | None:
        with session_scope(w.engine) as session:
            rows = queue_page(session=session, filters=QueueFilters(status="all"), limit=100).rows
            return next(r.customer_name for r in rows if r.post_id == corrected)

    def case_page_card() -> str | None:
        with session_scope(w.engine) as session:
            card = case_detail(session=session, case_id=w.cases["corrected"]).customer
            return card.customer.name if card else None

    def weekly_report() -> str | None:
        with session_scope(w.engine) as session:
            customer_id = author_customers(session=session)[w.authors["ada"]]
            posts = load_posts(*WEEK, session=session, labels={})
            assert next(p.customer_id for p in posts if p.id == corrected) == customer_id
            found = session.get(Customer, customer_id)
            return found.name if found else None

    return {
        "identities.customer_for_author": rule,
        "identities.customers_for_authors": many,
        "triage": triage_facts,
        "queue page": queue_page_row,
        "case page": case_page_card,
        "slack": lambda: _slack_customer(w, w.cases["corrected"]),
        "weekly report": weekly_report,
    }


CUSTOMER_CONSUMERS = [
    "identities.customer_for_author",
    "identities.customers_for_authors",
    "triage",
    "queue page",
    "case page",
    "slack",
    "weekly report",
]


@pytest.mark.parametrize("consumer", CUSTOMER_CONSUMERS)
def test_every_consumer_names_the_same_customer(world: World, consumer: str) -> None:
    assert _customer_names(world)[consumer]() == "Best Match"


# --- reach value ---------------------------------------------------------------------------------


def _reach_values(w: World, key: str) -> dict[str, Any]:
    with session_scope(w.engine) as session:
        detail = case_detail(session=session, case_id=w.cases[key])
        rows = queue_page(session=session, filters=QueueFilters(status="all"), limit=100).rows
        row = next(r for r in rows if r.id == w.cases[key])
        shown: dict[str, Any] = {
            "case page why": detail.case.reasons["reach_value"],
            "queue page why": row.reasons["reach_value"],
        }
        if detail.customer is not None:
            shown["case page customer card"] = (detail.customer.customer.rclv_parts or {})["reach_value"]
    found = re.search(r"reach value \D*?([\d,.]+)\D", _slack_text(w, w.cases[key]))
    if found:
        shown["slack why"] = float(found.group(1).replace(",", ""))
    return shown


def test_a_linked_customers_case_shows_one_reach_value(world: World) -> None:
    """Ada's voice: base 10 + 0.02 x 102 followers + 0.5 x 2 engagement = 13.04, everywhere."""
    expected = round(voice_value(102, 2, SETTINGS.clv.rclv), 2)
    assert expected == 13.04
    shown = _reach_values(world, "corrected")
    assert set(shown) == {"case page why", "queue page why", "case page customer card"}
    assert all(value == expected for value in shown.values()), shown


def test_an_unlinked_authors_case_shows_one_reach_value(world: World) -> None:
    """Bo's voice (no customer): 10 + 0.02 x 1000 + 0.5 x 4 = 32 in the pages and Slack."""
    expected = round(voice_value(1000, 4, SETTINGS.clv.rclv), 2)
    shown = _reach_values(world, "late_id")
    assert set(shown) == {"case page why", "queue page why", "slack why"}
    assert all(value == pytest.approx(expected) for value in shown.values()), shown
    with session_scope(world.engine) as session:
        case = session.get(Case, world.cases["late_id"])
        assert case is not None and case.reasons["value"] == pytest.approx(expected)


# --- open cases ---------------------------------------------------------------------------------


def _metrics_open(w: World) -> int:
    metrics: list[Metric] = list(DatabaseCollector(w.engine, ttl=0).collect())
    family = next(m for m in metrics if m.name == "engagebot_open_cases")
    return int(sum(sample.value for sample in family.samples))


def _report_open(w: World) -> int:
    with session_scope(w.engine) as session:
        cases = load_cases(*WEEK, session=session, count_dry_runs=True)
    return sum(outcome(case, NOW + timedelta(minutes=1)) == UNANSWERED for case in cases)


OPEN_COUNT: dict[str, Callable[[World], int]] = {
    "status (opsdata)": lambda w: _in_session(w, lambda s: backlog(s, now=NOW).open_cases),
    "/metrics": _metrics_open,
    "queue page": lambda w: _in_session(w, lambda s: queue_page(session=s, filters=QueueFilters()).total),
    "lead view (tiers)": lambda w: _in_session(w, lambda s: sum(t.cases for t in lead_view(session=s).tiers)),
    "lead view (team load)": lambda w: _in_session(
        w, lambda s: sum(t.open + t.claimed + t.pending_approval + t.escalated for t in lead_view(session=s).teams)
    ),
    "weekly report (unanswered)": _report_open,
}


def _in_session(w: World, read: Callable[[Any], int]) -> int:
    with session_scope(w.engine) as session:
        return int(read(session))


@pytest.mark.parametrize("consumer", OPEN_COUNT, ids=list(OPEN_COUNT))
def test_every_consumer_counts_the_same_open_cases(world: World, consumer: str) -> None:
    """open (x2, from triage), claimed, pending_approval and escalated: 5 of the 8 cases."""
    with session_scope(world.engine) as session:
        statuses = list(session.scalars(select(col(Case.status))))
    assert sorted(statuses) == sorted(["open", "open", *map(str, EXTRA_STATUSES)])
    assert sum(s in ACTIVE_STATUSES for s in statuses) == 5
    assert OPEN_COUNT[consumer](world) == 5


# --- the public base URL of links ------------------------------------------------------------------


def _slack_case_link(w: World, case_id: int) -> str:
    return next(url for url in _values(_slack_message(w, case_id)["blocks"], "url") if "/cases/" in url)


def _report_case_link(w: World, case_id: int) -> str:
    with session_scope(w.engine) as session:
        data = load_report_data(
            session=session,
            week=week_of(NOW),
            trend_weeks=2,
            now=NOW + timedelta(minutes=1),
            fractions=SETTINGS.triage.tier_fractions,
            settings=SETTINGS,
        )
    table = top_unanswered(
        data, high_value_tiers=("top", "high", "standard", "unlinked"), links=Links.from_settings(SETTINGS), limit=50
    )
    return next(str(row["url"]) for row in table.rows if row["case"] == case_id)


CASE_LINK: dict[str, Callable[[World, int], str]] = {
    "engagement.links": lambda w, case_id: Links.from_settings(SETTINGS).case(case_id),
    "slack": _slack_case_link,
    "weekly report": _report_case_link,
}


@pytest.mark.parametrize("consumer", CASE_LINK, ids=list(CASE_LINK))
def test_every_consumer_links_a_case_on_the_public_url(world: World, consumer: str) -> None:
    case_id = world.cases["corrected"]
    assert CASE_LINK[consumer](world, case_id) == f"{PUBLIC_URL}/cases/{case_id}"
