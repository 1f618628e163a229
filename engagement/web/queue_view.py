"""Read side of the queue page: filtered, sorted rows with what an agent needs to pick a case."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from db.models import Author, Case, Customer, Post, Score
from db.scores import current_score_id, current_scores
from engagement import queue
from engagement.errors import BadInput

ACTIVE_STATUSES = queue.ACTIVE_STATUSES
CLOSED_STATUSES = queue.TERMINAL_STATUSES
STATUS_CHOICES = ("active", *ACTIVE_STATUSES, "finished", *CLOSED_STATUSES, "all")
MAX_SEARCH = 200
#: a search counts its matches up to here, then says "1,000+" (a common word matches most cases)
SEARCH_COUNT_CAP = 1000
ASSIGNED_CHOICES = (None, "mine", "unassigned")


@dataclass(frozen=True)
class QueueFilters:
    """What the filter bar asks for; ``team=None`` means every team."""

    team: str | None = None
    platform: str | None = None
    tier: str | None = None
    status: str = "active"
    lang: str | None = None
    q: str | None = None
    assigned: str | None = None  # "mine" (assigned to or held by ``me``) or "unassigned"
    tag: str | None = None
    snoozed: bool = False  # True: the snoozed cases (hidden from the list until due) instead
    me: str | None = None  # whose "mine": the signed-in user (never a URL parameter)

    def __post_init__(self) -> None:
        if self.status not in STATUS_CHOICES:
            raise BadInput(f"unknown status {self.status!r}: choose one of {', '.join(STATUS_CHOICES)}")
        if self.assigned not in ASSIGNED_CHOICES:
            raise BadInput(f"unknown assigned filter {self.assigned!r}: mine or unassigned")
        if self.q is not None and len(self.q) > MAX_SEARCH:
            raise BadInput(f"search text too long (at most {MAX_SEARCH} characters)")
        for name, value in self.__dict__.items():
            if isinstance(value, str) and "\x00" in value:
                raise BadInput(f"{name} contains a NUL character")

    def statuses(self) -> tuple[str, ...]:
        if self.status == "active":
            return ACTIVE_STATUSES
        if self.status == "finished":
            return CLOSED_STATUSES
        if self.status == "all":
            return (*ACTIVE_STATUSES, *CLOSED_STATUSES)
        return (self.status,)

    def as_query(self) -> dict[str, str]:
        """The filters as URL parameters (for links, polling and CSV export)."""
        out = {k: v for k, v in self.__dict__.items() if v not in (None, "", False) and k != "me"}
        return {k: ("1" if v is True else str(v)) for k, v in out.items()}


@dataclass
class QueueRow:
    """One case as the queue shows it."""

    id: int
    status: str
    team: str
    tier: str | None
    priority: float
    money_at_risk: float
    reasons: dict[str, Any]
    sla_due_at: datetime | None
    claimed_by: str | None
    claim_expires_at: datetime | None
    assignee: str | None
    created_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    post_id: int
    platform: str
    text: str
    lang: str | None
    url: str | None
    posted_at: datetime
    author_handle: str | None
    author_name: str | None
    followers: int | None
    customer_id: int | None
    customer_name: str | None
    currency: str
    sentiment: str | None = None
    p_negative: float | None = None


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    offset: int
    limit: int
    facets: dict[str, list[str]] = field(default_factory=dict)
    more_than_total: bool = False  # a search stopped counting at ``total`` (shown as "1,000+")

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.rows) < self.total


def _rows(session: Session, cases: Sequence[Case]) -> list[QueueRow]:
    """The page's cases with their post, author, customer and current score (``db.scores``): one joined
    query."""
    if not cases:
        return []
    statement = (
        sa_select(
            col(Post.id),
            col(Post.platform),
            col(Post.text),
            col(Post.lang),
            col(Post.url),
            col(Post.created_at),
            col(Author.handle),
            col(Author.display_name),
            col(Author.followers),
            col(Customer.name),
            col(Customer.currency),
            col(Score.label),
            col(Score.p_negative),
        )
        .select_from(Post)
        .join(Case, col(Case.post_id) == col(Post.id))
        .outerjoin(Author, col(Author.id) == col(Case.author_id))
        .outerjoin(Customer, col(Customer.id) == col(Case.customer_id))
        .outerjoin(Score, col(Score.id) == current_score_id(col(Post.id)))
        .where(col(Case.id).in_([c.id for c in cases]))
    )
    by_post = {values[0]: values for values in session.execute(statement).all()}
    rows = []
    for case in cases:
        assert case.id is not None
        (_, platform, text, lang, url, posted_at, handle, display_name, followers, customer_name,
         currency, label, p_negative) = by_post[case.post_id]  # fmt: skip
        if p_negative is None and isinstance(case.reasons.get("p_negative"), int | float):
            p_negative = float(case.reasons["p_negative"])
        rows.append(
            QueueRow(
                id=case.id,
                status=case.status,
                team=case.team,
                tier=case.tier,
                priority=case.priority,
                money_at_risk=case.money_at_risk,
                reasons=dict(case.reasons or {}),
                sla_due_at=case.sla_due_at,
                claimed_by=case.claimed_by,
                claim_expires_at=case.claim_expires_at,
                assignee=case.assignee,
                created_at=case.created_at,
                closed_at=case.closed_at,
                close_reason=case.close_reason,
                post_id=case.post_id,
                platform=case.platform or platform,
                text=text,
                lang=case.lang or lang,
                url=url,
                posted_at=posted_at,
                author_handle=handle,
                author_name=display_name,
                followers=followers,
                customer_id=case.customer_id,
                customer_name=customer_name,
                currency=currency or "USD",
                sentiment=label,
                p_negative=p_negative,
            )
        )
    return rows


def latest_scores(*, session: Session, post_ids: Sequence[int]) -> dict[int, Score]:
    """The score that counts for each post (an agent's correction, else the newest model's)."""
    return current_scores(session, post_ids)


def rows_for_cases(*, session: Session, cases: Sequence[Case]) -> list[QueueRow]:
    """Queue rows (with post, author, customer and sentiment) for the given cases, in order."""
    return _rows(session, cases)


def _query_args(filters: QueueFilters) -> dict[str, Any]:
    return {
        "team": filters.team,
        "status": filters.statuses(),
        "platform": filters.platform,
        "tier": filters.tier,
        "lang": filters.lang,
        "search": filters.q.strip() if filters.q and filters.q.strip() else None,
        "mine": filters.me if filters.assigned == "mine" else None,
        "unassigned": filters.assigned == "unassigned",
        "tag": filters.tag or None,
        "snoozed": "only" if filters.snoozed else "hide",
    }


def queue_page(*, session: Session, filters: QueueFilters, limit: int = 50, offset: int = 0) -> QueuePage:
    """One page of cases, highest priority first, through the queue's own listing."""
    args = _query_args(filters)
    cases = queue.list_cases(session, limit=limit, offset=offset, **args)
    rows = _rows(session, cases)
    cap = SEARCH_COUNT_CAP if args["search"] else None
    total = queue.count_cases(session, cap=cap, **args)
    capped = cap is not None and total > cap
    return QueuePage(rows=rows, total=min(total, cap) if cap is not None else total, offset=offset, limit=limit,
                     more_than_total=capped)  # fmt: skip


def iter_rows(*, session: Session, filters: QueueFilters, chunk: int = 500) -> Iterator[QueueRow]:
    """Every matching row (for CSV export), fetched in chunks so memory stays flat."""
    args = _query_args(filters)
    offset = 0
    while True:
        cases = queue.list_cases(session, limit=chunk, offset=offset, **args)
        yield from _rows(session, cases)
        if len(cases) < chunk:
            return
        offset += chunk


def facets(*, session: Session) -> dict[str, list[str]]:
    """Values offered by the filter dropdowns, from the cases (callers cache this: it scans)."""
    teams = session.exec(select(Case.team).distinct()).all()
    tiers = session.exec(select(Case.tier).where(col(Case.tier).is_not(None)).distinct()).all()
    by_post = select(Post.platform, Post.lang).join(Case, col(Case.post_id) == col(Post.id)).distinct()
    pairs = session.exec(by_post).all()
    return {
        "team": sorted(t for t in teams if t),
        "tier": sorted(t for t in tiers if t),
        "platform": sorted({p for p, _ in pairs if p}),
        "lang": sorted({lang for _, lang in pairs if lang})[:60],
        "status": list(STATUS_CHOICES),
    }
