"""A PDF of the report with matplotlib's PdfPages: the headline, the charts and the key tables."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.image as mpimg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from engagement.money import Money
from engagement.report import format as fmt
from engagement.report.charts import Chart
from engagement.report.headline import Headline
from engagement.report.tables import Table

A4 = (8.27, 11.69)
PDF_TABLES = (
    "top_unanswered",
    "revenue_at_risk",
    "response_by_tier",
    "response_by_team",
    "volume_by_platform",
    "volume_by_tier",
    "sentiment_vs_value",
    "negative_high_value",
    "complaint_terms",
    "coverage",
)
MAX_ROWS = 15
ROW = 0.019  # height of one table row, as a fraction of the page
LEFT, WIDTH, TOP, BOTTOM = 0.05, 0.9, 0.95, 0.04
LEAVE_OUT = ("text", "last_error", "crm_id")


def _page() -> Figure:
    return Figure(figsize=A4)


def _text(figure: Figure, x: float, y: float, text: str, **style: object) -> None:
    """Text as written: ``$`` is money here, not matplotlib's math mode."""
    figure.text(x, y, text, parse_math=False, va="top", **style)  # type: ignore[arg-type]


def _table_height(table: Table) -> float:
    rows = min(len(table.rows), MAX_ROWS) + 1 if table.rows else 1
    return 0.03 + rows * ROW + (0.03 if table.note else 0.0) + 0.02


def _draw_table(figure: Figure, table: Table, top: float, currency: Money) -> None:
    """One table (title, cells, note) whose top edge is at ``top``."""
    _text(figure, LEFT, top, table.title, fontsize=11, weight="bold")
    y = top - 0.028
    if not table.rows:
        _text(figure, LEFT, y, table.empty, fontsize=8.5, style="italic", color="#555555")
        y -= ROW
    else:
        columns = [c for c in table.columns if c.key not in LEAVE_OUT]
        shown = table.rows[:MAX_ROWS]
        cells = [
            [fmt.cell(row.get(c.key), "text" if c.kind == "link" else c.kind, currency)[:26] for c in columns]
            for row in shown
        ]
        height = (len(shown) + 1) * ROW
        ax = figure.add_axes((LEFT, y - height, WIDTH, height))
        ax.axis("off")
        drawn = ax.table(cellText=cells, colLabels=[c.label for c in columns], loc="upper center", cellLoc="left")
        drawn.auto_set_font_size(False)
        drawn.set_fontsize(6.5)
        for (row, _col), cell in drawn.get_celld().items():
            cell.get_text().set_parse_math(False)
            cell.set_height(1.0 / (len(shown) + 1))
            cell.set_edgecolor("#dddddd")
            if row == 0:
                cell.set_facecolor("#f1efe9")
        y -= height
    if table.note:
        _text(figure, LEFT, y - 0.006, textwrap.fill(table.note, 165), fontsize=5.5, color="#555555")


def _first_page(figure: Figure, headline: Headline, story: Sequence[str], charts: Mapping[str, Chart]) -> None:
    _text(figure, 0.06, 0.965, f"Weekly sentiment-to-CLV report {headline.week}", fontsize=16, weight="bold")
    span = headline.span + (" (week not over yet)" if headline.partial else "")
    _text(figure, 0.06, 0.937, span, fontsize=10, color="#555555")
    y = 0.91
    for line in story:
        wrapped = textwrap.fill(line, 105)
        _text(figure, 0.06, y, wrapped, fontsize=9.5)
        y -= 0.018 * (wrapped.count("\n") + 1) + 0.006
    shown = [charts[key] for key in ("trend", "risk", "response") if key in charts]
    height = (y - 0.03) / max(1, len(shown))
    for index, chart in enumerate(shown):
        ax = figure.add_axes((0.05, y - (index + 1) * height, 0.9, height * 0.96))
        ax.imshow(mpimg.imread(io.BytesIO(chart.png)))
        ax.axis("off")


def write_pdf(
    path: Path,
    *,
    headline: Headline,
    story: Sequence[str],
    charts: Mapping[str, Chart],
    tables: Mapping[str, Table],
    currency: Money,
) -> Path:
    """Write the PDF; the HTML stays the full report, this is the printable summary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Title": f"Weekly sentiment-to-CLV report {headline.week}", "Creator": "engagebot"}
    with PdfPages(path, metadata=metadata) as pdf:
        figure = _page()
        _first_page(figure, headline, story, charts)
        pdf.savefig(figure)
        figure, top = _page(), TOP
        for key in PDF_TABLES:
            if key not in tables:
                continue
            height = _table_height(tables[key])
            if top - height < BOTTOM and top < TOP:
                pdf.savefig(figure)
                figure, top = _page(), TOP
            _draw_table(figure, tables[key], top, currency)
            top -= height
        pdf.savefig(figure)
    return path
