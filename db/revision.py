"""Write the initial migration from the models (``python -m db.revision``; used until 1.0).

Until the first release the schema lives in one migration, regenerated from the models so
that parallel work never forks alembic's history. ``tests/db`` checks it matches the models.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from db.engine import make_engine
from db.migrate import MIGRATIONS_DIR, alembic_config

INITIAL = MIGRATIONS_DIR / "versions" / "0001_initial.py"


def regenerate_initial() -> Path:
    INITIAL.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/empty.db")
        command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
    generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
    generated.rename(INITIAL)
    return INITIAL


if __name__ == "__main__":
    path = regenerate_initial()
    sys.stdout.write(f"wrote {path}\n")
