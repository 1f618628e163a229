"""CLI commands: ``run`` (workers, the scheduler, the web app) and ``status`` (one screen)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import typer
from rich.table import Table

from engagebot.runtime import console, engine_for, friendly_errors, load_settings

log = logging.getLogger("engagebot.ops")


def run(
    no_web: bool = typer.Option(False, "--no-web", help="Run a worker only: scheduler and shared work, no web app."),
    once: bool = typer.Option(
        False, "--once", help="Run one cycle (collect, score, link/value, triage, notify) and exit."
    ),
) -> None:
    """Run engagebot: scheduled steps on the elected leader, shared work on every worker.

    Start as many workers as you like against PostgreSQL; exactly one schedules. Stops
    cleanly on Ctrl-C or SIGTERM, finishing (or releasing) the batch in progress. Waits for
    an unreachable database at start (ops.database_wait_seconds; unset: until it answers).

    Example: engagebot run --no-web
    """
    settings = load_settings()
    engine = engine_for(settings, wait=True)
    if once:
        from engagebot.ops.scheduler import JobQueue

        outcomes = JobQueue(settings, engine).run_once()
        table = Table(box=None, pad_edge=False)
        for column in ("job", "status", "seconds", "counts / error"):
            table.add_column(column, no_wrap=True)
        room = max(console.width - 50, 20)
        for outcome in outcomes:
            table.add_row(
                outcome.job,
                "[green]ok[/]" if outcome.ok else "[red]failed[/]",
                f"{outcome.seconds:.1f}",
                _cut(outcome.error or _brief(outcome.counts), room),
            )
        console.print(table)
        raise typer.Exit(0 if all(o.ok for o in outcomes) else 1)

    from engagebot.commands.web import build_app
    from engagebot.ops.observability import HealthServer
    from engagebot.ops.worker import Worker

    worker = Worker(settings, engine)
    worker.install_signal_handlers()
    servers: list[HealthServer] = []
    ops = settings.ops
    if no_web:
        if ops.metrics_port:
            token = ops.metrics_token.get_secret_value() if ops.metrics_token else None
            servers.append(
                HealthServer(engine, host=ops.metrics_host, port=ops.metrics_port, metrics_token=token).start()
            )
            log.info(
                "health and metrics on http://%s:%d (/healthz /readyz /metrics)",
                ops.metrics_host,
                ops.metrics_port,
            )
    else:
        servers.append(
            HealthServer(engine, host=ops.web_host, port=ops.web_port, app=build_app(settings, engine)).start()
        )
        log.info("web app on http://%s:%d", ops.web_host, ops.web_port)
    try:
        code = worker.run()
    finally:
        for server in servers:
            server.stop()
    raise typer.Exit(code)


#: ``status`` fits a 100-column terminal; everything it leaves out is in ``status --json``
STATUS_WIDTH = 100


def _brief(counts: dict[str, Any]) -> str:
    return _cut(json.dumps(counts, default=str, separators=(",", ":")), 90)


def _cut(text: str, width: int) -> str:
    """One line of at most ``width`` characters (status fits one screen)."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _age(seconds: float) -> str:
    """``42s``, ``7m``, ``3h``: how long the oldest item of a lane has waited."""
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


def _when(value: datetime | None) -> str:
    return value.strftime("%m-%d %H:%M:%S") if value else "-"


@friendly_errors
def status(as_json: bool = typer.Option(False, "--json", help="Print the status as JSON.")) -> None:
    """Show the last run of every job, recent errors, the leader and the backlogs, in one screen.

    Example: engagebot status --json
    """
    from db.engine import session_scope
    from engagebot.opsdata import collect_credentials, status_report
    from engagement.queue.answerable import replies_status, replies_status_lines

    settings = load_settings()
    engine = engine_for(settings)
    report = status_report(engine)
    # Whether replies reach the platforms is settings, not database state: added here (issue 25).
    report["replies"] = replies_status(settings.engagement.replies)
    platform_of = {s.name: (s.file_platform if s.platform == "file" else s.platform) for s in settings.listener.sources}
    with session_scope(engine) as session:
        report["credentials"] = collect_credentials(session, platform_of)
    if as_json:
        console.print_json(json.dumps(report, default=str))
        return
    width = min(console.width, STATUS_WIDTH)
    backlog = report["backlog"]
    leaders = ", ".join(f"{x['holder']} (until {_when(x['expires_at'])})" for x in report["leader"]) or "none"
    console.print(_cut(f"engagebot status at {_when(report['time'])} UTC   leader: {leaders}", width),
                  highlight=False, markup=False)  # fmt: skip
    tiers = ", ".join(f"{k} {v}" for k, v in sorted(backlog["open_cases_by_tier"].items())) or "-"
    lines = (
        f"posts {backlog['posts']}   unscored {backlog['unscored_posts']}   open cases {backlog['open_cases']} "
        f"({tiers})   SLA breaches {backlog['sla_breaches']}",
        f"outbox pending {backlog['outbox_pending']} failed {backlog['outbox_failed']}   "
        f"quarantined {backlog['quarantined_records']}   (details: engagebot status --json)",
    )
    lanes = "; ".join(
        f"{lane['lane']} {lane['waiting']} waiting"
        + (f", oldest {_age(lane['oldest_seconds'])}" if lane["oldest_seconds"] is not None else "")
        for lane in report["lanes"]
    )
    collecting = [
        # the setting first: a narrow terminal cuts the end of the line, never the fix
        f"collecting from {platform} fails: set {found['setting']} (source {found['source']}: {found['problem']})"
        for platform, problems in sorted(report["credentials"].items())
        for found in problems
    ]
    for line in (*lines, f"lanes: {lanes}", *collecting, *replies_status_lines(report["replies"])):
        console.print(_cut(line, width), highlight=False, markup=False)
    table = Table(title="last run of every job", title_justify="left", box=None, pad_edge=False, width=width)
    for column in ("job", "source", "status", "started", "secs"):
        table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=18 if column == "source" else None)
    table.add_column("counts / error", no_wrap=True, overflow="ellipsis", ratio=1)
    for run in report["jobs"]:
        colour = {"ok": "green", "failed": "red", "died": "red"}.get(run["status"], "yellow")
        table.add_row(
            run["job"],
            run["source"] or "",
            f"[{colour}]{run['status']}[/]",
            _when(run["started_at"]),
            f"{run['seconds']:.1f}" if run["seconds"] is not None else "-",
            _cut(run["error"] or _brief(run["counts"]), width),
        )
    console.print(table, width=width)
    if report["errors"]:
        console.print("[bold red]recent errors[/]")
        for run in report["errors"]:
            source = f" [{run['source']}]" if run["source"] else ""
            line = f"  {_when(run['started_at'])} {run['job']}{source}: {run['error']}"
            console.print(_cut(line, width), highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("run")(friendly_errors(run))
    app.command("status")(status)
