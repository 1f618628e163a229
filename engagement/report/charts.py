"""Charts as PNG bytes drawn with matplotlib's Agg canvas (no pyplot state, safe in threads)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from engagement.i18n import gettext as _
from engagement.money import Money
from engagement.report.format import money
from engagement.report.tables import Table

RED, GREY, GREEN, SAND, BLUE, INK = "#d1495b", "#b5b5b5", "#2e9e6b", "#e9e2d0", "#3d6fb6", "#333333"
NEVER = "#8c1c2b"  # never triaged: unanswered, and nobody was told
TIER_COLOURS = ["#7b2cbf", "#3d6fb6", "#2e9e6b", "#9a9a9a", "#e09f3e", "#d1495b"]
RESPONSE_BINS: list[tuple[float, float, str]] = [
    (0, 0.5, "<30 min"),
    (0.5, 1, "30-60 min"),
    (1, 2, "1-2 h"),
    (2, 4, "2-4 h"),
    (4, 8, "4-8 h"),
    (8, 24, "8-24 h"),
    (24, 48, "1-2 d"),
    (48, float("inf"), "> 2 d"),
]


@dataclass(frozen=True)
class Chart:
    """A rendered chart: what it shows (for alt text and captions) and its PNG bytes."""

    key: str
    title: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _figure(width: float = 7.5, height: float = 3.2) -> Figure:
    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _style(ax: object) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)  # type: ignore[attr-defined]
    ax.tick_params(colors=INK, labelsize=8)  # type: ignore[attr-defined]
    ax.grid(axis="y", color="#eeeeee", linewidth=0.8)  # type: ignore[attr-defined]
    ax.set_axisbelow(True)  # type: ignore[attr-defined]


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def _short_week(label: str) -> str:
    return label.split("-")[-1]


def trend_chart(trend: Table) -> Chart | None:
    """Weekly volume stacked by sentiment, with the negative share as a line."""
    if not any(row["posts"] for row in trend.rows):
        return None
    weeks = [_short_week(str(r["group"])) for r in trend.rows]
    figure = _figure()
    ax = figure.add_subplot()
    bottom = [0] * len(weeks)
    for key, colour, label in (
        ("negative", RED, _("negative")),
        ("neutral", GREY, _("neutral")),
        ("positive", GREEN, _("positive")),
        ("other", SAND, _("unscored / other language")),
    ):
        values = [int(r[key]) for r in trend.rows]
        ax.bar(weeks, values, bottom=bottom, color=colour, label=label, width=0.7)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel(_("posts"), fontsize=8, color=INK)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _style(ax)
    share_ax = ax.twinx()
    shares = [r["negative_share"] for r in trend.rows]
    share_ax.plot(
        weeks,
        [s if s is not None else float("nan") for s in shares],
        color=INK,
        marker="o",
        markersize=3,
        linewidth=1.5,
        label=_("negative share"),
    )
    share_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    share_ax.set_ylim(0, max([s for s in shares if s is not None] + [0.1]) * 1.25)
    share_ax.tick_params(labelsize=8, colors=INK)
    share_ax.spines["top"].set_visible(False)
    handles = ax.get_legend_handles_labels()[0] + share_ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left", ncols=5)
    ax.set_ylim(0, max(bottom) * 1.3)
    return Chart("trend", _("Posts per week by sentiment, and the negative share"), _png(figure))


def tier_trend_chart(table: Table, tiers: Sequence[str]) -> Chart | None:
    """Negative share of each tier, week by week."""
    if not any(row[f"{tier}_posts"] for row in table.rows for tier in tiers):
        return None
    weeks = [_short_week(str(r["group"])) for r in table.rows]
    positions = list(range(len(weeks)))
    figure = _figure(height=2.8)
    ax = figure.add_subplot()
    ax.set_xticks(positions, weeks)
    ax.set_xlim(-0.5, len(weeks) - 0.5)
    largest = max(max(int(r[f"{tier}_posts"]) for r in table.rows) for tier in tiers) or 1
    for tier, colour in zip(tiers, TIER_COLOURS, strict=False):
        values = [r[f"{tier}_negative_share"] for r in table.rows]
        if all(v is None for v in values):
            continue
        shares = [v if v is not None else float("nan") for v in values]
        ax.plot(positions, shares, color=colour, linewidth=1.2, alpha=0.7, label=_(tier))
        # a dot's area shows how many posts the share rests on: 1 post at 100 % is a small dot
        sizes = [8 + 140 * int(r[f"{tier}_posts"]) / largest for r in table.rows]
        ax.scatter(positions, shares, s=sizes, color=colour, zorder=3)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(-0.04, 1.06)
    ax.set_ylabel(_("negative share"), fontsize=8, color=INK)
    _style(ax)
    ax.legend(fontsize=7, frameon=False, ncols=len(tiers), loc="lower left", bbox_to_anchor=(0, 1.0))
    return Chart("tier_trend", _("Negative share by value tier, week by week (dot size: posts)"), _png(figure))


def risk_chart(table: Table, currency: Money) -> Chart | None:
    """Money at risk per tier: waiting, never triaged, answered and dismissed in one bar."""
    rows = [r for r in table.rows if r["group"] != "All" and r["money_at_risk"]]
    if not rows:
        return None
    tiers = [str(r["group"]) for r in rows][::-1]
    figure = _figure(height=0.42 * len(rows) + 0.9)
    ax = figure.add_subplot()
    left = [0.0] * len(tiers)
    for key, colour, label in (
        ("unanswered_triaged_money", RED, _("waiting")),
        ("never_triaged_money", NEVER, _("never triaged")),
        ("answered_money", GREEN, _("answered")),
        ("dismissed_money", GREY, _("dismissed")),
    ):
        values = [float(r[key]) for r in rows][::-1]
        ax.barh(tiers, values, left=left, color=colour, label=label, height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: money(x, currency)))
    _style(ax)
    ax.grid(axis="x", color="#eeeeee")
    ax.grid(axis="y", visible=False)
    ax.legend(fontsize=7, frameon=False, ncols=4, loc="lower right")
    return Chart("risk", _("Money at risk by tier: answered vs unanswered"), _png(figure))


def response_chart(hours_by_tier: dict[str, list[float]], tiers: Sequence[str]) -> Chart | None:
    """How long customers waited for a first reply, stacked by tier."""
    if not any(hours_by_tier.values()):
        return None
    labels = [label for _low, _high, label in RESPONSE_BINS]
    figure = _figure(height=2.8)
    ax = figure.add_subplot()
    bottom = [0] * len(labels)
    names = list(tiers) + sorted(set(hours_by_tier) - set(tiers))
    for tier, colour in zip(names, TIER_COLOURS * 2, strict=False):
        values = hours_by_tier.get(tier, [])
        if not values:
            continue
        counts = [sum(low <= v < high for v in values) for low, high, _label in RESPONSE_BINS]
        ax.bar(labels, counts, bottom=bottom, color=colour, label=_(tier), width=0.7)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_ylabel(_("cases"), fontsize=8, color=INK)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _style(ax)
    ax.legend(fontsize=7, frameon=False, ncols=len(names))
    return Chart("response", _("Time to first reply (cases answered this week)"), _png(figure))


def platform_chart(table: Table) -> Chart | None:
    """This week's posts per platform, stacked by sentiment."""
    rows = [r for r in table.rows if r["group"] != "All"]
    if not rows:
        return None
    names = [str(r["group"]) for r in rows]
    figure = _figure(width=4.2, height=2.8)
    ax = figure.add_subplot()
    bottom = [0] * len(names)
    for key, colour in (("negative", RED), ("neutral", GREY), ("positive", GREEN), ("other", SAND)):
        values = [int(r[key]) for r in rows]
        ax.bar(names, values, bottom=bottom, color=colour, label=_(key), width=0.65)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _style(ax)
    ax.legend(fontsize=7, frameon=False)
    return Chart("platforms", _("Posts by platform and sentiment"), _png(figure))


def value_chart(table: Table, currency: Money) -> Chart | None:
    """Average rCLV of negative, neutral and positive customers."""
    rows = [r for r in table.rows if r["customers"] and r["avg_rclv"] is not None]
    if not rows:
        return None
    colours = {"negative": RED, "neutral": GREY, "positive": GREEN}
    figure = _figure(width=4.2, height=2.8)
    ax = figure.add_subplot()
    names = [str(r["group"]) for r in rows]
    values = [float(r["avg_rclv"]) for r in rows]
    bars = ax.bar(names, values, color=[colours.get(n, BLUE) for n in names], width=0.6)
    ax.bar_label(
        bars,
        labels=[
            f"{money(v, currency)}\n" + _("%(num)s cust.") % {"num": r["customers"]}
            for v, r in zip(values, rows, strict=True)
        ],
        fontsize=7,
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: money(y, currency)))
    ax.set_ylim(0, max(values) * 1.3 if max(values) > 0 else 1)
    _style(ax)
    return Chart("value", _("Average rCLV by customer sentiment"), _png(figure))


def risk_trend_chart(table: Table, currency: Money) -> Chart | None:
    """Money at risk week by week (every negative post, the same measure each week): waiting,
    never triaged, answered and dismissed stacked."""
    if not any(row["money_at_risk"] for row in table.rows):
        return None
    weeks = [_short_week(str(r["group"])) for r in table.rows]
    figure = _figure(height=2.1)
    ax = figure.add_subplot()
    bottom = [0.0] * len(weeks)
    stacks = {
        _("waiting"): [float(r["unanswered_money"]) - float(r["never_triaged_money"]) for r in table.rows],
        _("never triaged"): [float(r["never_triaged_money"]) for r in table.rows],
        _("answered"): [float(r["answered_money"]) for r in table.rows],
        _("dismissed"): [float(r["dismissed_money"]) for r in table.rows],
    }
    for label, colour in (
        (_("waiting"), RED),
        (_("never triaged"), NEVER),
        (_("answered"), GREEN),
        (_("dismissed"), GREY),
    ):
        values = stacks[label]
        ax.bar(weeks, values, bottom=bottom, color=colour, label=label, width=0.7)
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: money(y, currency)))
    _style(ax)
    ax.legend(fontsize=7, frameon=False, ncols=4, loc="upper left")
    ax.set_ylim(0, max(bottom) * 1.25)
    return Chart("risk_trend", _("Money at risk per week: answered vs unanswered"), _png(figure))
