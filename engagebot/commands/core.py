"""CLI commands: init (create/migrate the database) and demo (one full cycle on bundled data)."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from engagebot.runtime import console, engine_for, friendly_errors, load_settings


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("init")(init)
    app.command("demo")(demo)


@friendly_errors
def init() -> None:
    """Create the database if missing and migrate it to the newest schema.

    Example: DATABASE_URL=postgresql://engagebot@db/engagebot engagebot init
    """
    from db.migrate import current_revision

    settings = load_settings()
    engine = engine_for(settings)
    console.print(
        f"database ready: {engine.url.render_as_string(hide_password=True)} (schema {current_revision(engine)})"
    )


@friendly_errors
def demo(
    web: bool = typer.Option(True, "--web/--no-web", help="After the cycle, serve the web app until Ctrl-C."),
    host: str = typer.Option("127.0.0.1", help="Web app host."),
    port: int = typer.Option(8000, help="Web app port."),
    top: int = typer.Option(10, help="How many cases of the reply queue to print."),
    language: str | None = typer.Option(
        None,
        "--language",
        help="The brand's language for the demo: 'de' writes Slack and the weekly report in German "
        "and shows the web app in German unless the browser asks for English.",
    ),
) -> None:
    """Run one full cycle on the bundled Skylark Air demo data (no network, no credentials).

    Imports the demo CRM, collects the bundled X / Reddit / App Store / Google Play payloads,
    scores every post, links authors to customers, fits CLV, triages, queues Slack messages
    (to a local file) and writes the weekly report; then prints the top of the reply queue.
    Re-running it changes nothing.

    Example: engagebot demo --no-web
    """
    from engagebot.config import config_file
    from engagebot.demo import demo_settings, run_demo, write_demo_config

    user_settings = load_settings()
    if write_demo_config(user_settings, config_file()):
        console.print(
            f"wrote {config_file()} with the demo's routing rules, brand handles and Slack sink, "
            "so `engagebot run`, `triage` and `web` keep routing the demo's cases the same way"
        )
    settings = demo_settings(user_settings, language=language)
    engine = engine_for(settings)
    console.print(f"[bold]engagebot demo[/] on {engine.url.render_as_string(hide_password=True)}")
    result = run_demo(settings, engine)
    console.print(f"demo clock: recorded data shifted by {result.time_shift} so its newest post is 30 minutes old")
    for step in result.steps:
        console.print(f"[green]✓[/] [bold]{step.step}[/]: {_summary(step.counts)}")
    print_queue(settings, engine, top=top)
    print_demo_setup(settings, host=host, port=port)
    if web:
        serve_demo(settings, engine, host=host, port=port)


def print_demo_setup(settings: Any, *, host: str, port: int) -> None:
    """The demo's people (with their sign-ins) and its routing rules, then what to try."""
    from engagebot.demo import DEMO_USERS

    people = Table(title=f"Sign in at http://{host}:{port}/login as", title_justify="left")
    for column in ("email", "password", "role", "team", "name"):
        people.add_column(column, no_wrap=True)
    for person in DEMO_USERS:
        people.add_row(person.email, person.password, person.role, person.team, person.name)
    console.print(people)
    routing = settings.engagement.routing
    rules = "; ".join(f"{r.name} -> {r.team}" for r in routing.rules) or "none"
    console.print(f"routing rules: {rules}; anything else -> {routing.default_team}", highlight=False)
    console.print(
        'try: engagebot rules test "Ich wurde doppelt belastet" --lang de --demo   '
        "engagebot queue list --mine ana@skylark.example --status active",
        highlight=False,
    )


def serve_demo(settings: Any, engine: Any, *, host: str, port: int) -> None:
    """Serve the web app on the demo database and say how to sign in."""
    import uvicorn

    from engagebot.commands.web import build_app
    from engagebot.demo import ensure_demo_user

    email, password = ensure_demo_user(engine)
    app = build_app(settings, engine)
    console.print(
        f"\n[bold]Reply queue:[/] http://{host}:{port}/login  (lead: {email} / {password}; the others above; "
        "Ctrl-C stops)",
        highlight=False,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _summary(counts: dict[str, Any]) -> str:
    parts = []
    for key, value in counts.items():
        if isinstance(value, dict):
            parts.append(f"{key} ({_summary(value)})")
        elif value is not None:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


def print_queue(settings: Any, engine: Any, *, top: int) -> None:
    """The reply queue's top cases, then why the first ones are first."""
    from db.engine import session_scope
    from db.types import utcnow
    from engagement.money import Money, explain
    from engagement.queue import case_detail, list_cases

    money = Money.from_settings(settings.engagement.money)
    now = utcnow()
    with session_scope(engine) as session:
        details = [case_detail(session, case.id) for case in list_cases(session, limit=top) if case.id is not None]
    table = Table(title=f"Reply queue: top {len(details)} open cases by money at risk", title_justify="left")
    for column, justify in (
        ("#", "right"),
        ("case", "right"),
        ("platform", "left"),
        ("who", "left"),
        ("tier", "left"),
        ("at risk", "right"),
        ("P(neg)", "right"),
        ("SLA", "left"),
        ("post", "left"),
    ):
        table.add_column(column, justify=justify, overflow="ellipsis", no_wrap=column != "post")  # type: ignore[arg-type]
    for rank, case in enumerate(details, 1):
        reasons = case.get("reasons") or {}
        first = (case.get("posts") or [{}])[0]
        who = str(case["why"]).split(" (", 1)[0] if case.get("customer_id") else "(unlinked author)"
        table.add_row(
            str(rank),
            str(case["id"]),
            str(case.get("platform") or ""),
            who,
            str(case.get("tier") or ""),
            money(case["money_at_risk"]),
            f"{float(reasons.get('p_negative', 0)):.2f}",
            _sla(case.get("sla_due_at"), now),
            str(first.get("text", ""))[:70],
        )
    # Piped or logged output has no terminal width (rich assumes 80, which squeezes every column
    # to "ca…"): give it room for the whole row, as README's excerpt shows it.
    width = console.width
    if not console.is_terminal:
        console.width = max(width, 160)
    try:
        console.print(table)
    finally:
        console.width = width
    for rank, case in enumerate(details[:3], 1):
        reasons = case.get("reasons") or {}
        who = str(case["why"]).split(" (", 1)[0] if case.get("customer_id") else "an unlinked author"
        why = explain(reasons, money, who=who, tier=case.get("tier")) or str(case["why"])
        console.print(f"  why #{rank}: {why}", highlight=False, markup=False)


def _sla(due: str | None, now: Any) -> str:
    from datetime import datetime

    if not due:
        return ""
    minutes = int((datetime.fromisoformat(due) - now).total_seconds() // 60)
    if minutes < 0:
        return f"overdue {abs(minutes) // 60}h{abs(minutes) % 60:02d}"
    return f"due in {minutes // 60}h{minutes % 60:02d}"
