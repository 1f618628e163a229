"""CRM and transactions import: upserts, identities, bad rows by line (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from db.engine import session_scope
from db.models import Customer, Identity, Transaction
from engagement.customers.crm_import import ImportReport, RejectedRow, import_customers, import_transactions

HEADER = "crm_id,name,email,segment,currency,clv,x_handle,x_user_id,reddit_username,appstore_user,googleplay_user\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_customers_import_upserts_and_reports_bad_rows(engine: Engine, tmp_path: Path) -> None:
    crm = write(
        tmp_path,
        "crm.csv",
        HEADER
        + "C1,Rosa Singh,Rosa.Singh@Example.com,gold,usd,4912.37,"
        + "@Rosa_Singh,1200070257230544397,,rosa_singh,\n"
        + "C2,Diego Garcia,diego@example.com,standard,,,diego_garcia,,u/DiegoG,,\n"
        + ",No Id,x@example.com,,,,,,,,\n"
        + "C3,Bad Email,not-an-email,,,,,,,,\n"
        + "C4,Bad Clv,c4@example.com,,,lots,,,,,\n"
        + "C5,Bad Currency,c5@example.com,,dollars,,,,,,\n"
        + "C2,Twice,twice@example.com,,,,,,,,\n"
        + "C6,Short row\n"
        + "\n"
        + '"C7","Quoted, Name",c7@example.com,,EUR,10,,,,,Chloe Costa\n',
    )
    report = import_customers(engine, crm)
    assert isinstance(report, ImportReport)
    assert (report.rows, report.inserted, report.updated, report.unchanged) == (9, 3, 0, 0)
    assert report.rejected == [
        RejectedRow(4, "crm_id is empty"),
        RejectedRow(5, "invalid email 'not-an-email'"),
        RejectedRow(6, "clv is not a number: 'lots'"),
        RejectedRow(7, "invalid currency 'dollars' (expected a 3-letter code such as USD)"),
        RejectedRow(8, "duplicate crm_id 'C2' (first on line 3)"),
        RejectedRow(9, "expected 11 cells, got 2"),
    ]
    assert report.rejected[0] == (4, "crm_id is empty")  # plain (line, reason) tuples too
    with session_scope(engine) as session:
        rosa = session.exec(select(Customer).where(Customer.crm_id == "C1")).one()
        assert (rosa.email, rosa.currency, rosa.segment) == (
            "rosa.singh@example.com",
            "USD",
            "gold",
        )
        assert (rosa.imported_clv, rosa.clv, rosa.clv_source) == (4912.37, 4912.37, "import")
        links = {
            (i.platform, i.handle, i.platform_user_id, i.method, i.status)
            for i in session.exec(select(Identity).where(Identity.customer_id == rosa.id)).all()
        }
        assert links == {
            ("x", "rosa_singh", "1200070257230544397", "crm_import", "confirmed"),
            ("appstore", "rosa_singh", None, "crm_import", "confirmed"),
        }
        diego = session.exec(select(Customer).where(Customer.crm_id == "C2")).one()
        assert diego.clv is None and diego.currency == "USD"
        handles = {i.platform: i.handle for i in session.exec(select(Identity).where(Identity.customer_id == diego.id))}
        assert handles == {"x": "diego_garcia", "reddit": "diegog"}
        c7 = session.exec(select(Customer).where(Customer.crm_id == "C7")).one()
        assert c7.name == "Quoted, Name" and c7.currency == "EUR"
        assert session.exec(select(Identity.handle).where(Identity.customer_id == c7.id)).all() == ["chloe costa"]

    again = import_customers(engine, crm)
    assert (again.inserted, again.updated, again.unchanged, len(again.rejected)) == (0, 0, 3, 6)

    changed = write(
        tmp_path,
        "crm2.csv",
        "crm_id,name,clv,x_handle,x_user_id\n"
        + "C1,Rosa Singh-Lee,,rosa_new,1200070257230544397\n"  # CRM drops its CLV, new handle
        + "C8,New Person,5,,\n",
    )
    report = import_customers(engine, changed)
    assert (report.inserted, report.updated, report.rejected) == (1, 1, [])
    with session_scope(engine) as session:
        rosa = session.exec(select(Customer).where(Customer.crm_id == "C1")).one()
        assert rosa.name == "Rosa Singh-Lee" and rosa.email == "rosa.singh@example.com"  # absent column kept
        assert rosa.imported_clv is None and rosa.clv is None and rosa.clv_source is None
        x = session.exec(select(Identity).where(Identity.customer_id == rosa.id, Identity.platform == "x")).one()
        assert x.handle == "rosa_new"
        platforms = session.exec(select(Identity.platform).where(Identity.customer_id == rosa.id)).all()
        assert sorted(platforms) == ["appstore", "x"]  # no appstore column in this file: kept


def test_customers_import_refuses_a_file_without_crm_id(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing column"):
        import_customers(engine, write(tmp_path, "bad.csv", "name,email\nA,a@example.com\n"))
    with pytest.raises(ValueError, match="empty"):
        import_customers(engine, write(tmp_path, "empty.csv", ""))


def test_transactions_import_keeps_good_rows_and_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    import_customers(engine, write(tmp_path, "crm.csv", "crm_id,name\nC1,A\nC2,B\n"))
    tx = write(
        tmp_path,
        "tx.csv",
        "customer_id,date,amount\n"
        "C1,2025-07-01,690.60\n"
        "C1,2025-07-01T15:30:00+02:00,10\n"
        "C2,2025-08-02 09:00:00,1,234.50\n"  # an unquoted thousands separator: one cell too many
        'C2,2025-08-02 09:00:00,"1,234.50"\n'
        "C9,2025-08-03,5\n"
        "C1,03/07/2025,5\n"
        "C1,2025-07-04,-5\n"
        "C1,2025-07-05,abc\n"
        'C1,2025-07-06,"12,50"\n'
        ",2025-07-05,1\n"
        "C1,2025-07-01,690.60\n",  # the same purchase twice in one file
    )
    report = import_transactions(engine, tx)
    assert (report.rows, report.inserted, report.unchanged) == (11, 3, 1)
    assert [r.line for r in report.rejected] == [4, 6, 7, 8, 9, 10, 11]
    reasons = dict(report.rejected)
    assert reasons[4] == "expected 3 cells, got 4"
    assert reasons[6] == "unknown customer 'C9' (import it with 'customers import')"
    assert "not an ISO date" in reasons[7]
    assert "non-negative" in reasons[8]
    assert "not a number" in reasons[9]
    assert reasons[10] == "amount '12,50' has a comma: write decimals with a point (12.50)"
    assert reasons[11] == "customer_id is empty"
    with session_scope(engine) as session:
        rows = session.exec(select(Transaction).order_by(col(Transaction.occurred_at))).all()
        assert [(r.occurred_at, r.amount) for r in rows] == [
            (datetime(2025, 7, 1, tzinfo=UTC), 690.6),
            (datetime(2025, 7, 1, 13, 30, tzinfo=UTC), 10.0),
            (datetime(2025, 8, 2, 9, tzinfo=UTC), 1234.5),
        ]
    again = import_transactions(engine, tx)
    assert (again.inserted, again.unchanged, len(again.rejected)) == (0, 4, 7)


def test_large_transactions_file_reports_progress_and_commits_in_chunks(engine: Engine, tmp_path: Path) -> None:
    import_customers(engine, write(tmp_path, "crm.csv", "crm_id\n" + "".join(f"C{i}\n" for i in range(50))))
    lines = [f"C{i % 50},2025-01-{1 + i % 28:02d},{i}.5\n" for i in range(1200)]
    seen: list[int] = []
    report = import_transactions(
        engine,
        write(tmp_path, "tx.csv", "customer_id,date,amount\n" + "".join(lines)),
        progress=seen.append,
    )
    assert report.inserted == 1200 and sum(seen) == 1200 and len(seen) == 3
