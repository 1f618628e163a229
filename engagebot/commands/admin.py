"""CLI commands for what admins also do in the app: teams, routing rules, brand, people, doctor.

The web app's admin pages and ``/api/admin/`` are the main way; these stay for scripts and
for a server with no browser at hand. They read and write the same database rows
(``engagement.settings_store``), so a rule set here routes the next post without a restart.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from engagebot.commands.web import users_app
from engagebot.runtime import console, engine_for, friendly_errors, load_settings

brand_app = typer.Typer(
    help="The brand profile: name ({brand} in replies), handles, currency, locale.", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="Print JSON.")


def _sources(settings: Any) -> list[dict[str, Any]]:
    return [{"name": s.name, "platform": s.platform} for s in settings.listener.sources]


@friendly_errors
def teams_command(as_json: bool = JSON) -> None:
    """List teams: agents, leads, routing rules, open cases, and a warning where nobody works.

    Example: engagebot teams
    """
    from db.engine import session_scope
    from engagement.settings_store import effective
    from engagement.teams import teams

    settings = load_settings()
    with session_scope(engine_for(settings)) as session:
        found = teams(session, effective(session, settings.engagement).routing)
    if as_json:
        typer.echo(json.dumps([t.as_dict() for t in found], indent=2))
        return
    table = Table("team", "agents", "leads", "rules", "open", title="Teams")
    for team in found:
        table.add_row(team.name, ", ".join(team.agents) or "-", ", ".join(team.leads) or "-",
                      ", ".join(team.rules) or "-", str(team.open_cases))  # fmt: skip
    console.print(table)
    for team in found:
        for warning in team.warnings:
            console.print(f"[yellow]warning[/] {warning}", highlight=False)


def rules_list_command(as_json: bool = JSON) -> None:
    """The routing rules in force (the database's, as edited in the app; else the TOML's).

    Example: engagebot rules list
    """
    from db.engine import session_scope
    from engagement.settings_store import ROUTING_RULES, effective, history, rules_value

    settings = load_settings()
    with session_scope(engine_for(settings)) as session:
        routing = effective(session, settings.engagement).routing
        changes = history(session, ROUTING_RULES, limit=5)
    if as_json:
        typer.echo(json.dumps({"rules": rules_value(routing.rules), "default_team": routing.default_team,
                               "history": changes}, indent=2))  # fmt: skip
        return
    for number, rule in enumerate(routing.rules, 1):
        conditions = rule.model_dump(exclude_defaults=True, exclude={"name", "team"})
        console.print(f"{number}. {rule.name} -> {rule.team}  {json.dumps(conditions)}", highlight=False, markup=False)
    console.print(f"anything else -> {routing.default_team}", highlight=False)


def rules_import_command(
    file: Path = typer.Argument(..., help="A TOML file with [[engagement.routing.rules]] (or [[rules]]) tables."),
) -> None:
    """Replace the routing rules with a TOML file's (config as code); takes effect at the next triage.

    Example: engagebot rules import engagebot.toml
    """
    from db.engine import session_scope
    from engagement.settings_store import ROUTING_RULES, parse_rules, rules_value, save
    from engagement.triage.routing import validate_rules

    data = tomllib.loads(file.read_text(encoding="utf-8"))
    raw = data.get("engagement", {}).get("routing", {}).get("rules", data.get("rules"))
    if raw is None:
        raise ValueError(f"{file}: no [[engagement.routing.rules]] or [[rules]] tables")
    rules = parse_rules(raw)
    settings = load_settings()
    validate_rules(settings.engagement.routing.model_copy(update={"rules": rules}))
    with session_scope(engine_for(settings), write=True) as session:
        save(session, ROUTING_RULES, rules_value(rules), actor="cli", action="imported")
    console.print(f"{len(rules)} routing rule(s) in force: " + ", ".join(f"{r.name} -> {r.team}" for r in rules),
                  highlight=False)  # fmt: skip


def rules_export_command() -> None:
    """Print the routing rules in force as TOML (config as code; ``rules import`` reads it back).

    Example: engagebot rules export > rules.toml
    """
    from db.engine import session_scope
    from engagement.settings_store import effective

    settings = load_settings()
    with session_scope(engine_for(settings)) as session:
        rules = effective(session, settings.engagement).routing.rules
    lines: list[str] = []
    for rule in rules:
        lines += ["[[engagement.routing.rules]]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in rule.model_dump(exclude_defaults=True).items()]
        lines.append("")
    typer.echo("\n".join(lines))


@brand_app.command("show")
@friendly_errors
def brand_show(as_json: bool = JSON) -> None:
    """Show the brand profile.

    Example: engagebot brand show
    """
    from db.engine import session_scope
    from engagement.settings_store import brand

    settings = load_settings()
    with session_scope(engine_for(settings)) as session:
        profile = brand(session, settings.engagement).model_dump()
    if as_json:
        typer.echo(json.dumps(profile, indent=2))
        return
    for key, value in profile.items():
        console.print(f"{key}: {value}", highlight=False, markup=False)


@brand_app.command("set")
@friendly_errors
def brand_set(
    name: str | None = typer.Option(None, help="What {brand} says in replies."),
    currency: str | None = typer.Option(None, help="ISO 4217 code, e.g. EUR."),
    locale: str | None = typer.Option(None, help="CLDR locale, e.g. de_DE."),
    public_url: str | None = typer.Option(None, "--public-url", help="Where people reach the web app."),
    time_zone: str | None = typer.Option(None, "--time-zone", help="e.g. Europe/Berlin."),
    handle: list[str] = typer.Option([], "--handle", help="PLATFORM=HANDLE, the brand's account. Repeatable."),
) -> None:
    """Change the brand profile (used at once by replies, links and amounts).

    Example: engagebot brand set --name "Skylark Air" --currency EUR --locale de_DE --handle x=SkylarkAir
    """
    from db.engine import session_scope
    from engagement.settings_store import BRAND, brand, parse_brand, save

    settings = load_settings()
    with session_scope(engine_for(settings), write=True) as session:
        profile = brand(session, settings.engagement).model_dump()
        for key, value in (("name", name), ("currency", currency), ("locale", locale),
                           ("public_url", public_url), ("time_zone", time_zone)):  # fmt: skip
            if value is not None:
                profile[key] = value
        for item in handle:
            platform, sep, account = item.partition("=")
            if not sep or not platform.strip() or not account.strip():
                raise ValueError(f"--handle expects PLATFORM=HANDLE, got {item!r}")
            profile["handles"][platform.strip().lower()] = [account.strip().lstrip("@")]
        checked = parse_brand(profile)
        save(session, BRAND, checked.model_dump(), actor="cli")
    console.print(f"brand: {checked.name or '(no name)'}, {checked.currency}, {checked.locale}", highlight=False)


@friendly_errors
def users_deactivate(email: str = typer.Argument(..., help="Their sign-in email.")) -> None:
    """Deactivate a person: no sign-in, no new cases, every session ended now.

    Example: engagebot users deactivate ana@example.com
    """
    from db.engine import session_scope
    from engagement.errors import NotFound
    from engagement.users import deactivate_user, get_user_by_email

    with session_scope(engine_for(load_settings()), write=True) as session:
        user = get_user_by_email(session=session, email=email)
        if user is None:
            raise NotFound(f"no user with email {email!r}")
        ended = deactivate_user(session=session, user=user)
    console.print(f"deactivated {email}; {ended} session(s) ended", highlight=False)


@friendly_errors
def users_away(
    email: str = typer.Argument(..., help="Their sign-in email."),
    back: bool = typer.Option(False, "--back", help="Mark them back instead."),
) -> None:
    """Mark a person away (auto-assign skips them) or back.

    Example: engagebot users away ana@example.com
    """
    from db.engine import session_scope
    from engagement.errors import NotFound
    from engagement.users import get_user_by_email

    with session_scope(engine_for(load_settings()), write=True) as session:
        user = get_user_by_email(session=session, email=email)
        if user is None:
            raise NotFound(f"no user with email {email!r}")
        user.is_away = not back
        session.add(user)
    console.print(f"{email}: {'back' if back else 'away'}", highlight=False)


@friendly_errors
def doctor_command(as_json: bool = JSON) -> None:
    """Check what stands between this install and going live, each with the command that fixes it.

    Exits 1 while anything is missing. Example: engagebot doctor
    """
    from db.engine import session_scope
    from engagement.golive import checklist

    settings = load_settings()
    with session_scope(engine_for(settings)) as session:
        checks = checklist(session, settings.engagement, sources=_sources(settings))
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in checks], indent=2))
    else:
        for check in checks:
            mark = "[green]ok[/]     " if check.ok else "[red]missing[/]"
            console.print(f"{mark} {check.title}: {check.detail}", highlight=False)
            if not check.ok:
                fixes = [f for f in (check.command, f"{settings.engagement.public_url.rstrip('/')}{check.link}"
                                     if check.link else None) if f]  # fmt: skip
                console.print("        fix: " + "  |  ".join(fixes), highlight=False, markup=False)
        done = sum(c.ok for c in checks)
        console.print(f"{done} of {len(checks)} done", highlight=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app (and to the ``users`` and ``rules`` groups)."""
    from engagebot.commands.queue import rules_app

    app.command("teams")(teams_command)
    app.command("doctor")(doctor_command)
    app.add_typer(brand_app, name="brand")
    rules_app.command("list")(friendly_errors(rules_list_command))
    rules_app.command("import")(friendly_errors(rules_import_command))
    rules_app.command("export")(friendly_errors(rules_export_command))
    users_app.command("deactivate")(users_deactivate)
    users_app.command("away")(users_away)
