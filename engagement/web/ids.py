"""Shared types of ids and offsets in URLs: out-of-range values answer 422, never reach the DB.

The tables' primary keys are ``INTEGER``: 32-bit on PostgreSQL, so no row can have an id past
2^31-1 there, and an id of 2^31 makes PostgreSQL refuse the query (2^63 makes SQLite's driver
raise ``OverflowError``). Declaring the range on the parameter lets FastAPI refuse such ids up
front, like ``abc`` or ``-1``, with the same 422 on both backends.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from db.types import MAX_ID

MAX_OFFSET = 2**63 - 1  # past this, even counting rows overflows

# A row id in a path: /cases/{case_id}, /replies/{reply_id}, ...
DbId = Annotated[int, Path(ge=1, le=MAX_ID, description="a database id: 1 to 2^31-1")]
# A row offset in a query (paging).
DbOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
