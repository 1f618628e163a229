"""Database layer: SQLModel tables, engine and session setup, alembic migrations.

Every other package meets here: collectors write posts, scoring writes scores, engagement
reads both. Nothing in this package imports any other engagebot package.
"""
