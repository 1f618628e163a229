"""Render the weekly report: one self-contained HTML file (charts inline) and a CSV per table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from engagement import i18n
from engagement.money import Money
from engagement.report import format as fmt
from engagement.report.charts import Chart
from engagement.report.headline import Headline
from engagement.report.tables import Table

NUMERIC = frozenset({"int", "share", "money", "hours", "float"})


def _environment(currency: Money) -> Environment:
    env = Environment(
        loader=PackageLoader("engagement.report", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # the report speaks the language active while it renders (``i18n.using``: the brand's)
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["cell"] = lambda value, kind: fmt.cell(value, kind, currency)
    env.filters["money"] = lambda value: fmt.money(value, currency)
    env.filters["pct"] = fmt.pct
    env.filters["t"] = lambda text: i18n.gettext(str(text)) if text else ""  # a word marked N_
    env.filters["pts"] = fmt.signed_pts
    env.filters["hours"] = fmt.hours
    env.filters["int_fmt"] = lambda value: f"{int(value):,}"
    return env


def render_html(
    *,
    headline: Headline,
    story: list[str],
    tables: Mapping[str, Table],
    charts: Mapping[str, Chart],
    currency: Money,
    generated: datetime,
    as_of: datetime,
    tz: str,
    trend_weeks: int,
    sources: Mapping[str, str] | None = None,
) -> str:
    """The whole report as one HTML document with its charts inline (``data:`` URIs).

    ``sources`` replaces the chart ``src`` values, e.g. ``cid:`` references for an email whose
    client does not show ``data:`` images (Gmail).
    """
    template = _environment(currency).get_template("weekly.html")
    return template.render(
        h=headline,
        story=story,
        t=tables,
        charts=charts,
        sources=sources or {key: chart.data_uri for key, chart in charts.items()},
        numeric=NUMERIC,
        generated=f"{generated:%Y-%m-%d %H:%M} UTC",
        as_of=f"{as_of:%Y-%m-%d %H:%M} UTC",
        tz=tz,
        trend_weeks=trend_weeks,
        csv_names=[f"{key}.csv" for key in tables],
        lang=i18n.current(),
    )


def write_csvs(tables: Mapping[str, Table], folder: Path, *, currency: str) -> dict[str, Path]:
    """One CSV per table, raw values (shares as fractions, money unformatted, with a currency
    column where there are amounts)."""
    return {key: table.write_csv(folder / f"{key}.csv", currency=currency) for key, table in tables.items()}
