"""Keep secrets out of every log line: webhook URLs, Slack and bearer tokens, DSN passwords and
the configured ``SecretStr`` values are replaced by ``[REDACTED]``.

slack_sdk logs the whole incoming-webhook URL (a secret: whoever has it can post) at DEBUG on
every send and at INFO when one fails; drivers put the DSN in their errors; a traceback can
hold a token. A filter on the root *logger* would not see any of that, since records of child
loggers (``slack_sdk.webhook``) go straight to the root's handlers. So :func:`install` hooks
the log-record factory: every record, whichever logger makes it and whichever handler (a file,
stderr, pytest's capture) receives it, is redacted once, as it is created: its message (with
arguments merged in), its traceback text, its stack and its string ``extra`` fields. The same
:class:`SecretsFilter` is also set on the root logger and its handlers, which makes the
guarantee visible where logging is configured.

Known secret values come from the settings (:func:`remember`, called by ``load_settings``);
patterns catch the rest: ``hooks.slack.com`` URLs, ``xox?-`` tokens, ``Bearer`` values,
``user:password@`` in URLs, ``password=``/``token=``/``secret=`` pairs.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

__all__ = ["REDACTED", "SecretsFilter", "install", "redact", "remember"]

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6
"""Shorter configured values are not replaced literally (``abc`` would redact half the log)."""

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack incoming webhooks, workflow triggers and interaction response URLs
    (re.compile(r"(https?://hooks\.slack(?:-gov)?\.com/)[^\s'\"<>]+", re.IGNORECASE), rf"\g<1>{REDACTED}"),
    # Slack tokens: bot, user, app-level, config, refresh
    (re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+|\bxoxe\.xox[a-z]-[A-Za-z0-9-]+"), REDACTED),
    # Authorization: Bearer <token> / Basic <credentials>
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE), rf"\g<1> {REDACTED}"),
    # user:password@host in any URL or DSN
    (re.compile(r"([a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)[^\s@/'\"]+(@)", re.IGNORECASE), rf"\g<1>{REDACTED}\g<2>"),
    # password=..., token=..., client_secret: ... (query strings, DSN keywords, reprs)
    (
        re.compile(
            r"""(?i)\b((?:[a-z_]*_)?(?:password|passwd|pwd|secret|token|api_key|apikey))(['"]?\s*[=:]\s*['"]?)"""
            r"""([^\s&'",;}]+)"""
        ),
        rf"\g<1>\g<2>{REDACTED}",
    ),
)


class SecretsFilter(logging.Filter):
    """Redacts a record in place (message, traceback, stack, string extras); never drops one."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Also replace these exact values (longest first, so a value inside another goes too)."""
        fresh = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        with self._lock:
            self._secrets = tuple(sorted(set(self._secrets) | fresh, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def _argument(self, value: object) -> object:
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.redact(value if isinstance(value, str) else str(value))

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_redacted", False):
            # message and arguments are redacted apart (not merged), so handlers that group records
            # by template and arguments (engagebot.ops.logrepeats) still can; an argument that is an
            # object (an exception, a dict) becomes its redacted text, numbers stay numbers
            record.msg = self.redact(record.msg) if isinstance(record.msg, str) else self.redact(str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(self._argument(arg) for arg in record.args)
            elif isinstance(record.args, Mapping):
                record.args = {key: self._argument(arg) for key, arg in record.args.items()}
            if record.exc_info and not record.exc_text:
                # formatters print exc_text when it is set, instead of formatting exc_info again
                record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            if record.exc_text:
                record.exc_text = self.redact(record.exc_text)
            if record.stack_info:
                record.stack_info = self.redact(record.stack_info)
            record._redacted = True
        for key, value in vars(record).items():  # extra= fields arrive after the record is made
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "_redacted"}
_FILTER = SecretsFilter()
_installed: Callable[..., logging.LogRecord] | None = None


def redact(text: str) -> str:
    """``text`` with every known secret and secret-shaped value replaced by ``[REDACTED]``."""
    return _FILTER.redact(text)


def install() -> SecretsFilter:
    """Redact every log record from now on (idempotent); returns the shared filter."""
    global _installed
    if _installed is None:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _FILTER.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = factory
    root = logging.getLogger()
    for target in (root, *root.handlers):
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
    return _FILTER


def remember(settings: BaseModel) -> None:
    """Learn the secret values of a settings object: every ``SecretStr`` at any depth, and the
    password of every URL-shaped string (``database_url``)."""
    _FILTER.add(secret_values(settings))


def secret_values(value: Any) -> list[str]:
    """The secrets a settings object holds (see :func:`remember`)."""
    found: list[str] = []
    if isinstance(value, SecretStr):
        found.append(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found += secret_values(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            found += secret_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found += secret_values(item)
    elif isinstance(value, str) and "://" in value and "@" in value:
        try:
            password = urlsplit(value).password
        except ValueError:
            password = None
        if password:
            found += [password, unquote(password)]
    return found
