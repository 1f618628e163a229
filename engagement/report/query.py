"""Read the rows of one weekly report from the database (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from db.models import (
    Author,
    Case,
    Customer,
    JobRun,
    Post,
    QuarantinedRecord,
    Reply,
    Score,
)
from db.scores import current_score_id
from db.vocab import ReplyStatus
from engagement.customers.identities import customer_links
from engagement.customers.tiers import STANDARD, UNLINKED, customer_value, tier_cutoffs, tier_for
from engagement.report.rows import (
    NEGATIVE,
    CaseRow,
    CustomerRow,
    JobRow,
    PostRow,
    QuarantineRow,
    ReportData,
    TextRow,
)
from engagement.report.untriaged import load_untriaged
from engagement.report.weeks import Week
from engagement.settings import EngagementSettings

_CHUNK = 500
#: Replies that count as answers when ``report.count_dry_run_replies`` is on: sent, and the
#: ``dry_run`` rows older builds wrote (so a trial's history keeps its answer times). Newer
#: unposted replies are ``not_sent`` and never count; with the setting off only ``sent`` does.
ANSWERED_REPLY_STATUSES = (ReplyStatus.SENT, ReplyStatus.DRY_RUN)


def tier_names(fractions: Mapping[str, float]) -> list[str]:
    """Tiers best first, as every table lists them."""
    return [*fractions, STANDARD, UNLINKED]


def newest_post_time(*, session: Session, before: datetime | None = None) -> datetime | None:
    """When the newest customer post (written before ``before``, if given) was written."""
    statement = select(func.max(col(Post.created_at))).where(col(Post.is_brand).is_(False))
    if before is not None:
        statement = statement.where(col(Post.created_at) < before)
    value: datetime | None = session.scalar(statement)
    return value


def _author_links() -> Any:
    """Subquery: author id -> the customer behind that author (the one rule,
    ``engagement.customers.identities.customer_links``)."""
    return customer_links()


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for offset in range(0, len(ordered), _CHUNK):
        yield ordered[offset : offset + _CHUNK]


def load_customers(ids: Iterable[int], *, session: Session, fractions: Mapping[str, float]) -> dict[int, CustomerRow]:
    """The customers with these ids, each with their value tier of today."""
    cutoffs = tier_cutoffs(session=session, fractions=fractions)
    customers: dict[int, CustomerRow] = {}
    for chunk in _chunks(ids):
        for row in session.scalars(select(Customer).where(col(Customer.id).in_(chunk))).all():
            assert row.id is not None
            tier = tier_for(customer_value(row.rclv, row.clv), cutoffs, linked=True)
            customers[row.id] = CustomerRow(
                id=row.id,
                name=row.name,
                crm_id=row.crm_id,
                clv=row.clv,
                rclv=row.rclv,
                p_alive=row.p_alive,
                tier=tier,
            )
    return customers


def newest_labels(start: datetime, end: datetime, *, session: Session) -> dict[int, str]:
    """Post id -> the label that counts, for posts written in [start, end).

    The one rule (``db.scores.current_score_id``): an agent's correction, else the newest model
    score.
    """
    statement = (
        select(col(Score.post_id), col(Score.label))
        .join(Post, col(Post.id) == col(Score.post_id))
        .where(
            col(Post.created_at) >= start,
            col(Post.created_at) < end,
            col(Score.id) == current_score_id(col(Post.id)),
        )
    )
    return {int(post_id): str(label) for post_id, label in session.execute(statement).all()}


def author_customers(*, session: Session) -> dict[int, int]:
    """Author id -> the confirmed customer of that account (see ``_author_links``)."""
    links = _author_links()
    return {author: customer for author, customer in session.execute(select(links)).all()}


def load_posts(start: datetime, end: datetime, *, session: Session, labels: Mapping[int, str]) -> list[PostRow]:
    """Customer posts written in [start, end) with their newest label and customer (no tier yet)."""
    customers = author_customers(session=session)
    statement = (
        select(
            col(Post.id),
            col(Post.platform),
            col(Post.source),
            col(Post.created_at),
            col(Post.author_id),
        )
        .where(col(Post.created_at) >= start, col(Post.created_at) < end, col(Post.is_brand).is_(False))
        .order_by(col(Post.created_at), col(Post.id))
    )
    return [
        PostRow(
            id=post_id,
            platform=platform,
            source=source,
            created_at=created_at,
            label=labels.get(post_id),
            customer_id=customers.get(author_id) if author_id is not None else None,
        )
        for post_id, platform, source, created_at, author_id in session.execute(statement).all()
    ]


def load_texts(post_ids: Iterable[int], *, session: Session) -> list[TextRow]:
    """Texts (title and body) of these posts."""
    rows: list[TextRow] = []
    for chunk in _chunks(post_ids):
        statement = select(col(Post.id), col(Post.created_at), col(Post.title), col(Post.text)).where(
            col(Post.id).in_(chunk)
        )
        rows += [
            TextRow(post_id=r[0], created_at=r[1], text=f"{r[2]}\n{r[3]}" if r[2] else r[3])
            for r in session.execute(statement).all()
        ]
    return rows


def load_cases(start: datetime, end: datetime, *, session: Session, count_dry_runs: bool) -> list[CaseRow]:
    """Cases opened by posts written in [start, end), with their first response time."""
    statuses = ANSWERED_REPLY_STATUSES if count_dry_runs else (ReplyStatus.SENT,)
    first_reply = (
        select(col(Reply.case_id).label("case_id"), func.min(col(Reply.sent_at)).label("sent_at"))
        .where(col(Reply.sent_at).is_not(None), col(Reply.status).in_(statuses))
        .group_by(col(Reply.case_id))
        .subquery()
    )
    statement = (
        select(
            col(Case.id),
            col(Case.status),
            col(Case.team),
            col(Case.tier),
            col(Case.money_at_risk),
            col(Case.customer_id),
            col(Case.sla_due_at),
            col(Case.created_at),
            col(Case.closed_at),
            col(Post.created_at),
            col(Post.platform),
            col(Post.text),
            col(Post.url),
            col(Post.answered_at),
            col(Author.handle),
            first_reply.c.sent_at,
        )
        .join(Post, col(Post.id) == col(Case.post_id))
        .outerjoin(Author, col(Author.id) == col(Case.author_id))
        .outerjoin(first_reply, first_reply.c.case_id == col(Case.id))
        .where(col(Post.created_at) >= start, col(Post.created_at) < end)
        .order_by(col(Case.id))
    )
    rows: list[CaseRow] = []
    for row in session.execute(statement).all():
        (case_id, status, team, tier, money, customer_id, due, created, closed) = row[:9]
        posted_at, platform, text, url, answered_at, handle, sent_at = row[9:]
        responses = [moment for moment in (sent_at, answered_at) if moment is not None]
        rows.append(
            CaseRow(
                id=case_id,
                status=status,
                team=team,
                tier=tier or "",
                money_at_risk=float(money or 0.0),
                posted_at=posted_at,
                created_at=created,
                platform=platform,
                customer_id=customer_id,
                sla_due_at=due,
                first_response_at=min(responses) if responses else None,
                closed_at=closed,
                handle=handle,
                text=text,
                url=url,
            )
        )
    return rows


def brand_names(*, session: Session) -> list[str]:
    """Display names and handles of the brand's own accounts (left out of complaint terms)."""
    rows = session.execute(
        select(col(Author.display_name), col(Author.handle)).where(col(Author.is_brand).is_(True))
    ).all()
    return sorted({name for row in rows for name in row if name})


def load_jobs(start: datetime, end: datetime, *, session: Session) -> list[JobRow]:
    statement = (
        select(JobRun)
        .where(col(JobRun.started_at) >= start, col(JobRun.started_at) < end)
        .order_by(col(JobRun.started_at))
    )
    return [
        JobRow(job=r.job, source=r.source, status=r.status, error=r.error, started_at=r.started_at)
        for r in session.scalars(statement).all()
    ]


def load_quarantined(start: datetime, end: datetime, *, session: Session) -> list[QuarantineRow]:
    statement = select(QuarantinedRecord).where(
        col(QuarantinedRecord.created_at) >= start,
        col(QuarantinedRecord.created_at) < end,
    )
    return [
        QuarantineRow(source=r.source, error=r.error, created_at=r.created_at) for r in session.scalars(statement).all()
    ]


def load_report_data(
    *,
    session: Session,
    week: Week,
    trend_weeks: int,
    now: datetime,
    fractions: Mapping[str, float],
    settings: EngagementSettings | None = None,
    count_dry_runs: bool = True,
) -> ReportData:
    """All rows of one report: posts, cases and untriaged negative posts of the trend window,
    texts of this and last week."""
    settings = settings or EngagementSettings()
    trend = week.trend(trend_weeks)
    # "as of now": a report on the week so far (or a re-run of an old week) counts what existed
    start, end = trend[0].start, min(week.end, now)
    posts = load_posts(start, end, session=session, labels=newest_labels(start, end, session=session))
    cases = load_cases(start, end, session=session, count_dry_runs=count_dry_runs)
    untriaged = load_untriaged(
        start, end, session=session, settings=settings, cutoffs=tier_cutoffs(session=session, fractions=fractions)
    )
    customer_ids = {p.customer_id for p in posts if p.customer_id is not None}
    customer_ids |= {c.customer_id for c in cases if c.customer_id is not None}
    customer_ids |= {u.customer_id for u in untriaged if u.customer_id is not None}
    customers = load_customers(customer_ids, session=session, fractions=fractions)

    def tier_of(customer_id: int | None) -> str:
        customer = customers.get(customer_id) if customer_id is not None else None
        return customer.tier if customer is not None else UNLINKED

    for post in posts:
        post.tier = tier_of(post.customer_id)
    for case in cases:
        case.tier = case.tier or tier_of(case.customer_id)
    text_weeks = (week.previous(), week)
    negative = [p.id for p in posts if p.label == NEGATIVE and any(w.contains(p.created_at) for w in text_weeks)]
    return ReportData(
        week=week,
        trend=trend,
        now=now,
        posts=posts,
        customers=customers,
        cases=cases,
        texts=load_texts(negative, session=session),
        jobs=load_jobs(min(week.start, end), end, session=session),
        quarantined=load_quarantined(min(week.start, end), end, session=session),
        tiers=tier_names(fractions),
        brand_names=brand_names(session=session),
        untriaged=untriaged,
    )
