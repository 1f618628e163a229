"""Plain rows the report's figures are computed from (no database here, so tests build them)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from db.vocab import SENTIMENT_LABELS, SentimentLabel
from engagement.report.weeks import Week

_Row = TypeVar("_Row")
NEGATIVE: str = SentimentLabel.NEGATIVE.value
NEUTRAL: str = SentimentLabel.NEUTRAL.value
POSITIVE: str = SentimentLabel.POSITIVE.value
UNSUPPORTED = "unsupported_language"
LABELS = SENTIMENT_LABELS


@dataclass(slots=True)
class PostRow:
    """A post (not the brand's own) with its newest sentiment label and linked customer."""

    id: int
    platform: str
    source: str
    created_at: datetime
    label: str | None
    customer_id: int | None = None
    tier: str = "unlinked"


@dataclass(frozen=True)
class TextRow:
    """The text of a negative post, for the complaint terms."""

    post_id: int
    created_at: datetime
    text: str


@dataclass(frozen=True)
class CustomerRow:
    """A linked customer's value as the CRM/CLV step left it."""

    id: int
    name: str | None
    crm_id: str
    clv: float | None
    rclv: float | None
    p_alive: float | None
    tier: str


@dataclass(slots=True)
class CaseRow:
    """A case with its opening post's time and first response (our reply or a brand reply)."""

    id: int
    status: str
    team: str
    tier: str
    money_at_risk: float
    posted_at: datetime
    created_at: datetime
    platform: str
    customer_id: int | None = None
    sla_due_at: datetime | None = None
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    handle: str | None = None
    text: str = ""
    url: str | None = None


@dataclass(frozen=True)
class UntriagedRow:
    """A negative, unanswered-at-triage post (one per author and thread) that no case was opened
    for: it was older than the triage window when engagebot saw it, or written before engagebot
    ran (a backfill). Its money is priced with triage's own rule (``triage.priority.assess``)."""

    post_id: int
    posted_at: datetime
    platform: str
    tier: str
    money_at_risk: float
    customer_id: int | None = None
    handle: str | None = None
    answered_at: datetime | None = None
    text: str = ""
    url: str | None = None
    before_engagebot: bool = False


@dataclass(frozen=True)
class JobRow:
    """One step run (collect, score, ...) for coverage."""

    job: str
    source: str | None
    status: str
    error: str | None
    started_at: datetime


@dataclass(frozen=True)
class QuarantineRow:
    """A record a source could not parse."""

    source: str
    error: str
    created_at: datetime


@dataclass
class ReportData:
    """Everything one weekly report reads: the week, its trend weeks and the rows."""

    week: Week
    trend: list[Week]
    now: datetime
    posts: list[PostRow]
    customers: dict[int, CustomerRow]
    cases: list[CaseRow]
    texts: list[TextRow]
    jobs: list[JobRow]
    quarantined: list[QuarantineRow]
    tiers: list[str]
    brand_names: list[str] = field(default_factory=list)
    untriaged: list[UntriagedRow] = field(default_factory=list)
    _posts_by_week: dict[str, list[PostRow]] | None = field(default=None, repr=False)
    _cases_by_week: dict[str, list[CaseRow]] | None = field(default=None, repr=False)

    @property
    def partial(self) -> bool:
        """True when the week has not ended yet at ``now``."""
        return self.now < self.week.end

    def posts_in(self, week: Week) -> list[PostRow]:
        """Posts written in ``week`` (bucketed once: the figures ask for each week many times)."""
        if self._posts_by_week is None:
            self._posts_by_week = self._bucket(self.posts, lambda post: post.created_at)
        if week.label in self._posts_by_week:
            return self._posts_by_week[week.label]
        return [post for post in self.posts if week.contains(post.created_at)]

    def cases_in(self, week: Week) -> list[CaseRow]:
        """Cases opened by posts written in ``week``."""
        if self._cases_by_week is None:
            self._cases_by_week = self._bucket(self.cases, lambda case: case.posted_at)
        if week.label in self._cases_by_week:
            return self._cases_by_week[week.label]
        return [case for case in self.cases if week.contains(case.posted_at)]

    def untriaged_in(self, week: Week) -> list[UntriagedRow]:
        """Negative posts of ``week`` that no case was opened for."""
        return [row for row in self.untriaged if week.contains(row.posted_at)]

    def _bucket(self, rows: Sequence[_Row], moment: Callable[[_Row], datetime]) -> dict[str, list[_Row]]:
        starts = [week.start for week in self.trend]
        buckets: dict[str, list[_Row]] = {week.label: [] for week in self.trend}
        for row in rows:
            index = bisect_right(starts, moment(row)) - 1
            if index >= 0 and self.trend[index].contains(moment(row)):
                buckets[self.trend[index].label].append(row)
        return buckets
