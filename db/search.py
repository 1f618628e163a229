"""Full-text search over cases' text: the DDL each backend needs and the match it runs.

The queue's text search must stay fast at a million posts, which a ``LIKE '%word%'`` scan
cannot (it reads every post). Two choices make it fast:

- It searches the **cases**, not the posts: ``cases.search_text`` holds the title and text of
  every post of a case, appended by a database trigger whenever a post joins a case
  (``case_posts``), whichever code path adds it. So the index grows with the cases, not with
  the posts that never became one (most collected posts), and a match needs no join.
- Each backend's own full-text index: on PostgreSQL a GIN index on
  ``to_tsvector('simple', search_text)`` (built in, no extension; ``simple`` neither stems nor
  drops stop words, so every language is treated alike); on SQLite an FTS5 table over
  ``cases.search_text`` (external content, kept in step by triggers; accents folded).

A case matches when it holds every word of the query, whole words in any order (as mail search
does). Not prefixes: PostgreSQL cannot estimate how many rows a prefix matches (it assumes a
few), so a common prefix gets a plan several times slower than the same whole word. Text with
no word characters at all (an emoji) falls back to ``LIKE`` on the same column. The DDL is not
expressible as models (a virtual table, triggers, an expression index), so the single generated
migration calls ``upgrade_search``/``downgrade_search`` at its end
(``db/migrations/script.py.mako``), and ``env.py`` leaves the FTS5 tables out of autogenerate.
"""

from __future__ import annotations

import re
from typing import Literal

from alembic import op
from sqlalchemy import ColumnElement, and_, func, select, text
from sqlmodel import col

from db.models import Case, CasePost, Post

FTS_TABLE = "cases_fts"
PG_INDEX = "ix_cases_search_text"
PG_DOCUMENT = "to_tsvector('simple'::regconfig, {column})"
MAX_TERMS = 8
_WORD = re.compile(r"\w+", re.UNICODE)

SearchMethod = Literal["fulltext", "like"]

# A post joining a case appends its title and text to the case's search text.
_SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "search_text, content='cases', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS cases_fts_insert AFTER INSERT ON cases BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS cases_fts_delete AFTER DELETE ON cases BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS cases_fts_update AFTER UPDATE OF search_text ON cases BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS case_posts_search AFTER INSERT ON case_posts BEGIN "
    "UPDATE cases SET search_text = trim(coalesce(search_text, '') || ' ' || "
    "(SELECT coalesce(title || ' ', '') || text FROM posts WHERE id = new.post_id)) WHERE id = new.case_id; END",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS case_posts_search",
    "DROP TRIGGER IF EXISTS cases_fts_insert",
    "DROP TRIGGER IF EXISTS cases_fts_delete",
    "DROP TRIGGER IF EXISTS cases_fts_update",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)
_PG_DDL = (
    "CREATE OR REPLACE FUNCTION case_posts_search() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE cases SET search_text = concat_ws(' ', nullif(search_text, ''), "
    "(SELECT concat_ws(' ', title, text) FROM posts WHERE id = NEW.post_id)) WHERE id = NEW.case_id; "
    "RETURN NEW; END $$",
    "CREATE TRIGGER case_posts_search AFTER INSERT ON case_posts FOR EACH ROW EXECUTE FUNCTION case_posts_search()",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON cases USING gin ({PG_DOCUMENT.format(column='search_text')})",
)
_PG_DROP = (
    f"DROP INDEX IF EXISTS {PG_INDEX}",
    "DROP TRIGGER IF EXISTS case_posts_search ON case_posts",
    "DROP FUNCTION IF EXISTS case_posts_search()",
)


def upgrade_search() -> None:
    """Create the search triggers and index of the migration's backend (called by the migration)."""
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_DDL, "postgresql": _PG_DDL}.get(dialect, ()):
        op.execute(statement)


def downgrade_search() -> None:
    """Drop what ``upgrade_search`` made."""
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_DROP, "postgresql": _PG_DROP}.get(dialect, ()):
        op.execute(statement)


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


def case_matches(query: str, *, dialect: str, method: SearchMethod = "fulltext") -> ColumnElement[bool]:
    """A condition on ``cases`` true for cases whose posts hold every word of ``query``.

    ``method="like"`` is the case-insensitive substring scan over every post that the queue
    used before: the baseline ``benchmarks/queue_page.py`` measures the index against.
    """
    terms = search_terms(query)
    if method == "like":
        posts = (
            select(col(CasePost.case_id))
            .join(Post, col(Post.id) == col(CasePost.post_id))
            .where(func.lower(col(Post.text)).like(f"%{query.lower()}%"))
        )
        return col(Case.id).in_(posts)
    if not terms or dialect not in ("sqlite", "postgresql"):
        return func.lower(col(Case.search_text)).like(f"%{query.lower()}%")
    if dialect == "postgresql":
        document = PG_DOCUMENT.format(column="cases.search_text")
        return and_(
            text(f"{document} @@ to_tsquery('simple'::regconfig, :tsquery)").bindparams(tsquery=_tsquery(terms))
        )
    matching = select(text("rowid")).select_from(text(FTS_TABLE)).where(
        text(f"{FTS_TABLE} MATCH :fts5").bindparams(fts5=_fts5_query(terms))
    )
    return col(Case.id).in_(matching)
