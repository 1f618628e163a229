"""Keep PostgreSQL's planner statistics fresh during bulk loads.

The import's look-ups (``authors`` and ``posts`` by ``(platform, external_id)``) are planned
from table statistics. A table loaded from empty in one long import has none until
autovacuum's next analyze, which lags bulk loads (and is off on some servers): the planner then
treats a growing table as tiny and filters every row of the platform per look-up, so the
import slows as it grows (a 100k-post import on a server with autovacuum off averaged 75
posts/s). ``ANALYZE`` samples a fixed 30k rows, a fraction of a second, so running it every
few tens of thousands of new rows keeps the look-ups on the index.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text

from db.engine import is_sqlite

log = logging.getLogger(__name__)

ANALYZE_EVERY = 20_000


def analyze(engine: Engine, tables: tuple[str, ...]) -> None:
    """``ANALYZE`` these tables (PostgreSQL; SQLite plans without statistics this matters for)."""
    if is_sqlite(engine):
        return
    with engine.begin() as connection:
        connection.execute(text("ANALYZE " + ", ".join(tables)))
    log.info("analyzed %s after a bulk load", ", ".join(tables))


class GrowthWatch:
    """Calls ``analyze`` each time the running total of added rows passes ``ANALYZE_EVERY`` more."""

    def __init__(self, engine: Engine, tables: tuple[str, ...], every: int | None = None) -> None:
        self.engine = engine
        self.tables = tables
        self.every = every or ANALYZE_EVERY
        self.analyzed_at = 0

    def total(self, added: int) -> None:
        """The number of rows added so far (a running total, e.g. ``ImportResult.added``)."""
        if added - self.analyzed_at >= self.every:
            analyze(self.engine, self.tables)
            self.analyzed_at = added
