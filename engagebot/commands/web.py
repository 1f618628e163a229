"""CLI commands: ``web`` (serve the reply queue app) and ``users add|list|token``."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from engagebot.runtime import console, engine_for, friendly_errors, load_settings

if TYPE_CHECKING:  # the web stack loads when a command runs, not for --help
    from fastapi import APIRouter, FastAPI
    from sqlalchemy import Engine

    from engagebot.config import Settings

log = logging.getLogger("engagebot.web")
users_app = typer.Typer(help="People who work the queue: add, list, API tokens.", no_args_is_help=True)


def extra_routers(settings: Settings, engine: Engine) -> list[APIRouter]:
    """Routers the composition root adds: health and metrics (ops), and the Sources page's
    run now / test connection (they need the listener's settings, which the web does not hold)."""
    from engagebot.source_actions import sources_router

    routers: list[APIRouter] = [sources_router(settings, engine)]
    try:
        from engagebot.ops.observability import ops_router

        token = settings.ops.metrics_token
        routers.append(ops_router(engine, metrics_token=token.get_secret_value() if token else None))
    except ImportError:  # pragma: no cover - the ops module is part of the package
        log.warning("ops endpoints not available")
    return routers


def build_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The web app as ``engagebot web``, ``run`` and ``demo`` serve it (one place to wire it)."""
    from engagement.web.app import create_app

    engine = engine if engine is not None else engine_for(settings)
    sources: list[dict[str, Any]] = [
        s.model_dump(include={"name", "platform", "kind", "query", "interval_minutes", "enabled"})
        for s in settings.listener.sources
    ]
    return create_app(
        engine,
        settings.engagement,
        extra_routers=extra_routers(settings, engine),
        sources=sources,
        reports_dir=settings.output_dir / "reports",
    )


@friendly_errors
def web(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0: all)."),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535, help="TCP port."),
) -> None:
    """Serve the reply queue web app; sign in at /login.

    Waits for an unreachable database at start (ops.database_wait_seconds; unset: until it
    answers or Ctrl-C).

    Example: engagebot web --host 127.0.0.1 --port 8000
    """
    import uvicorn

    from db.engine import session_scope
    from engagement.users import list_users

    settings = load_settings()
    engine = engine_for(settings, wait=True)
    app = build_app(settings, engine)
    with session_scope(engine) as session:
        if not list_users(session=session):
            console.print("[yellow]No users yet:[/] add one with 'engagebot users add EMAIL --name NAME --role admin'")
    console.print(f"engagebot web: http://{host}:{port}/login", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)


@users_app.command("add")
@friendly_errors
def users_add(
    email: str = typer.Argument(..., help="Sign-in email (unique)."),
    name: str = typer.Option(..., "--name", help="Display name; also the agent name on cases (unique)."),
    role: str = typer.Option("agent", "--role", help="One of: agent, lead, admin."),  # engagement.users.ROLES
    team: str = typer.Option("default", "--team", help="The team whose queue this person works."),
    password: str | None = typer.Option(
        None,
        "--password",
        help="Password (at least 8 characters). Left out: asked for on a terminal; without one "
        "(a script), or with --invite, the command prints a one-time sign-in link instead.",
    ),
    invite: bool = typer.Option(False, "--invite", help="Print a one-time sign-in link instead of setting a password."),
    slack_id: str | None = typer.Option(
        None, "--slack-id", help="Their Slack member id (U…), so Slack buttons act as this user."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the user as JSON."),
) -> None:
    """Add a user who can sign in to the web app.

    Without --password on a terminal the password is asked for; in a script (no terminal) or
    with --invite the person gets a one-time sign-in link (valid 72 hours) to choose their own.

    Example: engagebot users add ana@example.com --name Ana --role lead --team care --slack-id U024BE7LH

    Example: engagebot users add jonas@example.com --name Jonas --team dach --invite
    """
    import sys

    from db.engine import session_scope
    from engagement.actors import link_slack
    from engagement.invites import create_invite, invite_link, unusable_password
    from engagement.users import create_user, validate_user_fields

    settings = load_settings()
    engine = engine_for(settings)
    link: str | None = None
    if password is None and not invite:
        validate_user_fields(email=email, name=name, role=role, team=team, password="x" * 8)
        try:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        except typer.Abort:
            if sys.stdin.isatty():
                raise
            password = None  # a script with nothing to read: an invite link instead of "Aborted."
    with session_scope(engine) as session:
        user = create_user(
            session=session,
            email=email,
            name=name,
            password=password or unusable_password(),
            role=role,
            team=team,
        )
        if password is None:
            link = invite_link(settings.engagement.public_url, create_invite(session, user, created_by="cli"))
        if slack_id:
            link_slack(session, user, slack_id)
        out = {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "team": user.team,
            **({"invite_link": link} if link else {}),
        }
    if as_json:
        console.print_json(json.dumps(out))
    else:
        console.print(
            f"added {out['role']} {out['name']} <{out['email']}> in team {out['team']}",
            highlight=False,
        )
        if link:
            console.print(
                f"one-time sign-in link (valid 72 hours; hand it to {out['name']}): {link}",
                highlight=False,
                soft_wrap=True,
            )


@users_app.command("slack")
@friendly_errors
def users_slack(
    email: str = typer.Argument(..., help="The user's sign-in email."),
    slack_id: str = typer.Argument(..., help="Their Slack member id (U…); '-' to unlink."),
) -> None:
    """Link a user to their Slack member id: Slack buttons then act as this user, with their role.

    Example: engagebot users slack ana@example.com U024BE7LH
    """
    from db.engine import session_scope
    from engagement.actors import find_user, link_slack

    engine = engine_for(load_settings())
    with session_scope(engine) as session:
        user = find_user(session, email)
        if user is None:
            raise LookupError(f"no user with email {email!r} (engagebot users list)")
        link_slack(session, user, None if slack_id == "-" else slack_id)
        console.print(f"{user.name}: Slack member {user.slack_user_id or '(none)'}", highlight=False)


@users_app.command("list")
@friendly_errors
def users_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List users (never their password hashes).

    Example: engagebot users list --json
    """
    from db.engine import session_scope
    from engagement.users import list_users

    engine = engine_for(load_settings())
    with session_scope(engine) as session:
        rows = [
            {
                "id": u.id,
                "email": u.email,
                "name": u.name,
                "role": u.role,
                "team": u.team,
                "away": u.is_away,
            }
            for u in list_users(session=session)
        ]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("id", "name", "email", "role", "team", "away")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["name"]),
            str(r["email"]),
            str(r["role"]),
            str(r["team"]),
            "yes" if r["away"] else "",
        )
    console.print(table)


@users_app.command("token")
@friendly_errors
def users_token(email: str = typer.Argument(..., help="Whose token.")) -> None:
    """Print an API bearer token for a user (valid until their password changes or it expires).

    Needs a fixed session secret (ENGAGEBOT_ENGAGEMENT__WEB__SESSION_SECRET), the same the web
    app signs with. Use it as 'Authorization: Bearer <token>'.

    Example: engagebot users token ana@example.com
    """
    from db.engine import session_scope
    from engagement.users import get_user_by_email
    from engagement.web.security import ApiTokens

    settings = load_settings()
    web_settings = settings.engagement.web
    if web_settings.session_secret is None or not web_settings.session_secret.get_secret_value():
        raise ValueError("set ENGAGEBOT_ENGAGEMENT__WEB__SESSION_SECRET first: tokens are signed with it")
    engine = engine_for(settings)
    with session_scope(engine) as session:
        user = get_user_by_email(session=session, email=email)
        if user is None or user.id is None:
            raise LookupError(f"no user with email {email!r}")
        tokens = ApiTokens(
            web_settings.session_secret.get_secret_value(),
            max_age_s=web_settings.api_token_max_age_days * 86400,
        )
        token = tokens.issue(user_id=user.id, password_hash=user.password_hash)
    typer.echo(token)


@users_app.command("password")
@friendly_errors
def users_password(
    email: str = typer.Argument(..., help="Whose password."),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="The new password (at least 8 characters); asked for when left out.",
    ),
) -> None:
    """Set a new password: every web session of that person ends at once, their API tokens too.

    Example: engagebot users password ana@example.com
    """
    from db.engine import session_scope
    from engagement.users import get_user_by_email, set_password

    engine = engine_for(load_settings())
    with session_scope(engine) as session:
        user = get_user_by_email(session=session, email=email)
        if user is None:
            raise LookupError(f"no user with email {email!r}")
        ended = set_password(session=session, user=user, password=password)
    console.print(f"password changed; {ended} web session(s) ended, API tokens revoked", highlight=False)


@users_app.command("end-sessions")
@friendly_errors
def users_end_sessions(email: str = typer.Argument(..., help="Whose sessions.")) -> None:
    """Sign a person out of every browser at once (a lost laptop); their API tokens stay.

    Example: engagebot users end-sessions ana@example.com
    """
    from db.engine import session_scope
    from engagement.users import end_sessions, get_user_by_email

    engine = engine_for(load_settings())
    with session_scope(engine) as session:
        user = get_user_by_email(session=session, email=email)
        if user is None or user.id is None:
            raise LookupError(f"no user with email {email!r}")
        ended = end_sessions(session=session, user_id=user.id, reason="cli")
    console.print(f"{ended} web session(s) ended", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("web")(web)
    app.add_typer(users_app, name="users")
