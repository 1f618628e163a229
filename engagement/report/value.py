"""Sentiment vs value: who the unhappy customers are and what they are worth."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from engagement.i18n import N_
from engagement.i18n import gettext as _
from engagement.report.rows import NEGATIVE, NEUTRAL, POSITIVE, CustomerRow, PostRow, ReportData
from engagement.report.tables import Column, Table, mean, median
from engagement.report.weeks import Week

VALUE_NOTE = N_(  # translated where shown (weekly.html: |t)
    "A customer's sentiment for a week is the balance of their scored posts that week: more "
    "negative "
    "than positive posts is negative, more positive than negative is positive, else neutral."
)


def customer_sentiment(posts: Sequence[PostRow]) -> dict[int, str]:
    """Each linked customer's sentiment over these posts (positive minus negative posts)."""
    balance: dict[int, int] = defaultdict(int)
    seen: set[int] = set()
    for post in posts:
        if post.customer_id is None or post.label not in (NEGATIVE, NEUTRAL, POSITIVE):
            continue
        seen.add(post.customer_id)
        balance[post.customer_id] += {NEGATIVE: -1, NEUTRAL: 0, POSITIVE: 1}[post.label]
    return {cid: NEGATIVE if balance[cid] < 0 else POSITIVE if balance[cid] > 0 else NEUTRAL for cid in seen}


def sentiment_vs_value(data: ReportData) -> Table:
    """Average CLV/rCLV and P(alive) of this week's negative, neutral and positive customers."""
    sentiments = customer_sentiment(data.posts_in(data.week))
    rows = []
    for label in (NEGATIVE, NEUTRAL, POSITIVE):
        customers = [data.customers[cid] for cid, s in sentiments.items() if s == label and cid in data.customers]
        rclvs = [c.rclv for c in customers if c.rclv is not None]
        rows.append(
            {
                "group": label,
                "customers": len(customers),
                "avg_clv": mean(c.clv for c in customers),
                "avg_rclv": mean(rclvs),
                "median_rclv": median(rclvs),
                "avg_p_alive": mean(c.p_alive for c in customers),
            }
        )
    columns = [
        Column("group", _("Sentiment this week")),
        Column("customers", _("Customers"), "int"),
        Column("avg_clv", _("Average CLV"), "money"),
        Column("avg_rclv", _("Average rCLV"), "money"),
        Column("median_rclv", _("Median rCLV"), "money"),
        Column("avg_p_alive", _("Average P(alive)"), "share"),
    ]
    return Table(
        "sentiment_vs_value",
        _("Sentiment vs value of linked customers"),
        columns,
        rows if sentiments else [],
        note=VALUE_NOTE,
        empty=_("No post this week came from a customer we could link."),
    )


def _previous_sentiment(data: ReportData) -> dict[int, tuple[str, Week]]:
    """Each customer's sentiment in the latest earlier trend week in which they posted."""
    result: dict[int, tuple[str, Week]] = {}
    for week in data.trend[:-1]:  # oldest first: later weeks overwrite
        for cid, label in customer_sentiment(data.posts_in(week)).items():
            result[cid] = (label, week)
    return result


def _customer_cells(customer: CustomerRow) -> dict[str, object]:
    return {
        "customer": customer.name or customer.crm_id,
        "crm_id": customer.crm_id,
        "tier": customer.tier,
        "clv": customer.clv,
        "rclv": customer.rclv,
        "p_alive": customer.p_alive,
    }


def _negative_posts(posts: Sequence[PostRow]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for post in posts:
        if post.customer_id is not None and post.label == NEGATIVE:
            counts[post.customer_id] += 1
    return counts


def turned_negative(data: ReportData) -> Table:
    """Customers negative this week whose previous week with posts was neutral or positive."""
    posts = data.posts_in(data.week)
    now = customer_sentiment(posts)
    before = _previous_sentiment(data)
    negatives = _negative_posts(posts)
    rows = []
    for cid, label in now.items():
        if label != NEGATIVE or cid not in before or before[cid][0] == NEGATIVE or cid not in data.customers:
            continue
        previous, week = before[cid]
        rows.append(
            {
                **_customer_cells(data.customers[cid]),
                "before": f"{previous} ({week.label})",
                "negative_posts": negatives[cid],
            }
        )
    rows.sort(key=lambda r: (-(r["rclv"] or 0.0), str(r["crm_id"])))  # type: ignore[operator]
    columns = [
        Column("customer", _("Customer")),
        Column("tier", _("Tier")),
        Column("clv", _("CLV"), "money"),
        Column("rclv", _("rCLV"), "money"),
        Column("p_alive", _("P(alive)"), "share"),
        Column("before", _("Before")),
        Column("negative_posts", _("Negative posts"), "int"),
    ]
    return Table(
        "turned_negative",
        _("Customers who turned negative this week"),
        columns,
        rows,
        note="Negative this week after a neutral or positive week (looking back "
        f"{len(data.trend) - 1} weeks). " + VALUE_NOTE,
        empty=_("No customer turned negative this week."),
    )


def negative_high_value(data: ReportData, *, high_value_tiers: Sequence[str]) -> Table:
    """Negative high-value customers with their P(alive): who may already be leaving."""
    posts = data.posts_in(data.week)
    negatives = _negative_posts(posts)
    rows = [
        {**_customer_cells(data.customers[cid]), "negative_posts": negatives[cid]}
        for cid, label in customer_sentiment(posts).items()
        if label == NEGATIVE and cid in data.customers and data.customers[cid].tier in high_value_tiers
    ]
    rows.sort(key=lambda r: (-(r["rclv"] or 0.0), str(r["crm_id"])))  # type: ignore[operator]
    columns = [
        Column("customer", _("Customer")),
        Column("tier", _("Tier")),
        Column("clv", _("CLV"), "money"),
        Column("rclv", _("rCLV"), "money"),
        Column("p_alive", _("P(alive)"), "share"),
        Column("negative_posts", _("Negative posts"), "int"),
    ]
    average = mean(r["p_alive"] for r in rows)  # type: ignore[misc]
    note = _("P(alive): the BG/NBD probability that the customer still buys; low and negative: act now.")
    if average is not None:
        note = f"Average P(alive) {average:.0%}. " + note
    return Table(
        "negative_high_value",
        _("Negative high-value customers and their P(alive)"),
        columns,
        rows,
        note=note,
        empty=_("No high-value customer was negative this week."),
    )
