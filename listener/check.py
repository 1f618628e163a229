"""Test a source's connection: one cheap authenticated call, and a sentence saying how it went.

An admin who just set a token wants to know now whether it works, not after the next scheduled
run fails. ``check_connection`` builds the source as a run would (its client from the
environment, against the configured base URL), asks for the first page only, with as few items
as the platform allows, and stores nothing: no posts, no cursor, no job run. A refused token, a
missing setting or an unreachable server comes back as ``ok = False`` with the platform's own
words. Where the collector knows its rate budget (X's monthly reads, App Store Connect's hourly
requests), the answer says what is left.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sqlalchemy import Engine

from db.engine import session_scope
from listener.base import Source
from listener.cursors import reads_this_month
from listener.ratelimit import RateLimited
from listener.settings import ListenerSettings, SourceSettings

SourceBuilder = Callable[[SourceSettings, ListenerSettings], Source]


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of one test call: whether it worked, in words, and the budget left."""

    source: str
    platform: str
    ok: bool
    message: str
    items: int | None = None
    rate: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def rate_budget(engine: Engine, settings: ListenerSettings, spec: SourceSettings, source: object = None) -> str | None:
    """What the collector knows of the source's rate budget, in words (None where it knows nothing)."""
    if spec.platform == "x" and settings.x_monthly_read_budget is not None:
        with session_scope(engine) as session:
            used = reads_this_month(session)
        budget = settings.x_monthly_read_budget
        return f"{max(budget - used, 0):,} of {budget:,} X reads left this month"
    remaining = getattr(source, "remaining", None)
    if isinstance(remaining, int):
        return f"{remaining:,} App Store Connect requests left this hour"
    return None


def _default_builder(spec: SourceSettings, settings: ListenerSettings) -> Source:
    from listener.collect import build_source

    return build_source(spec, settings, env=os.environ)


def check_connection(
    engine: Engine,
    settings: ListenerSettings,
    name: str,
    *,
    builder: SourceBuilder | None = None,
) -> ConnectionCheck:
    """One call to ``name``'s platform (its first page, the fewest items); see the module doc.

    Every failure is an answer here, not an exception: the caller shows it to a person.
    """
    spec = settings.source(name)  # LookupError for an unknown name: the caller's 404

    def answer(ok: bool, message: str, items: int | None = None, source: object = None) -> ConnectionCheck:
        return ConnectionCheck(name, spec.platform, ok, message, items, rate_budget(engine, settings, spec, source))

    try:
        source = (builder or _default_builder)(spec, settings)
    except Exception as exc:  # a missing token or key is the answer, said as it is
        return answer(False, f"cannot build the {spec.platform} client: {exc}")
    files = getattr(source, "files", None)
    if spec.platform == "file" and callable(files):
        found = files()
        if not found:
            return answer(False, f"no file matches {', '.join(spec.files) or '(no files set)'}")
        return answer(True, f"{len(found)} file(s) to read", len(found))
    fewest = int(getattr(source, "min_results", lambda: 1)())
    try:
        page = source.fetch_page({}, max_results=fewest)
    except RateLimited as exc:
        wait = f"; retry in {exc.retry_after:.0f} s" if exc.retry_after else ""
        return answer(False, f"the credentials work, but {spec.platform} says rate limited: {exc}{wait}", source=source)
    except Exception as exc:  # a refused token, a wrong id or a dead host, said as it is
        return answer(False, f"{spec.platform} refused the call: {exc}", source=source)
    parsed = page.parsed if page.parsed is not None or page.body is None else source.parse(page.body)
    items = len(parsed.posts) if parsed is not None else 0
    return answer(True, f"connected: {spec.platform} answered with {items} item(s) on the first page", items, source)
