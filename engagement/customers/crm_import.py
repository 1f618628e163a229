"""Import the CRM: customers (with their platform accounts) and their transactions, from CSV.

Customers file (UTF-8, header row, comma-separated)::

    crm_id,name,email,segment,currency,clv,x_handle,x_user_id,reddit_username,appstore_user,googleplay_user

or the CRM's own headers: ``Customer ID,Full Name,Email,Twitter,Lifetime Value`` and their German
names (``Kundennummer``, ``E-Mail``, ``Kundenwert``...) are recognised (``crm_columns``), and
``column_map`` (``--map COLUMN=FIELD``) names the rest.

- ``crm_id`` is required and unique; rows are upserted by it (re-importing changes nothing).
- ``name``, ``email``, ``segment`` optional; ``currency`` a 3-letter code (blank: USD, or keep).
- ``clv`` optional: the CRM's own lifetime value. Where given it wins over a fitted CLV.
- Any column named ``<platform>_handle``, ``<platform>_username``, ``<platform>_user`` (a handle
  or public name) or ``<platform>_user_id`` (the platform's account id) is that customer's
  account on ``<platform>`` (``twitter`` means ``x``). Handles are matched lower-case, without
  ``@`` or ``u/``. Each becomes a confirmed ``Identity`` with method ``crm_import``.
- A column present in the file is the CRM's truth: a blank cell clears that value (and removes
  that platform's CRM identity). A column absent from the file leaves the value alone.

Transactions file: ``customer_id,date,amount`` where ``customer_id`` is the ``crm_id``, ``date``
an ISO date (``2025-07-01``, taken as midnight UTC) or datetime (naive = UTC), and ``amount``
a non-negative number with a decimal point ('1,234.50' reads as thousands, '12,50' is refused).
A row equal to one already stored (customer, time, amount) is a duplicate and is skipped, so
re-importing a file is safe.

Bad rows never stop an import: each is reported with its line number and reason, the good
rows are kept, and every chunk of rows is committed as it is done.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from db.engine import is_sqlite, session_scope
from db.files.quarantine import quarantine
from db.files.raw import Rejected, dump_raw
from db.models.customers import Customer, Identity, Transaction
from db.types import utcnow
from engagement.customers.crm_columns import guess_mapping
from engagement.customers.crm_csv import (
    ERROR,
    RAW,
    AmountRange,
    ImportReport,
    RejectedRow,
    csv_rows,
    parse_amount,
    parse_number,
    parse_time,
    read_purchases,
)
from engagement.errors import BadInput

log = logging.getLogger(__name__)

CHUNK = 500
Progress = Callable[[int], None]
IDENTITY_COLUMN = re.compile(r"^(?P<platform>[a-z0-9]+)_(?P<kind>handle|username|user_id|user)$")
PLATFORM_ALIASES = {"twitter": "x"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_handle(value: str | None) -> str | None:
    """Handles are compared lower-case without '@' or a Reddit 'u/' prefix."""
    if value is None:
        return None
    handle = value.strip().lstrip("@").lower()
    if handle.startswith(("u/", "/u/")):
        handle = handle.split("u/", 1)[1]
    return handle or None


def identity_columns(header: list[str]) -> dict[str, tuple[str, str]]:
    """Map each identity column to (platform, 'handle' | 'user_id')."""
    found: dict[str, tuple[str, str]] = {}
    for name in header:
        match = IDENTITY_COLUMN.match(name)
        if match:
            platform = PLATFORM_ALIASES.get(match["platform"], match["platform"])
            found[name] = (platform, "user_id" if match["kind"] == "user_id" else "handle")
    return found


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- customers -------------------------------------------------------------------------------


@dataclass
class _CustomerRow:
    line: int
    values: dict[str, Any]
    accounts: dict[str, dict[str, str | None]]


def _parse_customer(
    line: int,
    row: dict[str, str],
    header: list[str],
    idcols: dict[str, tuple[str, str]],
    max_clv: float = math.inf,
) -> _CustomerRow:
    crm_id = row.get("crm_id", "")
    if not crm_id:
        raise BadInput("crm_id is empty")
    if len(crm_id) > 128:
        raise BadInput("crm_id is longer than 128 characters")
    values: dict[str, Any] = {"crm_id": crm_id}
    for name in ("name", "segment"):
        if name in header:
            values[name] = row[name] or None
    if "email" in header:
        email = row["email"].lower() or None
        if email is not None and not EMAIL.match(email):
            raise BadInput(f"invalid email {row['email']!r}")
        values["email"] = email
    if row.get("currency"):
        currency = row["currency"].upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise BadInput(f"invalid currency {row['currency']!r} (expected a 3-letter code such as USD)")
        values["currency"] = currency
    if "clv" in header:
        values["imported_clv"] = None
        if row["clv"]:
            values["imported_clv"] = parse_number(row["clv"], "clv", max_clv)
    accounts: dict[str, dict[str, str | None]] = {}
    for column, (platform, kind) in idcols.items():
        cell = row[column] or None
        value = clean_handle(cell) if kind == "handle" else cell
        accounts.setdefault(platform, {"handle": None, "user_id": None})
        if value is not None:
            accounts[platform][kind] = value
    return _CustomerRow(line, values, accounts)


def _apply_customer(customer: Customer, values: dict[str, Any], source: str, now: datetime) -> bool:
    """Copy the row's values onto the customer; an imported CLV becomes the CLV at once."""
    changed = False
    for name, value in values.items():
        if getattr(customer, name) != value:
            setattr(customer, name, value)
            changed = True
    if "imported_clv" in values:
        imported = values["imported_clv"]
        if imported is not None and (customer.clv_source != "import" or customer.clv != imported):
            customer.clv, customer.clv_source, customer.clv_fit_id = imported, "import", None
            customer.clv_basis = {
                "source": "import",
                "file": source,
                "imported_at": now.isoformat(),
            }
            customer.clv_updated_at = now
            changed = True
        elif imported is None and customer.clv_source == "import":
            customer.clv, customer.clv_source, customer.clv_basis = None, None, None
            customer.clv_updated_at = now
            changed = True
    if changed:
        customer.updated_at = now
    return changed


def _sync_identities(
    session: Session,
    customer: Customer,
    accounts: dict[str, dict[str, str | None]],
    existing: list[Identity],
) -> int:
    """Make the customer's ``crm_import`` identities match the row; returns rows added/changed."""
    assert customer.id is not None
    changes = 0
    for platform, account in accounts.items():
        handle, user_id = account["handle"], account["user_id"]
        rows = [i for i in existing if i.platform == platform]
        crm = next((i for i in rows if i.method == "crm_import"), None)
        if handle is None and user_id is None:
            if crm is not None:
                session.delete(crm)
                changes += 1
            continue

        def agrees(row: Identity, handle: str | None = handle, user_id: str | None = user_id) -> bool:
            """The row is the account the CRM names (a value the CRM leaves blank may be known)."""
            return (handle is None or row.handle == handle) and (user_id is None or row.platform_user_id == user_id)

        twin = next((i for i in rows if i is not crm and agrees(i)), None)
        if crm is not None and agrees(crm):
            continue
        if twin is not None:
            # An email or suggested link to the very same account: the CRM confirms it.
            if crm is not None:
                session.delete(crm)
                session.flush()
            twin.method, twin.status, twin.confidence = "crm_import", "confirmed", 1.0
            twin.evidence = "listed in the CRM"
            changes += 1
        elif crm is None:
            session.add(
                Identity(
                    customer_id=customer.id,
                    platform=platform,
                    handle=handle,
                    platform_user_id=user_id,
                    method="crm_import",
                    status="confirmed",
                    evidence="listed in the CRM",
                )
            )
            changes += 1
        else:
            crm.handle, crm.platform_user_id, crm.author_id = handle, user_id, None
            changes += 1
    return changes


def import_customers(
    engine: Engine,
    path: Path | str,
    *,
    progress: Progress | None = None,
    max_clv: float = math.inf,
    column_map: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Upsert customers (and their CRM identities) by ``crm_id`` from a CSV; see the module doc.

    ``dry_run`` does everything in one transaction it rolls back and quarantines nothing: the
    report then says what an import *would* change (the web upload's preview), counted by the
    very code that imports, so the preview and the import can never disagree.

    The CRM's own headers are read as fields by ``crm_columns.guess_mapping`` (``Customer ID``,
    ``Kundennummer``, ``E-Mail``, ``Twitter``, ``Lifetime Value``...), ``column_map`` first;
    the mapping used is in ``report.mapping``. ``max_clv`` (``engagement.clv.max_imported_clv``)
    refuses an absurd CRM value per row.
    """
    path = Path(path)
    report = ImportReport(path=str(path))

    def columns(written: list[str]) -> dict[str, str]:
        report.mapping = guess_mapping(written, column_map)
        return report.mapping

    header, rows = csv_rows(path, ("crm_id",), warnings=report.warnings, columns=columns)
    idcols = identity_columns(header)
    parsed: list[_CustomerRow] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        report.rows += 1
        try:
            if ERROR in row:
                raise BadInput(row[ERROR])
            item = _parse_customer(line, row, header, idcols, max_clv)
            crm_id = item.values["crm_id"]
            if crm_id in first_line:
                raise BadInput(f"duplicate crm_id {crm_id!r} (first on line {first_line[crm_id]})")
            first_line[crm_id] = line
            parsed.append(item)
        except ValueError as exc:
            report.rejected.append(RejectedRow(line, str(exc)))
            report.raw[line] = row.get(RAW) or dump_raw(row)
            if progress:
                progress(1)
    if not dry_run:
        _quarantine(engine, report, "crm:customers")
    for chunk in _chunks(parsed):
        now = utcnow()
        with _rolled_back(engine) if dry_run else session_scope(engine) as session:
            ids = [item.values["crm_id"] for item in chunk]
            known = {c.crm_id: c for c in session.exec(select(Customer).where(col(Customer.crm_id).in_(ids))).all()}
            staged: list[tuple[_CustomerRow, Customer, bool]] = []
            for item in chunk:
                customer = known.get(item.values["crm_id"])
                if customer is None:
                    customer = Customer(crm_id=item.values["crm_id"])
                    _apply_customer(customer, item.values, path.name, now)
                    session.add(customer)
                    report.inserted += 1
                    staged.append((item, customer, True))
                else:
                    staged.append((item, customer, _apply_customer(customer, item.values, path.name, now)))
            session.flush()  # ids for the new customers, one round trip per chunk
            linked: dict[int, list[Identity]] = defaultdict(list)
            customer_ids = [c.id for _, c, _ in staged]
            for identity in session.exec(select(Identity).where(col(Identity.customer_id).in_(customer_ids))).all():
                linked[identity.customer_id].append(identity)
            for item, customer, changed in staged:
                assert customer.id is not None
                identities = _sync_identities(session, customer, item.accounts, linked[customer.id])
                report.identities += identities
                if customer.crm_id in known:
                    if changed or identities:
                        report.updated += 1
                    else:
                        report.unchanged += 1
        if progress:
            progress(len(chunk))
    report.rejected.sort()
    log.info("customers import: %s", report.summary())
    return report


@contextmanager
def _rolled_back(engine: Engine) -> Iterator[Session]:
    """A session whose changes are never kept: a dry run's."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


def _quarantine(engine: Engine, report: ImportReport, source: str) -> None:
    """Keep the rows read as bad in the shared quarantine (``engagebot status`` counts them),
    with ``file:line`` and the reason, as post imports do."""
    if not report.rejected:
        return
    name = Path(report.path).name
    rejected = [
        Rejected(ref=f"{name}:{r.line}", error=r.reason, raw=report.raw.get(r.line, "")) for r in report.rejected
    ]
    with session_scope(engine) as session:
        quarantine(session, source=source, platform="crm", rejected=rejected)


# --- transactions ----------------------------------------------------------------------------


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert transactions, skipping those already stored; returns how many were new."""
    insert = sqlite_insert if is_sqlite(session.get_bind()) else pg_insert  # type: ignore[arg-type]
    table = Transaction.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(rows).on_conflict_do_nothing().returning(table.c.id)
    return len(session.execute(statement).all())


def import_transactions(
    engine: Engine, path: Path | str, *, progress: Progress | None = None, bounds: AmountRange | None = None
) -> ImportReport:
    """Add transactions (``customer_id,date,amount``) for known customers; see the module doc.

    An amount outside ``bounds`` (``engagement.clv.min/max_purchase_amount``) refuses its row.
    """
    path = Path(path)
    report = ImportReport(path=str(path))
    _header, rows = csv_rows(path, ("customer_id", "date", "amount"), warnings=report.warnings)
    parsed: list[tuple[int, str, datetime, float]] = []
    for line, row in rows:
        report.rows += 1
        try:
            if ERROR in row:
                raise BadInput(row[ERROR])
            if not row["customer_id"]:
                raise BadInput("customer_id is empty")
            parsed.append((line, row["customer_id"], parse_time(row["date"]), parse_amount(row["amount"], bounds)))
        except ValueError as exc:
            report.rejected.append(RejectedRow(line, str(exc)))
            report.raw[line] = row.get(RAW) or dump_raw(row)
            if progress:
                progress(1)
    _quarantine(engine, report, "crm:transactions")
    for chunk in _chunks(parsed):
        with session_scope(engine) as session:
            crm_ids = sorted({item[1] for item in chunk})
            ids = dict(
                session.exec(select(Customer.crm_id, Customer.id).where(col(Customer.crm_id).in_(crm_ids))).all()
            )
            values: dict[tuple[int, datetime, float], dict[str, Any]] = {}
            for line, crm_id, moment, amount in chunk:
                customer_id = ids.get(crm_id)
                if customer_id is None:
                    report.rejected.append(
                        RejectedRow(
                            line,
                            f"unknown customer {crm_id!r} (import it with 'customers import')",
                        )
                    )
                    continue
                key = (customer_id, moment, amount)
                if key in values:
                    report.unchanged += 1  # the same purchase twice in one file
                    continue
                values[key] = {"customer_id": customer_id, "occurred_at": moment, "amount": amount}
            if values:
                added = _insert_ignoring_duplicates(session, list(values.values()))
                report.inserted += added
                report.unchanged += len(values) - added
        if progress:
            progress(len(chunk))
    report.rejected.sort()
    log.info("transactions import: %s", report.summary())
    return report


__all__ = [
    "ImportReport",
    "RejectedRow",
    "import_customers",
    "import_transactions",
    "parse_amount",
    "parse_time",
    "read_purchases",
]
