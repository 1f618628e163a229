"""Linking authors to customers: exact CRM links, email links, suggestions a person decides."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from db.engine import session_scope
from db.models import Author, Identity, Post
from engagement.customers.crm_import import import_customers
from engagement.customers.identities import (
    confirm_identity,
    customer_for_author,
    emails_in,
    link_authors,
    link_manually,
    reject_identity,
)
from engagement.customers.name_matching import CustomerIndex, customer_keys, normalise

CRM = (
    "crm_id,name,email,segment,currency,clv,x_handle,x_user_id,reddit_username,appstore_user,googleplay_user\n"
    "C1,Rosa Singh,rosa.singh0@example.com,gold,USD,4912.37,rosa_singh,1200070257230544397,,,\n"
    "C2,Diego Garcia,diego.garcia1@example.com,standard,USD,,,,DiegoG,,\n"
    "C3,Zoë O'Brien,zoe@example.com,standard,USD,,,,,,\n"
    "C4,Hugo Nakamura,hugo.nakamura2@example.com,standard,USD,,hugo_n,,,,\n"
    "C5,Ana Lima,ana.lima@example.com,standard,USD,,,,,,\n"
)


def add_author(
    session: Any,
    platform: str,
    external_id: str,
    handle: str | None,
    name: str | None = None,
    **kw: Any,
) -> int:
    author = Author(platform=platform, external_id=external_id, handle=handle, display_name=name, **kw)
    session.add(author)
    session.flush()
    assert author.id is not None
    return author.id


def add_post(session: Any, author_id: int, platform: str, raw: dict[str, Any] | None = None) -> None:
    session.add(
        Post(
            platform=platform,
            external_id=f"{platform}-{author_id}-{len(str(raw))}",
            source="test",
            text="the app keeps crashing",
            author_id=author_id,
            created_at=datetime(2026, 1, 5, tzinfo=UTC),
            raw=raw,
        )
    )


@pytest.fixture
def authors(engine: Engine, tmp_path: Path) -> dict[str, int]:
    (tmp_path / "crm.csv").write_text(CRM, encoding="utf-8")
    import_customers(engine, tmp_path / "crm.csv")
    with session_scope(engine) as session:
        ids = {
            # the CRM's user id matches although the handle changed since
            "rosa_x": add_author(session, "x", "1200070257230544397", "rosa_renamed", "Rosa", followers=5400),
            # the CRM's Reddit username, different case
            "diego_reddit": add_author(session, "reddit", "diegog", "diegog", "DiegoG"),
            # a review whose raw record carries the CRM email
            "zoe_review": add_author(session, "trustpilot", "tp-77", "zoe o.", "Zoe O."),
            # looks like Ana Lima on X: a suggestion, not a link
            "ana_x": add_author(session, "x", "555", "ana_lima82", "Ana"),
            # looks like Hugo's X handle on another platform: a suggestion
            "hugo_reddit": add_author(session, "reddit", "hugo_n", "hugo_n", None),
            "stranger": add_author(session, "x", "777", "qwerty", "Somebody"),
            "brand": add_author(session, "x", "1", "diegogarcia", "Diego Garcia", is_brand=True),
        }
        add_post(
            session,
            ids["zoe_review"],
            "trustpilot",
            {"consumer": {"displayName": "Zoe O.", "Email": "Zoe@Example.com"}},
        )
        add_post(
            session, ids["stranger"], "x", {"text": "mail me at c@d.io", "author": "qwerty"}
        )  # not under an email key
    return ids


def customer_of(engine: Engine, author_id: int) -> str | None:
    with session_scope(engine) as session:
        customer = customer_for_author(session, author_id)
        return customer.crm_id if customer else None


def test_link_authors_exact_email_and_suggested(engine: Engine, authors: dict[str, int]) -> None:
    counts = link_authors(engine)
    # compared: ana_x, hugo_reddit and stranger (the others are the brand or already linked)
    assert counts == {"exact": 2, "email": 1, "suggested": 2, "compared": 3, "conflicts": 0, "linked_authors": 3}
    assert customer_of(engine, authors["rosa_x"]) == "C1"
    assert customer_of(engine, authors["diego_reddit"]) == "C2"
    assert customer_of(engine, authors["zoe_review"]) == "C3"
    for unlinked in ("ana_x", "hugo_reddit", "stranger", "brand"):
        assert customer_of(engine, authors[unlinked]) is None  # suggestions do not count until confirmed

    with session_scope(engine) as session:
        email = session.exec(select(Identity).where(Identity.method == "email_match")).one()
        assert (email.platform, email.platform_user_id, email.status, email.confidence) == (
            "trustpilot",
            "tp-77",
            "confirmed",
            1.0,
        )
        assert "zoe@example.com" in (email.evidence or "")
        suggested = {i.author_id: i for i in session.exec(select(Identity).where(Identity.status == "suggested")).all()}
        assert set(suggested) == {authors["ana_x"], authors["hugo_reddit"]}
        ana = suggested[authors["ana_x"]]
        assert ana.method == "suggested" and 0.5 < ana.confidence < 1.0
        assert "ana_lima82" in (ana.evidence or "") and "Ana Lima" in (ana.evidence or "")
        assert "hugo_n" in (suggested[authors["hugo_reddit"]].evidence or "")

    again = link_authors(engine)
    assert again == {"exact": 0, "email": 0, "suggested": 0, "compared": 0, "conflicts": 0, "linked_authors": 3}


def test_people_confirm_and_reject_suggestions(engine: Engine, authors: dict[str, int]) -> None:
    link_authors(engine)
    with session_scope(engine) as session:
        ana = session.exec(select(Identity).where(Identity.author_id == authors["ana_x"])).one()
        hugo = session.exec(select(Identity).where(Identity.author_id == authors["hugo_reddit"])).one()
        assert ana.id is not None and hugo.id is not None
        confirmed = confirm_identity(session, ana.id, "lead@example.com")
        assert (confirmed.status, confirmed.confirmed_by) == ("confirmed", "lead@example.com")
        assert confirmed.decided_at is not None
        rejected = reject_identity(session, hugo.id, "lead@example.com")
        assert rejected.status == "rejected"
        with pytest.raises(LookupError):
            confirm_identity(session, 999_999, "x")
    assert customer_of(engine, authors["ana_x"]) == "C5"
    assert customer_of(engine, authors["hugo_reddit"]) is None
    assert link_authors(engine)["suggested"] == 0  # a rejected pair is not suggested again

    with session_scope(engine) as session:
        stranger = session.get(Author, authors["stranger"])
        assert stranger is not None
        from db.models import Customer

        c4 = session.exec(select(Customer).where(Customer.crm_id == "C4")).one()
        assert c4.id is not None
        manual = link_manually(session, c4.id, authors["stranger"], "agent@example.com")
        assert (manual.method, manual.status) == ("manual", "confirmed")
    assert customer_of(engine, authors["stranger"]) == "C4"


def test_a_new_crm_handle_links_on_the_next_run(engine: Engine, authors: dict[str, int], tmp_path: Path) -> None:
    link_authors(engine)
    (tmp_path / "more.csv").write_text("crm_id,x_handle\nC5,ana_lima82\n", encoding="utf-8")
    import_customers(engine, tmp_path / "more.csv")  # the CRM now lists the suggested account
    with session_scope(engine) as session:
        row = session.exec(select(Identity).where(Identity.author_id == authors["ana_x"])).one()
        assert (row.method, row.status) == ("crm_import", "confirmed")
    assert customer_of(engine, authors["ana_x"]) == "C5"


def test_matching_helpers() -> None:
    assert normalise("Zoë O'Brien") == "zoeobrien"
    keys = customer_keys("Ana Lima", "ana.lima82@example.com", ["ana_l"])
    assert {"analima", "limaana", "alima", "anal", "analima82"} <= set(keys)
    assert keys["analima"][1] and not keys["anal"][1]  # 'Ana L.' is any Ana L.: exact matches only
    assert emails_in({"consumer": {"email": "A@B.co"}, "text": "x@y.io"}) == {"a@b.co"}
    assert emails_in({"contact_emails": ["one@a.io", "two@b.io"]}) == {"one@a.io", "two@b.io"}


def test_a_name_initial_match_needs_a_handle_that_does_not_name_someone_else() -> None:
    index = CustomerIndex()
    index.add(1, "Diego Costa", "diego.costa@example.com", [])
    index.add(2, "Sofia Alvarez", "sofia.alvarez28@example.com", ["sofia_alvarez20"])
    assert index.candidates("diechen9705", "Diego C.", threshold=0.86) == []  # Diego Chen, surely
    assert [c[:2] for c in index.candidates(None, "Diego C.", threshold=0.86)] == [(1, 0.9)]
    assert [c[0] for c in index.candidates("diegocosta", "Diego C.", threshold=0.86)] == [1]
    best = index.candidates("sofalvarez3494", "Sofia A.", threshold=0.86)
    assert [c[0] for c in best] == [2] and "handle 'sofalvarez3494'" in best[0][2]
    assert index.candidates("qwerty", "Somebody", threshold=0.86) == []


def test_two_crm_rows_claiming_one_account_are_reported(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text("crm_id,name,x_handle\nC1,Old Record,shared\nC2,New Record,shared\n")
    import_customers(engine, tmp_path / "crm.csv")
    with session_scope(engine) as session:
        author_id = add_author(session, "x", "9", "shared", "Shared")
    counts = link_authors(engine)
    assert (counts["exact"], counts["conflicts"], counts["linked_authors"]) == (2, 1, 1)
    assert customer_of(engine, author_id) == "C1"  # deterministic: the first link wins
