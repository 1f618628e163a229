"""A PDF of the report with matplotlib's PdfPages: the headline, the charts and the key tables."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.image as mpimg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

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
    "volume_by_tier",
    "complaint_terms",
    "coverage",
)
MAX_ROWS = 18


def _page() -> Figure:
    return Figure(figsize=A4)


def _table_page(pdf: PdfPages, table: Table, currency: str) -> None:
    figure = _page()
    ax = figure.add_axes((0.05, 0.05, 0.9, 0.85))
    ax.axis("off")
    figure.text(0.05, 0.95, table.title, fontsize=14, weight="bold")
    if not table.rows:
        figure.text(0.05, 0.9, table.empty, fontsize=10, style="italic")
    else:
        columns = [c for c in table.columns if c.key not in ("text", "last_error")]
        cells = [
            [
                fmt.cell(row.get(c.key), "text" if c.kind == "link" else c.kind, currency)[:28]
                for c in columns
            ]
            for row in table.rows[:MAX_ROWS]
        ]
        drawn = ax.table(
            cellText=cells, colLabels=[c.label for c in columns], loc="upper center", cellLoc="left"
        )
        drawn.auto_set_font_size(False)
        drawn.set_fontsize(7)
        drawn.scale(1, 1.4)
    if table.note:
        figure.text(0.05, 0.015, textwrap.fill(table.note, 150), fontsize=6.5, color="#555555")
    pdf.savefig(figure)  # type: ignore[no-untyped-call]


def write_pdf(
    path: Path,
    *,
    headline: Headline,
    story: Sequence[str],
    charts: Mapping[str, Chart],
    tables: Mapping[str, Table],
    currency: str,
) -> Path:
    """Write the PDF; the HTML stays the full report, this is the printable summary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with PdfPages(
        path,
        metadata={
            "Title": f"Weekly sentiment-to-CLV report {headline.week}",
            "Creator": "engagebot",
        },
    ) as pdf:
        figure = _page()
        figure.text(
            0.06,
            0.94,
            f"Weekly sentiment-to-CLV report {headline.week}",
            fontsize=16,
            weight="bold",
        )
        figure.text(
            0.06,
            0.915,
            headline.span + (" (week not over yet)" if headline.partial else ""),
            fontsize=10,
            color="#555555",
        )
        y = 0.87
        for line in story:
            wrapped = textwrap.fill(line, 110)
            figure.text(0.06, y, wrapped, fontsize=9.5, va="top")
            y -= 0.02 * (wrapped.count("\n") + 1) + 0.006
        charts_on_page = [charts[key] for key in ("trend", "risk", "response") if key in charts]
        height = (y - 0.04) / max(1, len(charts_on_page))
        for index, chart in enumerate(charts_on_page):
            ax = figure.add_axes((0.05, y - (index + 1) * height, 0.9, height * 0.95))
            ax.imshow(mpimg.imread(io.BytesIO(chart.png)))
            ax.axis("off")
        pdf.savefig(figure)
        for key in PDF_TABLES:
            if key in tables:
                _table_page(pdf, tables[key], currency)
    return path
