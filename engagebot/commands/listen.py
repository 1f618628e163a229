"""CLI commands: ``collect`` (run the configured sources), ``import-posts`` (backfill files)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engagebot.runtime import console, engine_for, friendly_errors, load_settings

PLATFORM_HELP = "x | reddit | appstore | googleplay | facebook | instagram | csv | jsonl"


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise ValueError(f"--map expects COLUMN=FIELD, got {item!r}")
        mapping[column.strip()] = target.strip()
    return mapping


@friendly_errors
def import_posts(
    files: list[Path] = typer.Argument(..., help="Files of raw API bodies (JSON, JSONL) or CSV/JSONL exports."),
    platform: str = typer.Option(..., "--platform", "-p", help=PLATFORM_HELP),
    source: str | None = typer.Option(
        None, "--source", help="Source name stored on the posts (default import:PLATFORM)."
    ),
    column_map: list[str] = typer.Option(
        [],
        "--map",
        help="COLUMN=FIELD for CSV/JSONL (fields: text, created_at, external_id, author, rating, ...). Repeatable.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the counts and rejections as JSON."),
    backfill: bool = typer.Option(
        False,
        "--backfill",
        help="History: never announce these posts in Slack (triage still opens cases for the ones "
        "inside its window; the weekly report counts the rest as never triaged).",
    ),
) -> None:
    """Import posts from files: raw API responses or CSV/JSONL exports (backfill history).

    Runs the same parsers as live collection; duplicates are skipped and bad records
    (undecodable text, an oversized cell, a wrong type, a bad date or number) are quarantined
    with their file, line and reason while the rest of the file is stored (see ``engagebot
    status``). The encoding is detected (BOM, UTF-16, UTF-8; a cp1252 guess is a warning), an
    empty file is a warning, and text over ``listener.imports.max_text_chars`` is cut.

    Example: engagebot import-posts --platform x search_page1.json search_page2.json

    Example: engagebot import-posts -p csv reviews.csv --map Review=text --map Date=created_at

    Example: engagebot import-posts --backfill -p x last_quarter.jsonl
    """
    from listener.importer import import_files

    settings = load_settings()
    engine = engine_for(settings)
    mapping = _parse_map(column_map)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} records"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=as_json,
    ) as progress:
        task = progress.add_task(f"importing {len(files)} file(s)", total=None)
        done: dict[Path, int] = {}

        def on_progress(path: Path, records: int) -> None:
            done[path] = records
            progress.update(task, completed=sum(done.values()), description=f"importing {path.name}")

        result = import_files(
            engine,
            platform=platform,
            paths=files,
            source=source,
            brand_handles=settings.listener.brand_handles,
            column_map=mapping,
            on_progress=on_progress,
            limits=settings.listener.imports,
        )
    if backfill:
        from engagement.notify.backfill import record_backfill

        record_backfill(engine, source=source or f"import:{platform}")
    if as_json:
        typer.echo(json.dumps({**result.as_dict(), "backfill": backfill}, indent=2))
        return
    console.print(
        f"{result.files} file(s): [green]{result.added} added[/], "
        f"{result.duplicates} duplicates skipped, "
        f"[{'red' if result.rejected else 'green'}]{result.rejected} rejected[/]"
        + (f", {result.answered} marked answered" if result.answered else "")
    )
    if backfill:
        console.print("backfill: Slack will not announce these posts; triage opens cases only inside its window")
    for warning in result.warnings:
        console.print(f"[yellow]warning[/] {warning.file}: {warning.message}")
    if result.rejections:
        table = Table("file", "record", "why rejected", title="rejected (first 20; kept in quarantine)")
        for item in result.rejections[:20]:
            table.add_row(item.file, item.ref or "", item.error)
        console.print(table)


@friendly_errors
def collect(
    source: list[str] = typer.Option([], "--source", "-s", help="Run only this configured source (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print per-source results as JSON."),
) -> None:
    """Collect new posts from the configured sources (X, Reddit, App Store, Google Play, files).

    Each source runs in its own job; one failing never stops the others. Sources without
    credentials are reported as failed with the variable they need.

    Example: engagebot collect --source x-mentions
    """
    from listener.collect import collect as collect_sources

    settings = load_settings()
    engine = engine_for(settings)
    known = {s.name for s in settings.listener.sources}
    unknown = [name for name in source if name not in known]
    if unknown:
        raise ValueError(f"unknown source(s): {', '.join(unknown)} (configured: {', '.join(sorted(known)) or 'none'})")
    with console.status("collecting", spinner="dots") if not as_json else _null():
        results = collect_sources(engine, settings.listener, only=source or None)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in results], indent=2, default=str))
    else:
        table = Table("source", "platform", "added", "duplicates", "rejected", "pages", "status")
        for r in results:
            table.add_row(
                r.source,
                r.platform,
                str(r.added),
                str(r.duplicates),
                str(r.rejected),
                str(r.pages),
                "[green]ok[/]" if r.ok else f"[red]failed[/] {r.error}",
            )
        console.print(table if results else "no sources configured (see docs/sources.md)")
    if any(not r.ok for r in results):
        raise typer.Exit(1)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("import-posts")(import_posts)
    app.command("collect")(collect)
