"""Link platform authors to CRM customers: exact, by email, and suggested for a person to decide.

Three ways, strongest first; each ``Identity`` keeps its method, confidence and evidence:

1. ``crm_import`` (exact, confirmed): the CRM lists the account; it links to the ``Author`` on the
   same platform with that user id (preferred) or that handle.
2. ``email_match`` (exact, confirmed): a review source carried the author's email (any key
   containing ``email`` in the post's raw record) and it equals a customer's CRM email.
3. ``suggested`` (status ``suggested``): the author's handle or display name looks like a
   customer's name, email name or handle elsewhere (normalised, accents and punctuation
   removed; difflib similarity >= ``threshold``). A person confirms or rejects it; a rejected
   pair is never suggested again, and confirming one link rejects the author's other suggestions.

Only confirmed links count (``customer_for_author``). Authors left unlinked are still triaged,
by their reach alone.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import Engine, Select, String, Subquery, and_, cast, func, or_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from db.claims import serialise
from db.engine import session_scope
from db.models.customers import Customer, Identity
from db.models.posts import Author, Post
from db.types import utcnow
from engagement.customers import identity_checks as checks
from engagement.customers.name_matching import CustomerIndex
from engagement.errors import NotFound

log = logging.getLogger(__name__)

CHUNK = 500
DEFAULT_THRESHOLD = 0.86
LINK_LOCK = "link_authors"
EMAIL_IN_TEXT = re.compile(r"[^@\s\"'<>,;:]+@[^@\s\"'<>,;:]+\.[a-z]{2,}", re.IGNORECASE)


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# --- 1. exact links from the CRM ---------------------------------------------------------------


def _link_crm(session: Session) -> tuple[int, int]:
    """Attach confirmed, not yet linked identities to their Authors; returns (linked, conflicts)."""
    pending = session.exec(
        select(Identity).where(Identity.status == "confirmed", col(Identity.author_id).is_(None))
    ).all()
    linked = 0
    for chunk in _chunks(list(pending)):
        ids = {i.platform_user_id for i in chunk if i.platform_user_id}
        handles = {i.handle for i in chunk if i.handle}
        platforms = {i.platform for i in chunk}
        authors = session.exec(
            select(Author).where(
                col(Author.platform).in_(platforms),
                or_(col(Author.external_id).in_(ids), col(Author.handle).in_(handles)),
            )
        ).all()
        by_id = {(a.platform, a.external_id): a for a in authors}
        by_handle = {(a.platform, a.handle): a for a in authors if a.handle}
        for identity in chunk:
            author = by_id.get((identity.platform, identity.platform_user_id or "")) or by_handle.get(
                (identity.platform, identity.handle or "")
            )
            if author is not None:
                identity.author_id = author.id
                how = "user id" if author.external_id == identity.platform_user_id else "handle"
                identity.evidence = f"{identity.evidence or 'listed in the CRM'}; matched the author by {how}"
                linked += 1
    session.flush()
    conflicts = _count_conflicts(session)
    return linked, conflicts


def _count_conflicts(session: Session) -> int:
    """Authors confirmed for more than one customer (two CRM rows claim one account)."""
    rows = session.exec(
        select(Identity.author_id, Identity.customer_id).where(
            Identity.status == "confirmed", col(Identity.author_id).is_not(None)
        )
    ).all()
    customers: dict[int, set[int]] = defaultdict(set)
    for author_id, customer_id in rows:
        if author_id is not None:
            customers[author_id].add(customer_id)
    conflicts = sum(1 for c in customers.values() if len(c) > 1)
    if conflicts:
        log.warning("identities: %d authors are linked to more than one customer (check the CRM)", conflicts)
    return conflicts


def _confirmed_authors(session: Session) -> set[int]:
    rows = session.exec(
        select(Identity.author_id).where(Identity.status == "confirmed", col(Identity.author_id).is_not(None))
    ).all()
    return {a for a in rows if a is not None}


def _add_link(
    session: Session,
    customer_id: int,
    author: Author,
    *,
    method: str,
    status: str,
    confidence: float,
    evidence: str,
) -> bool:
    """Add a customer-author identity unless that pair already has one (of any status)."""
    existing = session.exec(
        select(Identity).where(Identity.customer_id == customer_id, Identity.author_id == author.id)
    ).first()
    if existing is not None:
        return False
    twin = session.exec(
        select(Identity).where(
            Identity.customer_id == customer_id,
            Identity.platform == author.platform,
            Identity.handle == author.handle if author.handle else col(Identity.handle).is_(None),
            Identity.platform_user_id == author.external_id,
        )
    ).first()
    if twin is not None:
        return False
    session.add(
        Identity(
            customer_id=customer_id,
            platform=author.platform,
            handle=author.handle,
            platform_user_id=author.external_id,
            author_id=author.id,
            method=method,
            status=status,
            confidence=round(confidence, 3),
            evidence=evidence,
        )
    )
    return True


# --- 2. email links ----------------------------------------------------------------------------


def emails_in(raw: Any, *, under_email_key: bool = False) -> set[str]:
    """Email addresses held under any key containing 'email' in a raw record (nested too)."""
    found: set[str] = set()
    if isinstance(raw, dict):
        for key, value in raw.items():
            found |= emails_in(value, under_email_key=under_email_key or "email" in str(key).lower())
    elif isinstance(raw, list):
        for value in raw:
            found |= emails_in(value, under_email_key=under_email_key)
    elif isinstance(raw, str) and under_email_key:
        found |= {m.lower() for m in EMAIL_IN_TEXT.findall(raw)}
    return found


def _link_emails(session: Session) -> int:
    confirmed = _confirmed_authors(session)
    posts = session.exec(
        select(Post.author_id, Post.raw).where(
            col(Post.author_id).is_not(None),
            col(Post.is_brand).is_(False),
            cast(Post.raw, String).like("%@%"),
        )
    ).all()
    emails_of: dict[int, set[str]] = defaultdict(set)
    for author_id, raw in posts:
        if author_id is not None and author_id not in confirmed:
            emails_of[author_id] |= emails_in(raw)
    wanted = sorted({e for emails in emails_of.values() for e in emails})
    if not wanted:
        return 0
    customer_by_email: dict[str, int] = {}
    for chunk in _chunks(wanted):
        for customer_id, email in session.exec(
            select(Customer.id, Customer.email).where(col(Customer.email).in_(chunk))
        ).all():
            if customer_id is not None and email:
                customer_by_email[email] = customer_id
    linked = 0
    for author_id, emails in emails_of.items():
        author = session.get(Author, author_id)
        for email in sorted(emails):
            customer_id = customer_by_email.get(email)
            if author is not None and customer_id is not None:
                linked += _add_link(
                    session,
                    customer_id,
                    author,
                    method="email_match",
                    status="confirmed",
                    confidence=1.0,
                    evidence=f"the review's email {email} is the customer's CRM email",
                )
                break
    session.flush()
    return linked


# --- 3. suggested links ------------------------------------------------------------------------


def _suggest(session: Session, threshold: float) -> tuple[int, int]:
    """Suggest customers for new or changed authors (``identity_checks``); returns (added, compared)."""
    handles_of: dict[int, list[str]] = defaultdict(list)
    for customer_id, handle in session.exec(
        select(Identity.customer_id, Identity.handle).where(
            Identity.method == "crm_import", col(Identity.handle).is_not(None)
        )
    ).all():
        if handle:
            handles_of[customer_id].append(handle)
    people = {
        cid: (name, email, handles_of.get(cid, []))
        for cid, name, email in session.exec(select(Customer.id, Customer.name, Customer.email)).all()
        if cid is not None
    }
    changed = checks.changed_customers(
        session, {cid: checks.customer_digest(*person) for cid, person in people.items()}
    )
    authors = checks.changed_authors(session, threshold)
    authors += checks.authors_for_customers(
        session,
        {cid: people[cid] for cid in changed},
        threshold=threshold,
        skip={a.id for a in authors if a.id is not None},
    )
    added = _suggest_for(session, authors, people, threshold) if authors else 0
    checks.record_checks(session, authors, changed, threshold=threshold)
    session.flush()
    return added, len(authors)


def _suggest_for(
    session: Session,
    authors: list[Author],
    people: dict[int, tuple[str | None, str | None, list[str]]],
    threshold: float,
) -> int:
    """Compare ``authors`` with every customer and add the suggestions not decided yet."""
    index = CustomerIndex()
    for cid, (name, email, handles) in people.items():
        index.add(cid, name, email, handles)
    accounts = {
        (c, platform): handle or user_id
        for c, platform, handle, user_id in session.exec(
            select(Identity.customer_id, Identity.platform, Identity.handle, Identity.platform_user_id).where(
                Identity.status == "confirmed", col(Identity.author_id).is_not(None)
            )
        ).all()
    }
    decided = {
        (c, a)
        for c, a in session.exec(
            select(Identity.customer_id, Identity.author_id).where(col(Identity.author_id).is_not(None))
        ).all()
    }
    added = 0
    for author in authors:
        assert author.id is not None
        ranked = index.candidates(author.handle, author.display_name, threshold=threshold)
        for customer_id, score, evidence in ranked:
            if (customer_id, author.id) in decided:
                continue
            # Never as sure as an exact link; less sure when several customers fit, or when
            # the customer already has a confirmed account on this platform.
            confidence = score * (0.9 if len(ranked) == 1 else 0.8)
            other = accounts.get((customer_id, author.platform))
            if other:
                confidence *= 0.85
                evidence += f"; the customer already has the {author.platform} account '{other}'"
            added += _add_link(
                session,
                customer_id,
                author,
                method="suggested",
                status="suggested",
                confidence=confidence,
                evidence=evidence,
            )
    return added


def link_authors(engine: Engine, *, threshold: float = DEFAULT_THRESHOLD) -> dict[str, int]:
    """Run the three linking passes (one transaction each) and return what each did.

    Two runs at once (a scheduled one and ``engagebot link``, or an old leader's run still
    going after a failover) take turns pass by pass (``db.claims.serialise``): each pass
    decides what to add from what is committed, so running them interleaved would add the
    same links twice. ``compared`` counts the authors compared with the customers this run
    (new or changed ones only, see ``engagement.customers.identity_checks``).
    """
    with session_scope(engine, write=True) as session:
        serialise(session, LINK_LOCK)
        exact, conflicts = _link_crm(session)
    with session_scope(engine, write=True) as session:
        serialise(session, LINK_LOCK)
        email = _link_emails(session)
    with session_scope(engine, write=True) as session:
        serialise(session, LINK_LOCK)
        suggested, compared = _suggest(session, threshold)
    with session_scope(engine) as session:
        linked_authors = len(_confirmed_authors(session))
    counts = {
        "exact": exact,
        "email": email,
        "suggested": suggested,
        "compared": compared,
        "conflicts": conflicts,
        "linked_authors": linked_authors,
    }
    log.info(
        "identities: %d exact, %d by email, %d suggested (%d authors compared); %d authors linked",
        exact,
        email,
        suggested,
        compared,
        linked_authors,
    )
    return counts


# --- decisions by people, lookups --------------------------------------------------------------


def _get(session: Session, identity_id: int) -> Identity:
    identity = session.get(Identity, identity_id)
    if identity is None:
        raise NotFound(f"no identity link with id {identity_id}")
    return identity


def confirm_identity(session: Session, identity_id: int, by: str) -> Identity:
    """A person confirms a link; the author's other open suggestions are rejected."""
    identity = _get(session, identity_id)
    now = utcnow()
    identity.status, identity.confirmed_by, identity.decided_at = "confirmed", by, now
    if identity.author_id is not None:
        others = session.exec(
            select(Identity).where(
                Identity.author_id == identity.author_id,
                Identity.status == "suggested",
                Identity.id != identity.id,
            )
        ).all()
        for other in others:
            other.status, other.confirmed_by, other.decided_at = (
                "rejected",
                f"{by} (confirmed link {identity.id})",
                now,
            )
    session.flush()
    return identity


def reject_identity(session: Session, identity_id: int, by: str) -> Identity:
    """A person rejects a link; the pair is kept as rejected so it is never suggested again."""
    identity = _get(session, identity_id)
    identity.status, identity.confirmed_by, identity.decided_at = "rejected", by, utcnow()
    session.flush()
    return identity


def link_manually(session: Session, customer_id: int, author_id: int, by: str) -> Identity:
    """A person links an author to a customer by hand (method ``manual``, confirmed)."""
    author = session.get(Author, author_id)
    if author is None:
        raise NotFound(f"no author with id {author_id}")
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"no customer with id {customer_id}")
    existing = session.exec(
        select(Identity).where(Identity.customer_id == customer_id, Identity.author_id == author_id)
    ).first()
    if existing is not None:
        return confirm_identity(session, existing.id or 0, by)
    identity = Identity(
        customer_id=customer_id,
        platform=author.platform,
        handle=author.handle,
        platform_user_id=author.external_id,
        author_id=author_id,
        method="manual",
        status="confirmed",
        confidence=1.0,
        confirmed_by=by,
        decided_at=utcnow(),
        evidence=f"linked by {by}",
    )
    session.add(identity)
    session.flush()
    return identity


def customer_links(author_ids: Collection[int] | None = None) -> Subquery:
    """Subquery ``(author_id, customer_id)``: the one customer behind each author (THE rule).

    Only confirmed identities count. An identity matches an author it was attached to
    (``Identity.author_id``) or, on the same platform, by platform user id or by handle (a
    CRM row whose author has not been attached yet by ``link_authors``). Where several
    customers claim one author, the most confident link wins, then the oldest link. Triage,
    the queue and case pages, Slack and the weekly report all read the customer through this
    rule (``customers_for_authors``, ``customer_for_author`` or a join on the subquery).

    Three equi-joins in a UNION rather than one OR join, so each can use its index (an OR join
    made SQLite compare every author with every identity). ``author_ids`` narrows every branch.
    """
    confirmed = col(Identity.status) == "confirmed"
    same_platform = col(Identity.platform) == col(Author.platform)
    ways = (
        col(Identity.author_id) == col(Author.id),
        and_(same_platform, col(Identity.platform_user_id) == col(Author.external_id)),
        and_(same_platform, col(Identity.handle) == col(Author.handle)),
    )
    branches: list[Select[int, int, int, float]] = []
    for on in ways:
        branch: Select[int, int, int, float] = (
            sa_select(
                col(Author.id).label("author_id"),
                col(Identity.id).label("identity_id"),
                col(Identity.customer_id).label("customer_id"),
                col(Identity.confidence).label("confidence"),
            )
            .select_from(Author)
            .join(Identity, on)
            .where(confirmed)
        )
        if author_ids is not None:
            branch = branch.where(col(Author.id).in_(sorted(set(author_ids))))
        branches.append(branch)
    matches = union_all(*branches).subquery("identity_matches")
    ranked = sa_select(
        matches.c.author_id,
        matches.c.customer_id,
        func.row_number()
        .over(partition_by=matches.c.author_id, order_by=(matches.c.confidence.desc(), matches.c.identity_id))
        .label("rank"),
    ).subquery("ranked_matches")
    return sa_select(ranked.c.author_id, ranked.c.customer_id).where(ranked.c.rank == 1).subquery("author_customers")


def customers_for_authors(session: Session, author_ids: Collection[int]) -> dict[int, Customer]:
    """Author id -> the customer behind that author (``customer_links``); unlinked are left out."""
    found: dict[int, Customer] = {}
    wanted = sorted(set(author_ids))
    for chunk in _chunks(wanted):
        links = customer_links(chunk)
        rows = session.execute(
            sa_select(links.c.author_id, Customer).join(Customer, col(Customer.id) == links.c.customer_id)
        ).all()
        found.update((int(author_id), customer) for author_id, customer in rows)
    return found


def customer_for_author(session: Session, author_id: int) -> Customer | None:
    """The customer behind one author (``customer_links``), or ``None``."""
    return customers_for_authors(session, [author_id]).get(author_id)


def list_identities(session: Session, *, status: str | None = None, limit: int = 100) -> list[Identity]:
    """Links, newest first, optionally of one status (``suggested`` for the review queue)."""
    query = select(Identity).order_by(col(Identity.id).desc()).limit(limit)
    if status:
        query = query.where(Identity.status == status)
    return list(session.exec(query).all())
