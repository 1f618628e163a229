"""Full-text search over posts' text: the DDL each backend needs and the match it runs.

The queue's text search must stay fast at a million posts, which a ``LIKE '%word%'`` scan
cannot (it reads every post). Each backend's own full-text index does it instead:

- PostgreSQL: a GIN index on ``to_tsvector('simple', text)`` (built in, no extension). The
  ``simple`` configuration lower-cases and splits words without stemming, so it treats every
  language alike (posts come in many).
- SQLite: an FTS5 table over ``posts.text`` (external content: the text is stored once, in
  ``posts``), kept in step by triggers, with the ``unicode61`` tokenizer folding accents.

Both match posts holding every word of the query, whole words in any order (as mail search
does). Not prefixes: PostgreSQL cannot estimate how many posts a prefix matches (it assumes a
few), so a common prefix gets a nested-loop plan 2-3x slower than the hash join an exact word
gets. Text with no word characters at all (an emoji) falls back to ``LIKE``. The DDL is not expressible as models (a virtual table, an expression index),
so the single generated migration calls ``upgrade_search``/``downgrade_search`` at its end
(``db/migrations/script.py.mako``), and ``env.py`` leaves the FTS5 tables out of autogenerate.
"""

from __future__ import annotations

import re
from typing import Literal

from alembic import op
from sqlalchemy import ColumnElement, and_, func, select, text
from sqlmodel import col

from db.models import Post

#: tables FTS5 creates for ``posts_fts`` (autogenerate must not see them as stray tables)
FTS_TABLE = "posts_fts"
PG_INDEX = "ix_posts_text_search"
PG_DOCUMENT = "to_tsvector('simple'::regconfig, {column})"
MAX_TERMS = 8
_WORD = re.compile(r"\w+", re.UNICODE)

SearchMethod = Literal["fulltext", "like"]

_SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "text, content='posts', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS posts_fts_insert AFTER INSERT ON posts BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS posts_fts_delete AFTER DELETE ON posts BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"CREATE TRIGGER IF NOT EXISTS posts_fts_update AFTER UPDATE OF text ON posts BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS posts_fts_insert",
    "DROP TRIGGER IF EXISTS posts_fts_delete",
    "DROP TRIGGER IF EXISTS posts_fts_update",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)


def upgrade_search() -> None:
    """Create the full-text index of the migration's backend (called by the migration)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_DDL:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON posts USING gin ({PG_DOCUMENT.format(column='text')})")


def downgrade_search() -> None:
    """Drop what ``upgrade_search`` made."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_DROP:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")


def is_search_table(name: str | None) -> bool:
    """True for the FTS5 table and the shadow tables SQLite makes for it."""
    return bool(name) and (name == FTS_TABLE or str(name).startswith(FTS_TABLE + "_"))


def search_terms(query: str) -> list[str]:
    """The words of a search box's text, lower-cased (at most ``MAX_TERMS``)."""
    return [word.lower() for word in _WORD.findall(query)][:MAX_TERMS]


def _fts5_query(terms: list[str]) -> str:
    # Each word a quoted string, so no FTS5 operator can be smuggled in; all of them must match.
    return " ".join(f'"{term}"' for term in terms)


def _tsquery(terms: list[str]) -> str:
    # \w+ words hold no tsquery operators; every word must match.
    return " & ".join(terms)


def post_matches(query: str, *, dialect: str, method: SearchMethod = "fulltext") -> ColumnElement[bool]:
    """A condition on ``posts`` true for posts whose text holds every word of ``query``.

    ``method="like"`` is the case-insensitive substring scan the queue used before: the
    fallback for text with no words and for backends without a full-text index, and the
    baseline ``benchmarks/queue_page.py`` measures the index against.
    """
    terms = search_terms(query)
    if method == "like" or not terms or dialect not in ("sqlite", "postgresql"):
        return func.lower(col(Post.text)).like(f"%{query.lower()}%")
    if dialect == "postgresql":
        document = PG_DOCUMENT.format(column="posts.text")
        return and_(
            text(f"{document} @@ to_tsquery('simple'::regconfig, :tsquery)").bindparams(tsquery=_tsquery(terms))
        )
    matching = select(text("rowid")).select_from(text(FTS_TABLE)).where(
        text(f"{FTS_TABLE} MATCH :fts5").bindparams(fts5=_fts5_query(terms))
    )
    return col(Post.id).in_(matching)
