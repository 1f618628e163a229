"""Apply and inspect alembic migrations from code (``engagebot init`` and tests call this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An alembic config that runs on ``engine`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


class SchemaMismatch(ValueError):
    """The database says it is at the newest migration but lacks tables or columns the code
    uses: it was made by an earlier build of the single pre-1.0 migration."""


def missing_schema(engine: Engine) -> list[str]:
    """Tables and columns of the models that the database does not have (empty when it fits)."""
    import db.models  # noqa: F401 - every table registers itself on the metadata

    inspector = inspect(engine)
    present = set(inspector.get_table_names())
    missing: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in present:
            missing.append(f"table {table.name}")
            continue
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        missing += [f"column {table.name}.{c.name}" for c in table.columns if c.name not in columns]
    return missing


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to call on every start.

    Before 1.0 the schema is one migration that is rewritten as the models change, so a database
    made by an earlier build can claim to be current while lacking columns. That is refused here
    with what is missing and what to do, instead of failing later in the middle of a step.
    """
    command.upgrade(alembic_config(engine), revision)
    if revision == "head" and (missing := missing_schema(engine)):
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise SchemaMismatch(
            f"this database was made by an earlier pre-1.0 build of engagebot and lacks {shown}; "
            "start from a new database (a new DATABASE_URL, or delete the SQLite file) and import again"
        )


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration (the readiness check uses this)."""
    return current_revision(engine) == head_revision(engine)
