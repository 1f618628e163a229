"""A database made by an earlier build of the single pre-1.0 migration is refused with what it
lacks, instead of failing in the middle of a step with a raw database error."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from db.migrate import SchemaMismatch, missing_schema, upgrade


def test_a_current_database_fits_and_an_older_one_is_refused_with_what_it_lacks(engine: Engine) -> None:
    upgrade(engine)
    assert missing_schema(engine) == []
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE posts DROP COLUMN text_truncated"))
    with pytest.raises(SchemaMismatch, match=r"lacks column posts\.text_truncated; start from a new database"):
        upgrade(engine)
