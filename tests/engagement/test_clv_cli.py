"""The CLI end to end: imports, clv fit on CDNOW, link, identities (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from db.engine import make_engine, session_scope
from db.models import Author, Customer, Identity, User
from engagebot.cli import app
from engagement.customers.clv.datasets import read_cdnow

runner = CliRunner()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output; with --json the output is stdout alone (logs go to stderr)."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout if "--json" in args else result.output


@pytest.fixture
def cdnow_csv(shared: Path, tmp_path: Path) -> Path:
    """The 1/10th sample as a plain transactions CSV with non-default column names."""
    path = tmp_path / "cdnow.csv"
    lines = [f"{c},{d.isoformat()},{a}\n" for c, d, a in read_cdnow(shared / "data/cdnow/CDNOW_sample.txt")]
    path.write_text("sample_id,day,dollars\n" + "".join(lines), encoding="utf-8")
    return path


def test_clv_fit_prints_the_published_parameters_and_the_holdout_check(
    database_url: str, cdnow_csv: Path, tmp_path: Path
) -> None:
    crm = tmp_path / "crm.csv"
    crm.write_text("crm_id,name,clv\n1,First,\n2,Second,99.5\n999999,Not in the file,\n", encoding="utf-8")
    assert invoke("customers", "import", str(crm))[0] == 0
    code, out = invoke(
        "clv", "fit", str(cdnow_csv), "--calibration-end", "1997-09-30", "--json",
        "--customer-column", "sample_id", "--date-column", "day", "--amount-column", "dollars",
    )  # fmt: skip
    assert code == 0, out
    result = json.loads(out)
    assert {k: round(result[k], 3) for k in ("r", "alpha", "a", "b")} == {
        "r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426,
    }  # fmt: skip
    assert {k: round(result[k], 2) for k in ("p", "q", "gamma")} == {
        "p": 6.25,
        "q": 3.74,
        "gamma": 15.44,
    }
    assert round(result["log_likelihood"]["bgnbd_log_likelihood"], 1) == -9582.4
    assert (result["customers"], result["repeat_customers"], result["transactions"]) == (
        2357,
        946,
        6919,
    )
    holdout = result["holdout"]
    assert holdout["end"] == "1998-06-30" and holdout["length"] == 39.0 and holdout["actual_total"] == 1882
    assert abs(holdout["total_error_pct"]) < 20 and holdout["mean_absolute_error"] < 1
    assert result["written"]["customers"] == 2 and result["written"]["imported"] == 1

    engine = make_engine(database_url)
    with session_scope(engine) as session:
        rows = {c.crm_id: c for c in session.exec(select(Customer)).all()}
    first = rows["1"]  # x=2, t_x=30.43, T=38.86: the papers' example customer
    assert first.clv_source == "model" and first.clv is not None and first.clv > 0
    assert first.p_alive == pytest.approx(0.7266, abs=1e-3)
    assert first.clv_basis is not None and first.clv_basis["x"] == 2
    assert rows["2"].clv == 99.5 and rows["2"].clv_source == "import" and rows["2"].p_alive is not None
    assert rows["999999"].clv is None
    engine.dispose()

    code, out = invoke(
        "clv", "fit", str(cdnow_csv), "--calibration-end", "1997-09-30", "--no-write",
        "--customer-column", "sample_id", "--date-column", "day", "--amount-column", "dollars",
    )  # fmt: skip
    assert code == 0 and "r=0.2426" in out and "holdout to 1998-06-30" in out and "-12.1%" in out


def test_import_link_and_review_from_the_cli(database_url: str, tmp_path: Path) -> None:
    crm = tmp_path / "crm.csv"
    crm.write_text(
        "crm_id,name,email,segment,currency,clv,x_handle,x_user_id,reddit_username,appstore_user,googleplay_user\n"
        "C1,Rosa Singh,rosa@example.com,gold,USD,500,rosa_singh,,,,\n"
        "C2,Ana Lima,ana@example.com,standard,USD,,,,,,\n"
        "C3,Broken,broken-email,standard,USD,,,,,,\n",
        encoding="utf-8",
    )
    code, out = invoke("customers", "import", str(crm))
    assert code == 0 and "2 inserted" in out and "1 rejected" in out and "invalid email" in out
    code, out = invoke("customers", "import", str(crm), "--json")
    assert json.loads(out)["rejected"] == [{"line": 4, "reason": "invalid email 'broken-email'"}]

    tx = tmp_path / "tx.csv"
    tx.write_text("customer_id,date,amount\nC1,2025-01-02,10\nC2,2025-01-03,20\nC2,2025-02-03,30\nC9,2025-01-01,1\n")
    code, out = invoke("transactions", "import", str(tx), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["inserted"] == 3 and report["rejected"][0]["line"] == 5
    assert report["values"]["customers"] == 2 and report["values"]["fallback"] == 1  # too few to fit

    engine = make_engine(database_url)
    with session_scope(engine) as session:
        session.add(Author(platform="x", external_id="1", handle="rosa_singh", followers=100))
        session.add(Author(platform="reddit", external_id="analima", handle="analima", display_name="Ana L."))
        session.add(User(email="lead@example.com", name="lead", role="lead", team="care", password_hash="x"))
    code, out = invoke("link", "--json")
    assert code == 0 and json.loads(out) == {
        "exact": 1, "email": 0, "suggested": 1, "compared": 1, "conflicts": 0, "linked_authors": 1,
    }  # fmt: skip
    code, out = invoke("identities", "list", "--status", "suggested", "--json")
    suggestions = json.loads(out)
    assert [(s["crm_id"], s["handle"], s["method"]) for s in suggestions] == [("C2", "analima", "suggested")]
    code, out = invoke("identities", "confirm", str(suggestions[0]["id"]), "--by", "lead")
    assert code == 0 and "confirmed by lead" in out
    with session_scope(engine) as session:
        assert session.exec(select(Identity).where(Identity.status == "confirmed")).all()[-1].confirmed_by == "lead"
    engine.dispose()

    code, out = invoke("identities", "reject", "12345", "--by", "lead")
    assert code == 2 and "no identity link 12345" in out
    code, out = invoke("identities", "reject", str(suggestions[0]["id"]), "--by", "nobody")
    assert code == 2 and "no engagebot user 'nobody'" in " ".join(out.split())
    code, out = invoke("clv", "refresh", "--json")
    assert code == 0 and json.loads(out)["customers"] == 2


def test_bad_files_are_one_clear_line(database_url: str, tmp_path: Path) -> None:
    code, out = invoke("customers", "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in out and "Traceback" not in out
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nA,a@example.com\n")
    code, out = invoke("customers", "import", str(bad))
    assert code == 2 and "missing column(s) crm_id" in out
    code, out = invoke("clv", "fit", str(bad), "--calibration-end", "2025-01-01")
    assert code == 2 and "missing column(s) customer_id, date, amount" in out
    code, out = invoke("clv", "fit", str(bad), "--calibration-end", "January")
    assert code == 2 and "Invalid isoformat" in out
