"""The ``engagebot`` command: one sub-command per step, plus demo, run and admin commands."""

from __future__ import annotations

import typer

from engagebot.commands import admin, core, customers, lifecycle, listen, ops, queue, report, score, web
from engagebot.runtime import configure_logging

app = typer.Typer(
    name="engagebot",
    help="Social listening and value-weighted sentiment triage: answer the unhappy customers worth the most, first.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    log_level: str = typer.Option(
        "INFO", "--log-level", envvar="ENGAGEBOT_LOG_LEVEL", help="DEBUG, INFO, WARNING or ERROR."
    ),
    json_logs: bool = typer.Option(
        False, "--json-logs", envvar="ENGAGEBOT_JSON_LOGS", help="Log one JSON object per line."
    ),
) -> None:
    """engagebot: settings come from engagebot.toml, ENGAGEBOT_* variables and DATABASE_URL."""
    configure_logging(log_level, json_logs=json_logs)


for module in (core, listen, score, customers, queue, lifecycle, web, report, ops, admin):
    module.register(app)


if __name__ == "__main__":
    app()
