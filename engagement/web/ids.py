"""Shared types of ids and offsets in URLs: out-of-range values answer 422, never reach the DB.

Database ids are 64-bit signed integers (SQLite's INTEGER, PostgreSQL's BIGINT at most):
2^63 or more makes the driver raise (SQLite: ``OverflowError``) and a page would answer 500.
Declaring the range on the parameter lets FastAPI refuse it up front, like ``abc`` or ``-1``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**63 - 1

# A row id in a path: /cases/{case_id}, /replies/{reply_id}, ...
DbId = Annotated[int, Path(ge=1, le=MAX_ID, description="a database id: 1 to 2^63-1")]
# A row offset in a query (paging).
DbOffset = Annotated[int, Query(ge=0, le=MAX_ID, description="rows to skip")]
