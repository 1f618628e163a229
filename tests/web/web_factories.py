"""Seed rows and a signed-in test client for the web tests (imported by conftest and tests)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Author, Case, CasePost, Customer, Identity, Post, Score, Transaction, User
from db.types import utcnow
from engagement.users import hash_password

PASSWORD = "correct horse battery"
HOSTILE = (
    "<script>alert('x')</script> & \"quotes\" <img src=x onerror=alert(1)> "
    '\u202eRTL\u202c שלום 😡 =HYPERLINK("http://evil")'
)
USERS = (
    ("ana@example.com", "Ana", "agent", "care"),
    ("ben@example.com", "Ben", "agent", "care"),
    ("lea@example.com", "Lea", "lead", "care"),
    ("adam@example.com", "Adam", "admin", "care"),
    ("otto@example.com", "Otto", "agent", "billing"),
)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@functools.cache
def password_hash() -> str:
    """One argon2 hash for all seeded users: hashing is slow on purpose; tests pay it once."""
    return hash_password(PASSWORD)


@dataclass
class Seed:
    """Ids of what ``seed`` wrote, so tests can name cases by their role."""

    cases: dict[str, int]
    posts: dict[str, int]
    identity_id: int
    customer_id: int


def _post(session: Any, author: Author, key: str, text: str, hours_ago: float, **extra: Any) -> Post:
    post = Post(
        platform=extra.pop("platform", "x"),
        external_id=key,
        source="x-search",
        text=text,
        author_id=author.id,
        created_at=utcnow() - timedelta(hours=hours_ago),
        conversation_id=extra.pop("conversation_id", f"conv-{key}"),
        lang=extra.pop("lang", "en"),
        url=f"https://x.com/i/status/{key}",
        **extra,
    )
    session.add(post)
    session.flush()
    return post


def _case(session: Any, post: Post, author: Author, *, team: str, priority: float, **extra: Any) -> Case:
    assert post.id is not None
    case = Case(
        dedupe_key=f"x:{author.external_id}:{post.conversation_id}",
        post_id=post.id,
        author_id=author.id,
        team=team,
        priority=priority,
        money_at_risk=round(priority * 0.9, 2),
        platform=post.platform,
        lang=post.lang,
        sla_due_at=extra.pop("sla_due_at", utcnow() + timedelta(hours=1)),
        reasons={
            "why": f"reason for {post.external_id}",
            "value": priority * 4,
            "value_source": "rclv",
            "p_negative": 0.9,
            "p_churn": 0.5,
            "money_at_risk": round(priority * 0.9, 2),
            "age_factor": 1.1,
            "sla_hours": 1.0,
        },
        **extra,
    )
    session.add(case)
    session.flush()
    assert case.id is not None
    session.add(CasePost(case_id=case.id, post_id=post.id))
    session.add(
        Score(
            post_id=post.id,
            model_id="test-model",
            label="negative",
            p_negative=0.9,
            p_neutral=0.07,
            p_positive=0.03,
        )
    )
    return case


def seed(engine: Engine) -> Seed:
    """Users (agents ana, ben in 'care'; lead lea; admin adam; otto in 'billing') and cases."""
    with session_scope(engine) as session:
        for email, name, role, team in USERS:
            session.add(User(email=email, name=name, role=role, team=team, password_hash=password_hash()))
        customer = Customer(
            crm_id="CRM-1",
            name="Zoë <Customer>",
            email="zoe@example.com",
            clv=1200.0,
            rclv=1800.0,
            rclv_parts={"clv": 1200.0, "reach_value": 600.0, "followers": 5400, "posts": 3, "engagement": 120},
            p_alive=0.83,
            churn_risk=0.17,
        )
        session.add(customer)
        session.flush()
        assert customer.id is not None
        session.add(Transaction(customer_id=customer.id, occurred_at=utcnow() - timedelta(days=40), amount=120.0))
        session.add(Transaction(customer_id=customer.id, occurred_at=utcnow() - timedelta(days=10), amount=80.0))
        zoe = Author(platform="x", external_id="u-zoe", handle="zoe", display_name="Zoë", followers=5400)
        hostile = Author(
            platform="x",
            external_id="u-evil",
            handle="evil",
            display_name="<b>Evil</b>",
            followers=10,
        )
        plain = Author(platform="x", external_id="u-sam", handle="sam", display_name="Sam", followers=50)
        bill = Author(platform="reddit", external_id="u-pat", handle="pat", display_name="Pat", followers=None)
        session.add_all([zoe, hostile, plain, bill])
        session.flush()
        session.add(
            Identity(
                customer_id=customer.id,
                platform="x",
                handle="zoe",
                platform_user_id="u-zoe",
                author_id=zoe.id,
                method="crm_import",
                status="confirmed",
            )
        )
        suggestion = Identity(
            customer_id=customer.id,
            platform="x",
            handle="sam",
            author_id=plain.id,
            method="suggested",
            status="suggested",
            confidence=0.8,
        )
        session.add(suggestion)
        earlier = _post(session, zoe, "zoe-old", "Loved the flight last month", 24 * 20)
        session.add(
            Score(
                post_id=earlier.id or 0,
                model_id="test-model",
                label="positive",
                p_negative=0.05,
                p_neutral=0.1,
                p_positive=0.85,
            )
        )
        posts = {
            "top": _post(session, zoe, "p-top", "My bag is lost and nobody answers", 2),
            "hostile": _post(session, hostile, "p-hostile", HOSTILE, 1, lang="he"),
            "low": _post(session, plain, "p-low", "Flight delayed again, meh", 3),
            "billing": _post(session, bill, "p-bill", "Charged twice for my ticket", 1, platform="reddit"),
        }
        cases = {
            "top": _case(
                session,
                posts["top"],
                zoe,
                team="care",
                priority=900.0,
                tier="top",
                customer_id=customer.id,
                sla_due_at=utcnow() - timedelta(minutes=30),
            ),
            "hostile": _case(session, posts["hostile"], hostile, team="care", priority=500.0, tier="standard"),
            "low": _case(session, posts["low"], plain, team="care", priority=100.0),
            "billing": _case(session, posts["billing"], bill, team="billing", priority=700.0, tier="high"),
        }
        session.flush()
        return Seed(
            cases={k: c.id or 0 for k, c in cases.items()},
            posts={k: p.id or 0 for k, p in posts.items()},
            identity_id=suggestion.id or 0,
            customer_id=customer.id,
        )


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class Clock:
    """A clock the app reads (``create_app(clock=...)``) and tests move: no test sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Browser:
    """A TestClient that signs in and remembers the page's CSRF token."""

    def __init__(self, app: FastAPI, *, address: str = "testclient") -> None:
        self.client = TestClient(app, base_url="https://testserver", client=(address, 50000))
        self.csrf = ""

    def login(self, email: str, password: str = PASSWORD) -> Browser:
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        self.csrf = csrf_of(self.client.get("/queue").text)
        return self

    def try_login(self, email: str, password: str) -> Any:
        """One sign-in attempt; the answer as it is (303 signed in, 401 wrong, 429 throttled)."""
        page = self.client.get("/login")
        return self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, follow_redirects=False, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)


class Platform:
    """The platform's side of a reply, kept in memory: what engagebot posted under which post.

    Installed in place of ``engagement.queue.replies.poster_for`` (``platform.install``), it
    answers like a live poster (``dry_run`` False, an id per reply, ``find_existing`` by text), so
    a page test can follow a reply that really went out; the adapters' own HTTP requests are
    tested against local fake servers in ``tests/engagement``.
    """

    dry_run = False

    def __init__(self, platform: str = "x") -> None:
        self.platform = platform
        self.posted: list[tuple[str, str, str]] = []  # (post id, text, reply id)

    def post_reply(self, target: Any, text: str) -> str:
        reply_id = f"{target.platform}-reply-{len(self.posted) + 1}"
        self.posted.append((target.external_id, text, reply_id))
        return reply_id

    def find_existing(self, target: Any, text: str) -> str | None:
        return next((rid for post, said, rid in self.posted if post == target.external_id and said == text), None)

    def install(self, monkeypatch: Any) -> Platform:
        monkeypatch.setattr("engagement.queue.replies.poster_for", lambda platform, settings: self)
        return self
