"""What every command needs: settings, a migrated engine, logging, one-line errors."""

from __future__ import annotations

import atexit
import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:  # the CLI answers --help without importing the database or settings stack
    from sqlalchemy import Engine

    from engagebot.config import Settings

from engagebot import redaction
from engagebot.ops.logrepeats import RepeatedErrors, start_sweeper

console = Console()
err_console = Console(stderr=True)
log = logging.getLogger("engagebot")

P = ParamSpec("P")
R = TypeVar("R")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with any ``extra=`` fields (step, source, counts, seconds)."""

    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({k: v for k, v in vars(record).items() if k not in self._standard})
        if record.exc_text or record.exc_info:  # exc_text: the redacted traceback (engagebot.redaction)
            payload["exception"] = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        return json.dumps(payload, default=str)


_repeats: RepeatedErrors | None = None


def _flush_repeats() -> None:
    if _repeats is not None:
        _repeats.flush()


def configure_logging(level: str = "INFO", *, json_logs: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    global _repeats
    repeats = RepeatedErrors(handler)
    handler.addFilter(repeats)
    if _repeats is None:
        atexit.register(_flush_repeats)  # the count of an error still repeating at exit
    _repeats = repeats
    start_sweeper()  # a count is written when its repeats stop, not at the next line or exit
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    redaction.install()  # no secret in any log line, at any level (docs/security.md)
    for noisy in ("httpx", "urllib3", "alembic.runtime", "transformers", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


_engines: dict[str, Engine] = {}


def load_settings() -> Settings:
    from engagebot.config import get_settings

    try:
        settings = get_settings()
    except Exception as exc:  # pydantic's ValidationError and TOML errors: one clear line
        raise typer.BadParameter(f"invalid settings: {redaction.redact(str(exc))}") from exc
    redaction.remember(settings)  # its secrets are redacted from every log line from now on
    return settings


def engine_for(settings: Settings, *, migrate: bool = True, wait: bool = False) -> Engine:
    """The engine for the configured database, migrated to the newest schema on first use.

    With ``wait`` (``engagebot run`` and ``web``: long-running processes that may start before
    the database, as under Docker Compose or after a host reboot), an unreachable database is
    retried with back-off, one log line per attempt, until it answers, for at most
    ``ops.database_wait_seconds`` (unset: until Ctrl-C).
    """
    from db.engine import make_engine, wait_for_database
    from db.migrate import upgrade

    url = settings.database_url
    if url not in _engines:
        engine = make_engine(url)
        if wait:
            wait_for_database(engine, give_up_after=settings.ops.database_wait_seconds)
        if migrate:
            upgrade(engine)
        _engines[url] = engine
    return _engines[url]


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures (bad files, bad input) into one line on stderr and exit code 2."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except (ValueError, OSError, LookupError) as exc:
            if log.isEnabledFor(logging.DEBUG):
                log.exception("command failed")
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(2) from exc

    return wrapper
