"""Volume and sentiment share by platform and tier, and their weekly trends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engagement.i18n import N_
from engagement.i18n import gettext as _
from engagement.report.rows import NEGATIVE, NEUTRAL, POSITIVE, PostRow, ReportData
from engagement.report.tables import Column, Table, share

SHARE_NOTE = N_(  # translated where shown (weekly.html: |t)
    "Shares are of the posts the model scored as negative, neutral or positive; posts in "
    "unsupported "
    "languages or not scored yet count in the volume only."
)


@dataclass(frozen=True)
class SentimentCounts:
    """How many posts of each label; shares over the posts with a sentiment."""

    posts: int
    negative: int
    neutral: int
    positive: int

    @property
    def scored(self) -> int:
        return self.negative + self.neutral + self.positive

    @property
    def other(self) -> int:
        """Unsupported language or not scored yet."""
        return self.posts - self.scored

    @property
    def negative_share(self) -> float | None:
        return share(self.negative, self.scored)

    @property
    def positive_share(self) -> float | None:
        return share(self.positive, self.scored)


def count_sentiment(posts: Sequence[PostRow]) -> SentimentCounts:
    labels = Counter(post.label for post in posts)
    return SentimentCounts(len(posts), labels[NEGATIVE], labels[NEUTRAL], labels[POSITIVE])


def _row(group: str, counts: SentimentCounts) -> dict[str, object]:
    return {
        "group": group,
        "posts": counts.posts,
        "negative": counts.negative,
        "neutral": counts.neutral,
        "positive": counts.positive,
        "other": counts.other,
        "negative_share": counts.negative_share,
        "positive_share": counts.positive_share,
    }


def _columns(first: str) -> list[Column]:
    return [
        Column("group", first),
        Column("posts", _("Posts"), "int"),
        Column("negative", _("Negative"), "int"),
        Column("neutral", _("Neutral"), "int"),
        Column("positive", _("Positive"), "int"),
        Column("other", _("Unscored / other language"), "int"),
        Column("negative_share", _("Negative share"), "share"),
        Column("positive_share", _("Positive share"), "share"),
    ]


def _grouped(
    posts: Sequence[PostRow],
    key: Callable[[PostRow], str],
    order: Sequence[str],
    *,
    keep_empty: bool,
) -> list[dict[str, object]]:
    groups: dict[str, list[PostRow]] = {name: [] for name in order}
    for post in posts:
        groups.setdefault(key(post), []).append(post)
    rows = [_row(name, count_sentiment(items)) for name, items in groups.items() if items or keep_empty]
    rows.append(_row("All", count_sentiment(posts)))
    return rows


def volume_by_platform(data: ReportData) -> Table:
    posts = data.posts_in(data.week)
    platforms = sorted(
        {p.platform for p in posts},
        key=lambda name: (-sum(p.platform == name for p in posts), name),
    )
    return Table(
        "volume_by_platform",
        _("Volume and sentiment by platform"),
        _columns(_("Platform")),
        _grouped(posts, lambda p: p.platform, platforms, keep_empty=False) if posts else [],
        note=SHARE_NOTE,
        empty=_("No posts were collected this week."),
    )


def volume_by_tier(data: ReportData) -> Table:
    posts = data.posts_in(data.week)
    return Table(
        "volume_by_tier",
        _("Volume and sentiment by customer value tier"),
        _columns(_("Tier")),
        _grouped(posts, lambda p: p.tier, data.tiers, keep_empty=True) if posts else [],
        note="Tiers rank linked customers by rCLV today (top 5 %, next 15 %, the rest); "
        "'unlinked' authors "
        "are not matched to a customer. " + SHARE_NOTE,
        empty=_("No posts were collected this week."),
    )


def weekly_trend(data: ReportData) -> Table:
    """One row a week: volume, labels, negative share and the share of posts linked to customers."""
    rows: list[dict[str, object]] = []
    for week in data.trend:
        posts = data.posts_in(week)
        counts = count_sentiment(posts)
        row = _row(week.label, counts)
        row["linked_share"] = share(sum(p.customer_id is not None for p in posts), len(posts))
        rows.append(row)
    columns = _columns(_("Week"))
    columns.append(Column("linked_share", _("Linked to customers"), "share"))
    return Table(
        "trend_weekly",
        f"Weekly trend, last {len(data.trend)} weeks",
        columns,
        rows,
        note=SHARE_NOTE,
    )


def tier_trend(data: ReportData) -> Table:
    """One row a week: posts and negative share of each value tier."""
    columns = [Column("group", _("Week"))]
    for tier in data.tiers:
        columns += [
            Column(f"{tier}_posts", f"{tier} posts", "int"),
            Column(f"{tier}_negative_share", f"{tier} negative", "share"),
        ]
    rows: list[dict[str, object]] = []
    for week in data.trend:
        posts = data.posts_in(week)
        row: dict[str, object] = {"group": week.label}
        for tier in data.tiers:
            counts = count_sentiment([p for p in posts if p.tier == tier])
            row[f"{tier}_posts"] = counts.posts
            row[f"{tier}_negative_share"] = counts.negative_share
        rows.append(row)
    return Table("trend_by_tier", _("Negative share by tier, week by week"), columns, rows, note=SHARE_NOTE)


def platform_trend(data: ReportData) -> Table:
    """One row a week: posts per platform (the platforms seen in the trend window)."""
    platforms = sorted({p.platform for p in data.posts})
    columns = [Column("group", _("Week")), *[Column(name, name, "int") for name in platforms]]
    rows: list[dict[str, object]] = []
    for week in data.trend:
        counter = Counter(p.platform for p in data.posts_in(week))
        rows.append({"group": week.label, **{name: counter[name] for name in platforms}})
    return Table("trend_by_platform", _("Posts per platform, week by week"), columns, rows)
