"""Which authors the identity suggester has to look at: what makes ``engagebot link`` incremental.

Comparing an author with every customer is the expensive part of linking (fuzzy matching,
137 s for 20k authors). Whether an author has a suggestion depends only on its handle and
name, on the customers' match keys, on the threshold and on the links people already
decided; so a run compares:

1. authors never compared, or whose handle or name (or the threshold) changed since
   (``AuthorMatchCheck`` holds what was compared), and
2. when customers are new or their match keys changed (``CustomerMatchCheck`` holds a
   digest of each customer's keys), the authors already compared that those customers may
   match now (a cheap pass against an index of the changed customers alone) or matched
   before (they have a link with one of them; a customer's candidate list may have changed).

Each of those is compared with the full customer index, exactly as a full run would, so
the suggestions are the same as re-checking everyone. The first run compares every author.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import exists
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from db.models.customers import AuthorMatchCheck, CustomerMatchCheck, Identity
from db.models.posts import Author
from db.types import utcnow
from engagement.customers.name_matching import CustomerIndex

CHUNK = 500


def customer_digest(name: str | None, email: str | None, handles: Iterable[str]) -> str:
    """A digest of everything a customer is matched on (a change in any of it changes it)."""
    key = repr((name, email, sorted(handles)))
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def _eligible() -> Any:
    """Authors that may get suggestions: not the brand's, not confirmed for any customer yet."""
    confirmed = exists().where(col(Identity.author_id) == col(Author.id), col(Identity.status) == "confirmed")
    return col(Author.is_brand).is_(False) & ~confirmed


def changed_authors(session: Session, threshold: float) -> list[Author]:
    """Eligible authors never compared, or compared with another handle, name or threshold."""
    check = AuthorMatchCheck
    statement = (
        select(Author)
        .outerjoin(check, col(check.author_id) == col(Author.id))
        .where(
            _eligible(),
            col(check.author_id).is_(None)
            | (col(check.threshold) != threshold)
            | col(check.handle).is_distinct_from(col(Author.handle))
            | col(check.display_name).is_distinct_from(col(Author.display_name)),
        )
        .order_by(col(Author.id))
    )
    return list(session.exec(statement).all())


def changed_customers(session: Session, digests: Mapping[int, str]) -> dict[int, str]:
    """Customers (id → digest) that are new or whose match keys changed since they were used."""
    stored = dict(session.exec(select(CustomerMatchCheck.customer_id, CustomerMatchCheck.digest)).all())
    return {cid: digest for cid, digest in digests.items() if stored.get(cid) != digest}


def authors_for_customers(
    session: Session,
    customers: Mapping[int, tuple[str | None, str | None, list[str]]],
    *,
    threshold: float,
    skip: set[int],
) -> list[Author]:
    """Authors already compared that ``customers`` (id → name, email, handles) may concern now.

    Those matching one of them at ``threshold`` (against an index of these customers alone),
    and those with any link to one of them (their candidate lists may have lost a member).
    """
    compared = (
        select(col(Author.id), col(Author.handle), col(Author.display_name))
        .join(AuthorMatchCheck, col(AuthorMatchCheck.author_id) == col(Author.id))
        .where(_eligible())
    )
    rows = [row for row in session.exec(compared).all() if row[0] not in skip]
    if not customers or not rows:  # e.g. the first run: every author is compared anyway
        return []
    index = CustomerIndex()
    for cid, (name, email, handles) in customers.items():
        index.add(cid, name, email, handles)
    wanted = {
        author_id for author_id, handle, name in rows if index.candidates(handle, name, threshold=threshold, limit=1)
    }
    for chunk in _chunks(sorted(customers)):
        linked = select(col(Identity.author_id)).where(
            col(Identity.customer_id).in_(chunk), col(Identity.author_id).is_not(None)
        )
        wanted |= {a for a in session.exec(linked).all() if a is not None and a not in skip}
    if not wanted:
        return []
    authors: list[Author] = []
    for chunk in _chunks(sorted(wanted)):
        authors.extend(session.exec(select(Author).where(col(Author.id).in_(chunk), _eligible())).all())
    return sorted(authors, key=lambda a: a.id or 0)


def record_checks(session: Session, authors: list[Author], customers: Mapping[int, str], *, threshold: float) -> None:
    """Store what this run compared: each author's handle and name, each customer's digest."""
    now = utcnow()
    author_rows = [
        {
            "author_id": a.id,
            "handle": a.handle,
            "display_name": a.display_name,
            "threshold": threshold,
            "checked_at": now,
        }
        for a in authors
    ]
    customer_rows = [{"customer_id": cid, "digest": d, "checked_at": now} for cid, d in customers.items()]
    _upsert(session, AuthorMatchCheck, "author_id", author_rows)
    _upsert(session, CustomerMatchCheck, "customer_id", customer_rows)


def _upsert(session: Session, model: Any, key: str, rows: list[dict[str, Any]]) -> None:
    """Insert or update ``rows`` as one executemany of one statement (compiled once, batched)."""
    if not rows:
        return
    dialect_insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = dialect_insert(model.__table__)
    update = {name: statement.excluded[name] for name in rows[0] if name != key}
    session.execute(statement.on_conflict_do_update(index_elements=[key], set_=update), rows)


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
