"""The collect step: run each configured source through one shared, crash-safe loop.

Per page: fetch (bounded retries), parse with the same parsers as ``import-posts``, then in
ONE transaction store the posts, quarantine the bad records, save the source's cursor and
count X reads against the monthly budget. A kill -9 between pages loses nothing (the cursor
never runs ahead of stored posts) and a rerun duplicates nothing (upserts on natural keys).
Each source is its own ``JobRun``; one failing never stops the others.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine

from db.engine import session_scope
from db.files.quarantine import quarantine
from db.jobs import job_run
from listener.base import MissingCredentials, Source
from listener.cursors import add_reads, load_position, reads_this_month, save_position
from listener.ratelimit import RateLimitTooLong, RetryPolicy
from listener.records import ParsedPage, screen
from listener.settings import ListenerSettings, SourceSettings
from listener.store import normalise_brand_handles, store_posts

log = logging.getLogger(__name__)
SourceFactory = Callable[[SourceSettings, ListenerSettings], Source]


@dataclass(slots=True)
class SourceResult:
    """What one source's run did (also stored as its ``JobRun`` counts)."""

    source: str
    platform: str
    added: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0
    answered: int = 0
    pages: int = 0
    reads: int = 0
    stopped: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def counts(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("source", "error")}


def build_source(spec: SourceSettings, settings: ListenerSettings, *, env: Mapping[str, str] | None = None) -> Source:
    """The live source object for a configured source (clients built from the environment)."""
    env = os.environ if env is None else env
    if spec.platform == "x":
        from listener.sources.x import XSource, make_client

        return XSource(spec, make_client(settings, env))
    if spec.platform == "reddit":
        from listener.sources.reddit import RedditSource
        from listener.sources.reddit import make_client as reddit_client

        client = reddit_client(settings, env, needs_user=spec.kind == "mentions")
        return RedditSource(spec, client, brand_handles=settings.brand_handles)
    if spec.platform == "appstore" and spec.kind == "connect":
        from listener.sources.store_apis import AppStoreConnectSource
        from listener.store_auth import appstore_connect_key

        asc = settings.appstore_connect
        key = appstore_connect_key(asc, env)
        return AppStoreConnectSource(spec, key, base_url=asc.api_base, timeout=settings.retry.timeout_seconds)
    if spec.platform == "appstore":
        from listener.sources.appstore import AppStoreSource

        return AppStoreSource(spec, timeout=settings.retry.timeout_seconds)
    if spec.platform == "googleplay" and spec.kind == "api":
        from listener.sources.store_apis import GooglePlayApiSource
        from listener.store_auth import googleplay_token

        play = settings.googleplay_api
        token = googleplay_token(play, env)
        return GooglePlayApiSource(spec, token, base_url=play.api_base, timeout=settings.retry.timeout_seconds)
    if spec.platform == "googleplay":
        from listener.sources.googleplay import GooglePlaySource

        return GooglePlaySource(spec)
    if spec.platform == "facebook":
        from listener.sources.facebook import FacebookSource
        from listener.sources.facebook import make_client as facebook_client

        return FacebookSource(spec, facebook_client(settings, env))
    if spec.platform == "instagram":
        from listener.sources.instagram import InstagramSource
        from listener.sources.instagram import make_client as instagram_client

        return InstagramSource(spec, instagram_client(settings, env))
    if spec.platform == "file":
        from listener.sources.files import FileSource

        return FileSource(spec, limits=settings.imports)
    raise ValueError(f"unknown platform {spec.platform!r}")


def _default_factory(spec: SourceSettings, settings: ListenerSettings) -> Source:
    return build_source(spec, settings)


def run_source(
    engine: Engine,
    settings: ListenerSettings,
    name: str,
    *,
    factory: SourceFactory | None = None,
    policy: RetryPolicy | None = None,
) -> SourceResult:
    """Run one configured source to its end or its page cap; never raises for source errors.

    This is the scheduler's per-source job: it takes the source's name, not an object.
    """
    spec = settings.source(name)
    platform = spec.file_platform if spec.platform == "file" else spec.platform
    result = SourceResult(source=name, platform=platform)
    try:
        with job_run(engine, "collect", source=name) as counts:
            try:
                _run(
                    engine,
                    settings,
                    spec,
                    result,
                    factory or _default_factory,
                    policy or RetryPolicy(settings.retry),
                )
            finally:
                counts.update(result.counts())
    except MissingCredentials as exc:
        result.error = str(exc)
        log.warning("collect %s skipped: %s", name, exc)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:2000]
        log.error("collect %s failed after %d page(s): %s", name, result.pages, result.error)
    else:
        log.info(
            "collect %s: %d added, %d duplicates, %d rejected in %d page(s)%s",
            name,
            result.added,
            result.duplicates,
            result.rejected,
            result.pages,
            f" (stopped: {result.stopped})" if result.stopped else "",
        )
    return result


def _run(
    engine: Engine,
    settings: ListenerSettings,
    spec: SourceSettings,
    result: SourceResult,
    factory: SourceFactory,
    policy: RetryPolicy,
) -> None:
    source = factory(spec, settings)
    brand = normalise_brand_handles(settings.brand_handles)
    cap = spec.max_pages or settings.max_pages_per_run
    budget = settings.x_monthly_read_budget if source.platform == "x" and spec.platform == "x" else None
    with session_scope(engine) as session:
        position = load_position(session, spec.name)
    # a page that leads back to where the run started (or to an earlier page) would loop
    seen_positions = {json.dumps(position, sort_keys=True, default=str)} if position else set()
    while result.pages < cap:
        max_results: int | None = None
        if budget is not None:
            with session_scope(engine) as session:
                remaining = budget - reads_this_month(session)
            minimum = int(getattr(source, "min_results", lambda: 1)())
            if remaining < minimum:
                result.stopped = "monthly X read budget spent"
                return
            max_results = remaining
        current = position
        try:
            page = policy.call(
                functools.partial(source.fetch_page, current, max_results=max_results),
                what=spec.name,
            )
        except RateLimitTooLong as exc:
            result.stopped = str(exc)
            return
        key = json.dumps(page.position, sort_keys=True, default=str)
        if not page.done and key in seen_positions:
            raise RuntimeError(f"source {spec.name!r} returned the same page position twice ({key[:200]})")
        seen_positions.add(key)
        parsed = (
            page.parsed
            if page.parsed is not None
            else (source.parse(page.body) if page.body is not None else ParsedPage())
        )
        parsed.posts, unstorable = screen(parsed.posts)
        parsed.rejected.extend(unstorable)
        for warning in parsed.warnings:
            log.warning("collect %s: %s", spec.name, warning)
        with session_scope(engine, write=True) as session:
            stored = store_posts(
                session,
                source=spec.name,
                posts=parsed.posts,
                brand_handles=brand,
                max_text_chars=settings.imports.max_text_chars,
            )
            quarantine(session, source=spec.name, platform=source.platform, rejected=parsed.rejected)
            save_position(session, spec.name, page.position)
            if budget is not None and page.reads:
                add_reads(session, page.reads)
        result.pages += 1
        result.reads += page.reads
        result.added += stored.added
        result.duplicates += stored.duplicates
        result.answered += stored.answered
        result.rejected += len(parsed.rejected)
        result.skipped += parsed.skipped
        if page.note:
            log.info("collect %s: %s", spec.name, page.note)
        position = page.position
        if page.done:
            return
    result.stopped = f"page cap ({cap}) reached; resumes next run"


def collect(
    engine: Engine,
    settings: ListenerSettings,
    *,
    only: Sequence[str] | None = None,
    factory: SourceFactory | None = None,
    policy: RetryPolicy | None = None,
) -> list[SourceResult]:
    """Run the enabled sources (or only those named), each in its own ``JobRun``."""
    if only:
        for name in only:
            settings.source(name)  # unknown names are an error, not a silent no-op
        names = list(only)
    else:
        names = [s.name for s in settings.sources if s.enabled]
    return [run_source(engine, settings, name, factory=factory, policy=policy) for name in names]
