"""A small world with known answers for the weekly report tests (and a check that it loads).

Week under report: 2026-W47 (Mon 16 - Sun 22 Nov 2026, UTC); the report runs Mon 23 Nov 08:00.
20 customers ranked by rCLV make the tiers: C1 top (5 %), C2-C4 high (next 15 %), the rest
standard. Every figure the tests assert is worked out by hand in the comments below.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from db.engine import session_scope
from db.models import (
    Author,
    Case,
    Customer,
    Identity,
    JobRun,
    Post,
    QuarantinedRecord,
    Reply,
    Score,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
BASE_URL = "http://care.example.test"


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A time in November 2026, UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# customer number -> (rclv, clv, p_alive); C6..C20 are small standard customers.
CUSTOMERS: dict[int, tuple[float, float, float]] = {
    1: (10000.0, 8000.0, 0.9),
    2: (6000.0, 5000.0, 0.8),
    3: (4000.0, 3000.0, 0.4),
    4: (3000.0, 2500.0, 0.7),
    5: (1000.0, 700.0, 0.5),
    **{n: (100.0, 80.0, 0.6) for n in range(6, 21)},
}

# handle -> (platform, linked customer number or None, is_brand)
AUTHORS: dict[str, tuple[str, int | None, bool]] = {
    "alice": ("x", 1, False),
    "bob": ("x", 2, False),
    "carol": ("x", 3, False),
    "dave": ("reddit", 5, False),
    "eve": ("x", None, False),
    "frank": ("reddit", None, False),
    "brand": ("x", None, True),
}

# post number -> (author, created_at, label or None (unscored), text)
POSTS: dict[int, tuple[str, datetime, str | None, str]] = {
    # 2026-W47
    1: (
        "alice",
        at(16, 10),
        "negative",
        "Refund still not processed after two weeks @brand https://t.co/x1",
    ),
    2: ("alice", at(17, 9), "negative", "My refund is not processed. Terrible support!"),
    3: ("bob", at(17, 12), "positive", "Great crew on my flight today"),
    4: (
        "carol",
        at(18, 8),
        "negative",
        "Lost luggage again on my flight <script>alert(1)</script>",
    ),
    5: ("eve", at(18, 15), "neutral", "Which terminal for the 9am flight?"),
    6: ("eve", at(19, 11), "unsupported_language", "Wo ist mein Koffer"),
    7: ("dave", at(19, 14), "negative", "Refund not processed, and the app keeps crashing"),
    8: ("frank", at(20, 9), "positive", "Smooth boarding, nice"),
    9: ("frank", at(21, 8), None, "just landed"),
    16: ("eve", at(21, 10), "negative", "Refund not processed, still waiting"),
    17: ("carol", at(22, 23), "negative", "Lost luggage and nobody answers"),
    10: ("brand", at(22, 9), "neutral", "We're sorry to hear that, please DM us"),
    # 2026-W46
    11: ("alice", at(10, 10), "positive", "Lovely lounge"),
    12: ("bob", at(11, 10), "negative", "Lost luggage, terrible service"),
    13: ("eve", at(12, 10), "negative", "Refund delayed again"),
    14: ("frank", at(13, 10), "neutral", "Any news on the strike?"),
    # 2026-W45
    15: ("dave", at(3, 10), "positive", "Best airline app"),
}
PLATFORM_SOURCE = {"x": "x-mentions", "reddit": "reddit-sub"}

# case -> (post, tier, team, money at risk, status, SLA hours, reply hours, brand reply hours)
CASES: dict[int, tuple[int, str, str, float, str, float, float | None, float | None]] = {
    1: (1, "top", "vip", 2000.0, "replied", 1.0, 0.5, None),  # answered in 30 min: SLA met
    2: (4, "high", "vip", 800.0, "open", 4.0, None, None),  # overdue: SLA missed
    3: (7, "standard", "care", 50.0, "replied", 24.0, 6.0, None),  # 6 h: SLA met
    4: (2, "top", "vip", 1500.0, "dismissed", 1.0, None, None),  # dismissed: not counted
    5: (16, "unlinked", "care", 10.0, "closed", 24.0, None, 30.0),  # brand reply after 30 h: missed
    6: (17, "high", "vip", 600.0, "claimed", 24.0, None, None),  # due Mon 23:00: not counted yet
    7: (12, "high", "vip", 300.0, "replied", 4.0, 1.0, None),  # last week's
}


def build_dataset(engine: Engine) -> dict[str, Any]:
    """Write the world above; return ids by our numbers ({'customers': {1: id}, 'cases': {...}})."""
    ids: dict[str, dict[int | str, int]] = {
        "customers": {},
        "authors": {},
        "posts": {},
        "cases": {},
    }
    with session_scope(engine) as session:
        for number, (rclv, clv, p_alive) in CUSTOMERS.items():
            customer = Customer(crm_id=f"C{number}", name=f"Customer {number}", clv=clv, rclv=rclv, p_alive=p_alive)
            session.add(customer)
            session.flush()
            assert customer.id is not None
            ids["customers"][number] = customer.id
        for handle, (platform, customer_number, is_brand) in AUTHORS.items():
            author = Author(
                platform=platform,
                external_id=f"{platform}-{handle}",
                handle=handle,
                is_brand=is_brand,
            )
            session.add(author)
            session.flush()
            assert author.id is not None
            ids["authors"][handle] = author.id
            if customer_number is not None:
                # link by handle only (not author_id), as a CRM import does
                session.add(
                    Identity(
                        customer_id=ids["customers"][customer_number],
                        platform=platform,
                        handle=handle,
                        method="crm_import",
                    )
                )
        # a suggested (unconfirmed) link must not count: eve stays unlinked
        session.add(
            Identity(
                customer_id=ids["customers"][4],
                platform="x",
                handle="eve",
                method="suggested",
                status="suggested",
            )
        )
        for number, (handle, created_at, label, text) in POSTS.items():
            platform, _customer, is_brand = AUTHORS[handle]
            post = Post(
                platform=platform,
                external_id=f"p{number}",
                source=PLATFORM_SOURCE[platform],
                text=text,
                created_at=created_at,
                author_id=ids["authors"][handle],
                is_brand=is_brand,
                url=f"https://{platform}.example/p{number}",
            )
            session.add(post)
            session.flush()
            assert post.id is not None
            ids["posts"][number] = post.id
            if label is not None:
                probabilities = {"negative": (0.8, 0.1, 0.1), "positive": (0.1, 0.1, 0.8)}.get(label, (0.2, 0.6, 0.2))
                session.add(
                    Score(
                        post_id=post.id,
                        model_id="m-new",
                        label=label,
                        p_negative=probabilities[0],
                        p_neutral=probabilities[1],
                        p_positive=probabilities[2],
                        scored_at=created_at + timedelta(minutes=5),
                    )
                )
        # an older model called post 3 negative: the newest score (positive) wins
        session.add(
            Score(
                post_id=ids["posts"][3],
                model_id="m-old",
                label="negative",
                p_negative=0.7,
                p_neutral=0.2,
                p_positive=0.1,
                scored_at=at(17, 12, 1),
            )
        )
        for number, (
            post_number,
            tier,
            team,
            money,
            status,
            sla_hours,
            reply_hours,
            brand_hours,
        ) in CASES.items():
            _handle, posted_at, _label, _text = POSTS[post_number]
            handle = POSTS[post_number][0]
            platform, customer_number, _brand = AUTHORS[handle]
            post = session.get(Post, ids["posts"][post_number])
            assert post is not None
            if brand_hours is not None:
                post.answered_at = posted_at + timedelta(hours=brand_hours)
            case = Case(
                dedupe_key=f"{platform}:{handle}:{post_number}",
                post_id=ids["posts"][post_number],
                author_id=ids["authors"][handle],
                customer_id=ids["customers"][customer_number] if customer_number else None,
                status=status,
                team=team,
                tier=tier,
                money_at_risk=money,
                priority=money,
                reasons={"value": money},
                sla_due_at=posted_at + timedelta(hours=sla_hours),
                created_at=posted_at + timedelta(minutes=6),
                closed_at=posted_at + timedelta(hours=brand_hours) if brand_hours else None,
            )
            session.add(case)
            session.flush()
            assert case.id is not None
            ids["cases"][number] = case.id
            if reply_hours is not None:
                session.add(
                    Reply(
                        case_id=case.id,
                        post_id=post.id,
                        text="Sorry!",
                        author="ann",
                        status="sent",
                        idempotency_key=f"r{number}",
                        sent_at=posted_at + timedelta(hours=reply_hours),
                    )
                )
        # replies that do not count: a draft on case 2, a failed send on case 6
        session.add(
            Reply(
                case_id=ids["cases"][2],
                post_id=ids["posts"][4],
                text="draft",
                author="ann",
                status="draft",
                idempotency_key="d2",
            )
        )
        session.add(
            Reply(
                case_id=ids["cases"][6],
                post_id=ids["posts"][17],
                text="x",
                author="ann",
                status="failed",
                idempotency_key="f6",
                error="HTTP 500",
            )
        )
        # coverage: collect runs, a failed one, a failed step without a source, bad records
        for source, status, error, day in (
            ("x-mentions", "ok", None, 16),
            ("x-mentions", "ok", None, 20),
            ("reddit-sub", "ok", None, 16),
            ("reddit-sub", "failed", "HTTPError: 503 Service Unavailable", 21),
            ("reddit-sub", "failed", "last week's error", 12),
        ):
            session.add(
                JobRun(
                    job="collect",
                    source=source,
                    status=status,
                    error=error,
                    started_at=at(day, 6),
                    finished_at=at(day, 6, 1),
                )
            )
        session.add(JobRun(job="score", status="failed", error="OSError: model missing", started_at=at(18, 6)))
        for day in (17, 19, 12):
            session.add(
                QuarantinedRecord(
                    fingerprint=f"q{day}",
                    source="reddit-sub",
                    platform="reddit",
                    error="missing id",
                    raw="{}",
                    created_at=at(day, 7),
                )
            )
    return ids


def test_dataset_loads(sqlite_engine: Engine) -> None:
    ids = build_dataset(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Post)) == len(POSTS)
        assert session.scalar(select(func.count()).select_from(Case)) == len(CASES)
    assert len(ids["customers"]) == 20
