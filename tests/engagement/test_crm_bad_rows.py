"""CRM imports keep every good row: absurd amounts, broken bytes, oversized cells and other
encodings cost one row each, which lands in the shared quarantine with file:line and reason."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from db.engine import session_scope
from db.models import Customer, QuarantinedRecord, Transaction
from engagement.customers.crm_csv import AmountRange, read_purchases
from engagement.customers.crm_import import import_customers, import_transactions
from engagement.customers.value import refresh_values
from engagement.settings import ClvSettings


def _customers(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("crm_id,name\nC1,Ada\nC2,Bob\n", encoding="utf-8")
    assert import_customers(engine, path).inserted == 2


def test_absurd_amounts_are_refused_per_row_and_clv_stays_finite(engine: Engine, tmp_path: Path) -> None:
    _customers(engine, tmp_path)
    path = tmp_path / "tx.csv"
    path.write_text(
        "customer_id,date,amount\n"
        "C1,2026-01-05,120.00\n"
        "C1,2026-02-05,1e308\n"
        "C1,2026-03-05,inf\n"
        "C2,2026-01-07,2000000\n"
        "C2,2026-02-07,0.50\n"
        "C2,9999-01-01,10\n"
        "C2,2026-03-07,80\n",
        encoding="utf-8",
    )
    report = import_transactions(engine, path, bounds=AmountRange(minimum=1.0, maximum=1_000_000.0))
    assert report.inserted == 2
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "amount '1e308' is over the 1,000,000 limit"),
        (4, "amount must be a non-negative number, got 'inf'"),
        (5, "amount '2000000' is over the 1,000,000 limit"),
        (6, "amount '0.50' is under the 1.0 minimum"),
        (7, "date out of range 1900..2099: '9999-01-01'"),
    ]
    refresh_values(engine, ClvSettings(), now=datetime(2026, 6, 1, tzinfo=UTC))
    with session_scope(engine) as session:
        amounts = sorted(t.amount for t in session.exec(select(Transaction)).all())
        assert amounts == [80.0, 120.0]
        for customer in session.exec(select(Customer)).all():
            assert customer.clv is None or math.isfinite(customer.clv)
        kept = session.exec(select(QuarantinedRecord).order_by(QuarantinedRecord.id)).all()  # type: ignore[arg-type]
        assert [(q.source, q.record_ref) for q in kept][:2] == [
            ("crm:transactions", "tx.csv:3"),
            ("crm:transactions", "tx.csv:4"),
        ]
        assert "1e308" in kept[0].raw


def test_read_purchases_uses_the_same_bounds(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\nA,2026-01-01,5\nA,2026-01-02,1e308\n", encoding="utf-8")
    purchases, rejected = read_purchases(path, bounds=AmountRange())
    assert [p[2] for p in purchases] == [5.0] and rejected[0].line == 3


def test_oversized_cells_and_broken_bytes_cost_one_row(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes(
        "crm_id,name\nC1,Zoë\n".encode()
        + b"C2," + b"x" * 200_000 + b"\n"
        + b"C3,caf\xe9\n"
        + b"C4,Dan\n"
    )  # fmt: skip
    report = import_customers(engine, path)
    assert report.inserted == 2 and report.warnings == []
    assert [r.line for r in report.rejected] == [3, 4]
    assert report.rejected[0].reason == "cell 'name' has 200,000 characters, over the 131,072 limit"
    assert report.rejected[1].reason.startswith("undecodable text in name: byte 0xE9")
    with session_scope(engine) as session:
        names = {c.crm_id: c.name for c in session.exec(select(Customer)).all()}
    assert names == {"C1": "Zoë", "C4": "Dan"}


def test_utf16_and_cp1252_exports(engine: Engine, tmp_path: Path) -> None:
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("crm_id,name\nC1,Zoë Ångström\n".encode("utf-16"))
    assert import_customers(engine, utf16).inserted == 1
    cp1252 = tmp_path / "cp1252.csv"
    cp1252.write_bytes("crm_id,name\nC2,Renée – Café\n".encode("cp1252"))
    report = import_customers(engine, cp1252)
    assert report.inserted == 1 and report.warnings[0].startswith("not UTF-8: read as cp1252")
    with session_scope(engine) as session:
        names = {c.crm_id: c.name for c in session.exec(select(Customer)).all()}
    assert names == {"C1": "Zoë Ångström", "C2": "Renée – Café"}
