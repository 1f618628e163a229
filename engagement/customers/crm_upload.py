"""The CRM upload in the web app: keep the file, preview it, import it with a confirmed mapping.

An admin uploads the CRM's export as it comes. Before anything is written they see the first
rows, the column mapping ``crm_columns`` guessed (or the one they confirmed last time) and what
the import would change, counted by a dry run of the import itself. Importing saves the mapping
they confirmed (``settings_store``, key ``crm_columns``, with the change trail), so next month's
export of the same CRM comes up mapped the way they left it.

The file waits between the preview and the import under the system's temporary directory,
named by a random token that only the preview's answer carries.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from db.engine import session_scope
from engagement.customers.crm_columns import IGNORE, guess_mapping
from engagement.customers.crm_csv import ERROR, ImportReport, csv_rows
from engagement.customers.crm_import import import_customers
from engagement.errors import BadInput, NotFound
from engagement.settings_store import save, stored

CRM_COLUMNS = "crm_columns"
"""The settings key of the mapping last confirmed: ``{column as written: field}``."""
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PREVIEW_ROWS = 5
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass
class CrmPreview:
    """What the admin confirms before importing: the file's first rows, the mapping, the effect."""

    upload: str
    header: list[str]
    rows: list[list[str]]
    mapping: dict[str, str]
    remembered: bool
    """True when the mapping offered includes columns as the admin confirmed them last time."""
    report: ImportReport
    """A dry run's counts: ``inserted`` new customers, ``updated``, ``unchanged``, ``rejected``."""

    def as_dict(self) -> dict[str, object]:
        r = self.report
        return {
            "upload": self.upload,
            "header": self.header,
            "rows": self.rows,
            "mapping": self.mapping,
            "remembered": self.remembered,
            "would": {
                "rows": r.rows,
                "new": r.inserted,
                "updated": r.updated,
                "unchanged": r.unchanged,
                "rejected": [{"line": x.line, "reason": x.reason} for x in r.rejected],
                "warnings": list(r.warnings),
            },
        }


def uploads_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "engagebot-crm-uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def keep_upload(data: bytes) -> str:
    """Store an uploaded file until it is imported; the token names it."""
    if not data.strip():
        raise BadInput("the file is empty: upload the CRM's CSV export with its header row")
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadInput(
            f"the file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: import it with engagebot customers import"
        )
    token = secrets.token_urlsafe(24)
    (uploads_dir() / f"{token}.csv").write_bytes(data)
    return token


def upload_path(token: str) -> Path:
    """The kept file of ``token``; ``NotFound`` when it was imported already or never existed."""
    path = uploads_dir() / f"{token}.csv"
    if not _TOKEN.match(token) or not path.is_file():
        raise NotFound("that upload is gone (imported already, or the server restarted): upload the file again")
    return path


def remembered_map(session: Session) -> dict[str, str]:
    """The mapping the admin confirmed last time (empty before the first web import)."""
    value = stored(session, CRM_COLUMNS)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def read_head(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header as written and the first rows' cells, for the preview table."""
    written: list[str] = []

    def capture(header: list[str]) -> dict[str, str]:
        written.extend(header)
        return {}

    header, rows = csv_rows(path, (), columns=capture)
    head = [[row[ERROR]] if ERROR in row else [row.get(h, "") for h in header] for _, row in islice(rows, PREVIEW_ROWS)]
    rows.close()  # type: ignore[attr-defined]  # a generator: closes the file
    return written, head


def mapping_for(header: list[str], remembered: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """The mapping to offer: the remembered one for the columns this file has, then the admin's
    changes, then ``guess_mapping``'s guesses for the rest. Two columns read as one field are
    refused, as the import could keep only one of them."""
    present = {h.strip().lower(): h for h in header}
    wanted = {present[k.strip().lower()]: v for k, v in remembered.items() if k.strip().lower() in present}
    wanted.update({k: v for k, v in overrides.items() if v})
    mapping = guess_mapping(header, wanted)
    fields = [f for f in mapping.values() if f != IGNORE]
    doubled = sorted({f for f in fields if fields.count(f) > 1})
    if doubled:
        raise BadInput(f"more than one column is read as {', '.join(doubled)}: pick one (set the others to ignore)")
    return mapping


def preview(engine: Engine, token: str, overrides: Mapping[str, str] | None = None, *, max_clv: float) -> CrmPreview:
    """The first rows, the mapping offered and what importing with it would change (nothing is
    written). A mapping without ``crm_id`` is answered with the columns there are."""
    path = upload_path(token)
    header, rows = read_head(path)
    with session_scope(engine) as session:
        remembered = remembered_map(session)
    mapping = mapping_for(header, remembered, overrides or {})
    report = import_customers(engine, path, column_map=mapping, max_clv=max_clv, dry_run=True)
    used = {h.strip().lower() for h in header} & {k.strip().lower() for k in remembered}
    return CrmPreview(token, header, rows, mapping, bool(used), report)


def import_upload(
    engine: Engine, token: str, mapping: Mapping[str, str], *, actor: str, max_clv: float
) -> ImportReport:
    """Import the kept file with the mapping the admin confirmed, remember that mapping, and
    drop the file."""
    path = upload_path(token)
    header, _ = read_head(path)
    confirmed = mapping_for(header, {}, mapping)
    report = import_customers(engine, path, column_map=confirmed, max_clv=max_clv)
    with session_scope(engine, write=True) as session:
        save(session, CRM_COLUMNS, report.mapping or confirmed, actor=actor)
    path.unlink(missing_ok=True)
    return report
