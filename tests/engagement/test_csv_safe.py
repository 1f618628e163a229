"""Every CSV the product writes holds no live formula: one guard (engagement.csv_safe), a run of
every writer with hostile data, and a scan that no module writes CSV around the guard."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import col
from test_report_dataset import NOW, build_dataset

from db.engine import session_scope
from db.models import Customer, Post
from engagement import csv_safe
from engagement.report.tables import Column, Table
from engagement.report.weekly import build_weekly_report
from engagement.settings import EngagementSettings

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = [
    '=HYPERLINK("https://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def assert_no_live_formula(text: str) -> int:
    """Every cell of a CSV document: none may start like a formula unless it is a number.
    Returns how many cells were defused (start with the guard's ')."""
    defused = 0
    for row in csv.reader(io.StringIO(text, newline="")):
        for value in row:
            assert not (value.startswith(csv_safe.FORMULA_START) and not NUMBER.fullmatch(value)), value
            defused += value.startswith("'") and value[1:2] in {c[0] for c in csv_safe.FORMULA_START}
    return defused


@pytest.mark.parametrize("payload", PAYLOADS)
def test_cell_defuses_every_formula_start(payload: str) -> None:
    assert csv_safe.cell(payload) == "'" + payload


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), (-12.5, -12.5), ("-12.5", "-12.5"), ("+3", "+3"), ("1e5", "1e5"), ("plain", "plain"), (True, "true")],
)
def test_numbers_and_plain_text_are_kept(value: object, expected: object) -> None:
    assert csv_safe.cell(value) == expected


def test_writer_quotes_and_guards() -> None:
    buffer = io.StringIO()
    csv_safe.writer(buffer).writerows([["text", "n"], *[[p, -1] for p in PAYLOADS]])
    assert assert_no_live_formula(buffer.getvalue()) == len(PAYLOADS)
    rows = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS]  # the text itself survives


def test_report_table_csv(tmp_path: Path) -> None:
    table = Table(
        key="t",
        title="t",
        columns=[Column("name", "Name"), Column("money", "Money", "money"), Column("share", "Share", "share")],
        rows=[{"name": p, "money": -5.0, "share": 0.5} for p in PAYLOADS],
    )
    path = table.write_csv(tmp_path / "t.csv", currency="=EUR")
    assert assert_no_live_formula(path.read_bytes().decode("utf-8")) == 2 * len(PAYLOADS)  # names and the currency


def test_weekly_report_csvs_hold_no_live_formula(sqlite_engine: Engine, tmp_path: Path) -> None:
    build_dataset(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        ids = session.execute(select(col(Customer.id)).order_by(col(Customer.id))).scalars().all()
        for number, customer_id in enumerate(ids):
            hostile = PAYLOADS[number % len(PAYLOADS)]
            session.execute(update(Customer).where(col(Customer.id) == customer_id).values(name=hostile))
        session.execute(update(Post).values(text=PAYLOADS[1] + " " + col(Post.text)))
    settings = EngagementSettings(public_url="https://care.example")
    settings = settings.model_copy(update={"report": settings.report.model_copy(update={"pdf": False})})
    report = build_weekly_report(sqlite_engine, settings, out_dir=tmp_path, now=NOW, enqueue_slack=False)
    assert report.csv_paths
    defused = sum(assert_no_live_formula(p.read_bytes().decode("utf-8")) for p in report.csv_paths.values())
    assert defused > 0, "no hostile name reached the report's CSVs: the test proves nothing"


def test_no_module_writes_csv_around_the_guard() -> None:
    """A new CSV writer must go through engagement.csv_safe (or be listed here with why)."""
    allowed = {
        "engagement/csv_safe.py": "the guard itself",
        "engagebot/demo.py": "copies the bundled demo transactions for import, not an export",
    }
    offenders = []
    for folder in ("engagement", "engagebot", "listener", "db", "sentiment"):
        for path in (REPO / folder).rglob("*.py"):
            name = path.relative_to(REPO).as_posix()
            if name not in allowed and re.search(r"csv\.(writer|DictWriter)\(", path.read_bytes().decode("utf-8")):
                offenders.append(name)
    assert offenders == []
