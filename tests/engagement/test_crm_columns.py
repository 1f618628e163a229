"""A CRM export as it comes: English and German headers recognised, the mapping printed, --map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from db.engine import make_engine, session_scope
from db.models import Customer, Identity
from engagebot.cli import app
from engagement.customers.crm_columns import IGNORE, guess_mapping
from engagement.customers.crm_import import import_customers
from engagement.errors import BadInput

runner = CliRunner()


def test_english_and_german_headers_are_recognised() -> None:
    assert guess_mapping(["Customer ID", "Full Name", "Email", "Twitter", "Lifetime Value"]) == {
        "Customer ID": "crm_id",
        "Full Name": "name",
        "Email": "email",
        "Twitter": "x_handle",
        "Lifetime Value": "clv",
    }
    assert guess_mapping(["Kundennummer", "Name", "E-Mail", "X-Handle", "Kundenwert", "Währung", "Notizen"]) == {
        "Kundennummer": "crm_id",
        "Name": "name",
        "E-Mail": "email",
        "X-Handle": "x_handle",
        "Kundenwert": "clv",
        "Währung": "currency",
        "Notizen": IGNORE,
    }


def test_exact_names_win_and_overrides_come_first() -> None:
    assert guess_mapping(["ID", "crm_id", "Reddit"]) == {"ID": IGNORE, "crm_id": "crm_id", "Reddit": "reddit_username"}
    assert guess_mapping(["Konto", "Name"], {"konto": "crm_id", "Name": "-"}) == {"Konto": "crm_id", "Name": IGNORE}
    with pytest.raises(BadInput, match="unknown field 'kontonummer'"):
        guess_mapping(["Konto"], {"Konto": "kontonummer"})
    with pytest.raises(BadInput, match="no column 'nope'"):
        guess_mapping(["Konto"], {"nope": "crm_id"})


def test_import_reads_the_crm_headers(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Kundennummer,Name,E-Mail,Twitter,Kundenwert,Notizen\nK-1,Jonas Weber,Jonas@Example.de,@jweber,5255.00,VIP\n",
        encoding="utf-8",
    )
    report = import_customers(engine, path)
    assert (report.inserted, report.rejected) == (1, [])
    assert report.mapping["Kundenwert"] == "clv" and report.mapping["Notizen"] == IGNORE
    with session_scope(engine) as session:
        jonas = session.exec(select(Customer).where(Customer.crm_id == "K-1")).one()
        assert (jonas.name, jonas.email, jonas.clv, jonas.clv_source) == (
            "Jonas Weber",
            "jonas@example.de",
            5255.0,
            "import",
        )
        identity = session.exec(select(Identity).where(Identity.customer_id == jonas.id)).one()
        assert (identity.platform, identity.handle) == ("x", "jweber")


def test_cli_takes_the_export_without_renaming(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    path = tmp_path / "crm.csv"
    path.write_text(
        "Customer ID,Full Name,Email,Twitter,Lifetime Value\n"
        "C-9,Rosa Singh,rosa@example.com,rosa_singh,5255\n"
        "C-10,Diego Garcia,diego@example.com,,120.50\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["customers", "import", str(path)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Customer ID → crm_id" in out and "Lifetime Value → clv" in out and "Twitter → x_handle" in out
    assert "2 inserted" in out

    other = tmp_path / "other.csv"
    other.write_text("Konto,Wer\nC-9,Rosa S.\n", encoding="utf-8")
    result = runner.invoke(
        app, ["customers", "import", str(other), "--map", "Konto=crm_id", "--map", "Wer=name", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["mapping"] == {"Konto": "crm_id", "Wer": "name"} and payload["updated"] == 1

    result = runner.invoke(app, ["customers", "import", str(other)])
    assert result.exit_code == 2 and "--map COLUMN=crm_id" in " ".join(result.output.split())
    with session_scope(make_engine(url)) as session:
        rosa = session.exec(select(Customer).where(Customer.crm_id == "C-9")).one()
        assert (rosa.name, rosa.clv) == ("Rosa S.", 5255.0)
