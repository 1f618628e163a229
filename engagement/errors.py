"""The domain's error root: every refusal engagebot means to show a person is an ``EngagebotError``.

Why one root: the web used to turn any ``LookupError`` into a 404 and any ``ValueError`` into a
400, so a ``KeyError`` bug read as "not found" with an internal message. Now the web answers
only this family with its ``status_code`` and message; anything else is a bug, answered 500
with an error id that is also in the log.

The subclasses also derive from the builtin they replace (``ValueError``, ``LookupError``), so
code that catches those, and pydantic validators that raise them, keep working.
"""

from __future__ import annotations


class EngagebotError(Exception):
    """A refusal with a message for a person, and the HTTP status that fits it."""

    status_code = 400


class BadInput(EngagebotError, ValueError):
    """What a person asked for cannot be done as given (a bad value, a missing field): 400."""

    status_code = 400


class NotFound(EngagebotError, LookupError):
    """The thing a person named does not exist (a case, a reply, a session): 404."""

    status_code = 404
