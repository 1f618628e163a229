"""``engagebot link`` is incremental: later runs compare only new or changed authors and customers.

The reference for "the same results" is the old behaviour, a run that compares every author:
``full_run`` gets it by forgetting what was compared before each run. Two runs at once must
not add a suggestion twice, even for authors without a handle (which the old unique key on
handles could not catch).
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from db.engine import make_engine, session_scope
from db.migrate import upgrade
from db.models import Author, AuthorMatchCheck, Customer, CustomerMatchCheck, Identity
from engagement.customers.crm_import import import_customers
from engagement.customers.identities import link_authors

FIRST = ["ana", "diego", "rosa", "hugo", "maya", "liam", "noah", "emma", "olivia", "lucas", "zoe", "ines"]
LAST = ["lima", "garcia", "singh", "nakamura", "khan", "smith", "brown", "costa", "alvarez", "chen", "novak"]


def crm(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """A CRM file: (crm id, name, email, X handle)."""
    path.write_text("crm_id,name,email,x_handle\n" + "".join(f"{','.join(r)}\n" for r in rows), encoding="utf-8")
    return path


def people(rng: random.Random, start: int, n: int) -> list[tuple[str, str, str, str]]:
    rows = []
    for i in range(start, start + n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        handle = f"{first}{last}{i}" if rng.random() < 0.2 else ""
        rows.append((f"C{i}", f"{first.title()} {last.title()}", f"{first}.{last}{i}@example.com", handle))
    return rows


def add_authors(engine: Engine, rng: random.Random, start: int, n: int, *, handles: bool = True) -> None:
    with session_scope(engine) as session:
        for i in range(start, start + n):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            handle = rng.choice([f"{first}_{last}{rng.randint(1, 99)}", f"{first}{rng.randint(1, 9)}", f"zz{i}"])
            session.add(
                Author(
                    platform="x",
                    external_id=f"a{i}",
                    handle=handle if handles else None,
                    display_name=rng.choice([first.title(), f"{first.title()} {last.title()}", None]),
                )
            )


def identities(engine: Engine) -> list[tuple[Any, ...]]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(
                Identity.customer_id,
                Identity.author_id,
                Identity.method,
                Identity.status,
                Identity.confidence,
                Identity.evidence,
            ).order_by(col(Identity.customer_id), col(Identity.author_id), col(Identity.method))
        ).all()
        return [tuple(r) for r in rows]


def full_run(engine: Engine) -> dict[str, int]:
    """What linking did before it was incremental: compare every author with every customer."""
    with session_scope(engine) as session:
        session.execute(delete(AuthorMatchCheck))
        session.execute(delete(CustomerMatchCheck))
    return link_authors(engine)


def test_later_runs_compare_only_new_and_changed_authors(engine: Engine, tmp_path: Path) -> None:
    import_customers(
        engine,
        crm(
            tmp_path / "crm.csv",
            [("C1", "Ana Lima", "ana.lima@example.com", ""), ("C2", "Hugo Nakamura", "hugo@example.com", "")],
        ),
    )
    with session_scope(engine) as session:
        session.add(Author(platform="x", external_id="1", handle="ana_lima82", display_name="Ana"))
        session.add(Author(platform="x", external_id="2", handle="qwerty", display_name="Somebody"))
        session.add(Author(platform="reddit", external_id="3", handle=None, display_name="Someone Else"))
    first = link_authors(engine)
    assert (first["compared"], first["suggested"]) == (3, 1)
    assert link_authors(engine)["compared"] == 0, "nothing new: nobody is compared again"

    with session_scope(engine) as session:  # a new author, and one that changed its handle
        session.add(Author(platform="x", external_id="4", handle="hugo_nakamura", display_name="Hugo"))
        stranger = session.exec(select(Author).where(Author.external_id == "2")).one()
        stranger.handle = "hugonakamura_7"
    second = link_authors(engine)
    assert (second["compared"], second["suggested"]) == (2, 2)
    assert link_authors(engine)["compared"] == 0

    # a stricter threshold is a different question: everyone is compared again
    assert link_authors(engine, threshold=0.95)["compared"] == 4


def test_a_new_customer_reaches_authors_compared_before(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session:
        session.add(Author(platform="x", external_id="1", handle="maya_khan5", display_name="Maya"))
        session.add(Author(platform="x", external_id="2", handle="qwerty", display_name="Somebody"))
    import_customers(engine, crm(tmp_path / "a.csv", [("C1", "Liam Chen", "liam@example.com", "")]))
    assert link_authors(engine)["compared"] == 2
    # the CRM now has Maya Khan: only the author who looks like her is compared again
    import_customers(engine, crm(tmp_path / "b.csv", [("C2", "Maya Khan", "maya.khan@example.com", "")]))
    counts = link_authors(engine)
    assert (counts["compared"], counts["suggested"]) == (1, 1)
    with session_scope(engine) as session:
        suggestion = session.exec(select(Identity).where(Identity.method == "suggested")).one()
        customer = session.get(Customer, suggestion.customer_id)
        assert customer is not None and customer.crm_id == "C2"
    # refreshing values touches every customer row, not their match keys: nothing to compare
    with session_scope(engine) as session:
        session.execute(text("update customers set clv = 1.0"))
    assert link_authors(engine)["compared"] == 0


def test_incremental_runs_add_what_full_runs_add(tmp_path: Path) -> None:
    """The same history of CRM imports, new authors and renames, linked both ways."""
    engines = []
    for name in ("incremental", "full"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        engines.append(engine)
    counts: dict[int, list[dict[str, int]]] = {0: [], 1: []}
    for which, engine in enumerate(engines):
        run = link_authors if which == 0 else full_run
        rng = random.Random(5)
        first_crm = people(rng, 0, 120)
        import_customers(engine, crm(tmp_path / f"crm{which}-1.csv", first_crm))
        add_authors(engine, rng, 0, 150)
        counts[which].append(run(engine))
        # new authors, new customers (some of them look like old authors), and renamed customers
        add_authors(engine, rng, 150, 60, handles=False)
        renamed = [
            (cid, f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}", email, h)
            for cid, _, email, h in first_crm[:15]
        ]
        import_customers(engine, crm(tmp_path / f"crm{which}-2.csv", renamed + people(rng, 120, 60)))
        counts[which].append(run(engine))
        with session_scope(engine) as session:  # authors who changed their names
            for author in session.exec(select(Author).where(col(Author.id) % 7 == 0)).all():
                author.display_name = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
        counts[which].append(run(engine))
    incremental, full = (identities(engine) for engine in engines)
    assert incremental == full
    assert sum(1 for row in incremental if row[2] == "suggested") > 50
    for inc, ref in zip(counts[0], counts[1], strict=True):
        assert {k: v for k, v in inc.items() if k != "compared"} == {k: v for k, v in ref.items() if k != "compared"}
    compared = [c["compared"] for c in counts[0]]
    assert compared[0] == counts[1][0]["compared"] and compared[1] < counts[1][1]["compared"]
    assert compared[2] < counts[1][2]["compared"]
    for engine in engines:
        engine.dispose()


def test_one_suggestion_per_customer_and_author(engine: Engine) -> None:
    """The guard in the schema: a second suggested link of the same pair is refused."""
    with session_scope(engine) as session:
        customer = Customer(crm_id="C1", name="Ana Lima")
        author = Author(platform="appstore", external_id="r1", handle=None, display_name="Ana Lima")
        session.add_all([customer, author])
        session.flush()
        assert customer.id is not None and author.id is not None
        pair = {"customer_id": customer.id, "author_id": author.id, "platform": "appstore"}
        session.add(Identity(**pair, method="suggested", status="suggested"))
        session.add(Identity(**pair, method="manual", status="confirmed"))  # other methods may share the pair
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Identity(**pair, method="suggested", status="suggested"))


@pytest.mark.postgres
def test_two_runs_at_once_add_each_suggestion_once(pg_engine: Engine, tmp_path: Path) -> None:
    rng = random.Random(11)
    import_customers(pg_engine, crm(tmp_path / "crm.csv", people(rng, 0, 150)))
    add_authors(pg_engine, rng, 0, 300, handles=False)  # reviewers without handles
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait(timeout=30)
            results.append(link_authors(pg_engine))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with session_scope(pg_engine) as session:
        rows = session.exec(
            select(Identity.customer_id, Identity.author_id, func.count())
            .where(Identity.method == "suggested")
            .group_by(col(Identity.customer_id), col(Identity.author_id))
        ).all()
    assert len(rows) > 20 and all(n == 1 for _, _, n in rows)
    assert sorted(r["suggested"] for r in results) == [0, len(rows)], "one run added them all, the other none"
    assert sorted(r["compared"] for r in results)[0] == 0, "the second run found nothing left to compare"
