"""CLI commands: ``report weekly`` (the weekly sentiment-to-CLV report)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from engagebot.runtime import console, engine_for, friendly_errors, load_settings

report_app = typer.Typer(help="Reports: the weekly sentiment-to-CLV report.", no_args_is_help=True)


@report_app.command("weekly")
@friendly_errors
def weekly_command(
    week: str | None = typer.Option(
        None,
        "--week",
        help="ISO week such as 2026-W47, 'current' (the week so far) or 'latest' (the week of "
        "the newest post). "
        "Default: the last complete week that has posts (the output says which).",
    ),
    out: Path | None = typer.Option(None, "--out", help="Folder to write into (default: <output_dir>/reports)."),
    no_slack: bool = typer.Option(False, "--no-slack", help="Do not queue the Slack summary."),
    as_json: bool = typer.Option(False, "--json", help="Print the key figures and file paths as JSON."),
) -> None:
    """Write the weekly report (HTML with charts, an email, CSVs, a PDF) and queue its Slack summary.

    The web app serves it at <public_url>/reports/<week>; the Slack summary links there.

    Example: engagebot report weekly --week 2026-W47 --out reports/
    """
    from engagement.money import Money
    from engagement.report.format import hours, pct
    from engagement.report.weekly import weekly_report_step

    settings = load_settings()
    engine = engine_for(settings)
    out_dir = out if out is not None else settings.output_dir / "reports"
    if as_json:
        report = weekly_report_step(engine, settings.engagement, out_dir=out_dir, week=week, enqueue_slack=not no_slack)
        typer.echo(json.dumps(report.as_json(), indent=2, default=str))
        return
    with console.status("building the weekly report"):
        report = weekly_report_step(engine, settings.engagement, out_dir=out_dir, week=week, enqueue_slack=not no_slack)
    h, money = report.headline, Money.from_settings(settings.engagement.money)
    console.print(f"[bold]Weekly report {h.week}[/] ({h.span}){' - week not over yet' if h.partial else ''}")
    console.print(f"  week: {report.week_reason}", highlight=False)
    console.print(
        f"  {h.posts:,} posts, {pct(h.negative_share)} negative; "
        f"{money(h.unanswered_money)} unanswered of {money(h.money_at_risk)} at risk "
        f"({money(h.never_triaged_money)} never triaged; {h.unanswered_high_value_cases} high-value posts waiting); "
        f"median first reply {hours(h.median_response_hours)}, {pct(h.sla_hit_rate)} within SLA",
        highlight=False,
    )
    console.print(f"  web:  {report.report_link}", highlight=False)
    console.print(f"  html: {report.html_path}", highlight=False)
    console.print(f"  eml:  {report.eml_path} (the same report as an email, charts inline)", highlight=False)
    if report.pdf_path:
        console.print(f"  pdf:  {report.pdf_path}", highlight=False)
    console.print(
        f"  csv:  {len(report.csv_paths)} tables in {report.html_path.parent / 'csv'}",
        highlight=False,
    )
    if report.outbox_id is not None:
        console.print(
            f"  slack summary queued (outbox {report.outbox_id}, key report:{report.week})",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(report_app, name="report")
