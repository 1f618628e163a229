"""Imports keep every good row: bad records are quarantined with file, line and reason.

Covers the reported failures (a lone surrogate in JSONL, a 200,000-character CSV cell, UTF-16
and Latin-1 files, empty files, a huge post), wrong types and values, a row only the
database refuses, and a property test that feeds random bytes and random records between
good rows and checks that no good row is ever lost.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from db.files.textfiles import detect, undecodable
from db.models import Post, QuarantinedRecord
from listener.importer import import_files
from listener.settings import ImportSettings

GOOD = {"created_at": "2026-01-01T10:00:00Z"}


def _posts(engine: Engine) -> dict[str, Post]:
    with Session(engine) as session:
        return {p.external_id: p for p in session.exec(select(Post)).all()}


def _quarantine(engine: Engine) -> list[QuarantinedRecord]:
    with Session(engine) as session:
        return list(session.exec(select(QuarantinedRecord)).all())


def _jsonl(*rows: dict[str, Any]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def test_lone_surrogate_costs_one_record(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    text = _jsonl({"id": "a1", "text": "fine", **GOOD})
    text += '{"id": "a2", "text": "broken \\ud800 here", "created_at": "2026-01-01T10:00:00Z"}\n'
    text += _jsonl({"id": "a3", "text": "also fine", **GOOD})
    path.write_text(text, encoding="utf-8")
    result = import_files(engine, platform="jsonl", paths=[path])
    assert (result.added, result.rejected) == (2, 1)
    assert set(_posts(engine)) == {"a1", "a3"}
    [bad] = _quarantine(engine)
    assert bad.record_ref == "posts.jsonl:2"
    assert bad.error == "undecodable text in text: U+D800 at character 7"
    assert "\\ud800" in bad.raw  # kept, as its escape


def test_oversized_csv_cell_costs_one_row(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(
        "id,text,created_at\n1,first,2026-01-01\n2," + "x" * 200_000 + ",2026-01-01\n3,third,2026-01-02\n",
        encoding="utf-8",
    )
    result = import_files(engine, platform="csv", paths=[path])
    assert (result.added, result.rejected) == (2, 1)
    assert set(_posts(engine)) == {"1", "3"}
    [bad] = _quarantine(engine)
    assert bad.record_ref == "big.csv:3"
    assert bad.error.startswith("cell 'text' has 200,000 characters, over the 131,072 limit")


def test_multiline_cells_keep_their_line_numbers(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('id,text,created_at\n1,"two\nlines",2026-01-01\n2,,2026-01-01\n3,ok,2026-01-01\n', encoding="utf-8")
    result = import_files(sqlite_engine, platform="csv", paths=[path])
    assert result.added == 2 and [r.ref for r in result.rejections] == ["multi.csv:4"]
    assert _posts(sqlite_engine)["1"].text == "two\nlines"


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("utf-8", b""),
        ("utf-8-sig", b""),
        ("utf-16", b""),  # with a BOM, in the machine's byte order
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-16-le", b""),  # no BOM
        ("utf-16-be", b""),
    ],
)
def test_encodings_are_detected(sqlite_engine: Engine, tmp_path: Path, encoding: str, prefix: bytes) -> None:
    path = tmp_path / "reviews.csv"
    path.write_bytes(prefix + "id,text,created_at\n1,Très déçu — naïve ☹,2026-01-01\n".encode(encoding))
    result = import_files(sqlite_engine, platform="csv", paths=[path])
    assert (result.added, result.rejected, result.warnings) == (1, 0, [])
    assert _posts(sqlite_engine)["1"].text == "Très déçu — naïve ☹"


def test_latin1_is_read_as_cp1252_with_a_warning(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("id,text,created_at\n1,Très déçu – 5€,2026-01-01\n".encode("cp1252"))
    result = import_files(sqlite_engine, platform="csv", paths=[path])
    assert result.added == 1
    assert _posts(sqlite_engine)["1"].text == "Très déçu – 5€"
    [warning] = result.warnings
    assert warning.file == "excel.csv" and warning.message.startswith("not UTF-8: read as cp1252")


def test_broken_bytes_in_a_utf8_file_cost_their_row(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = _jsonl({"id": "g1", "text": "café", **GOOD}).encode()
    bad = b'{"id": "b1", "text": "caf\xe9", "created_at": "2026-01-01T10:00:00Z"}\n'
    path.write_bytes(good + bad + _jsonl({"id": "g2", "text": "ok", **GOOD}).encode())
    assert detect(path).codec == "utf-8"
    result = import_files(sqlite_engine, platform="jsonl", paths=[path])
    assert set(_posts(sqlite_engine)) == {"g1", "g2"} and _posts(sqlite_engine)["g1"].text == "café"
    assert [r.error for r in result.rejections] == [
        "undecodable text in text: byte 0xE9 that is not UTF-8 at character 3"
    ]
    assert result.rejections[0].ref == "mixed.jsonl:2"


@pytest.mark.parametrize(("platform", "content"), [("csv", b""), ("jsonl", b"  \n\n"), ("x", b"\xef\xbb\xbf")])
def test_empty_files_are_reported(sqlite_engine: Engine, tmp_path: Path, platform: str, content: bytes) -> None:
    path = tmp_path / f"empty.{platform}"
    path.write_bytes(content)
    result = import_files(sqlite_engine, platform=platform, paths=[path])
    assert result.added == 0 and [(w.file, w.message) for w in result.warnings] == [
        (path.name, "empty file: no records")
    ]


def test_long_text_is_cut_and_flagged(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text(_jsonl({"id": "long", "text": "é" * 5000, **GOOD}, {"id": "short", "text": "hi", **GOOD}))
    result = import_files(engine, platform="jsonl", paths=[path], limits=ImportSettings(max_text_chars=1000))
    assert result.added == 2
    posts = _posts(engine)
    assert posts["long"].text == "é" * 1000 and posts["long"].text_truncated
    assert posts["long"].raw is not None and len(posts["long"].raw["text"]) == 1000
    assert posts["short"].text == "hi" and not posts["short"].text_truncated


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"id": "r", "text": {"nested": 1}, **GOOD}, "no text"),
        ({"id": "r", "text": "x", "created_at": "2026-02-30"}, "unreadable timestamp"),
        ({"id": "r", "text": "x", "created_at": "1066-10-14"}, "created_at out of range"),
        ({"id": "r", "text": "x", "rating": "five", **GOOD}, "rating is not a number"),
        ({"id": "r", "text": "x", "followers": 1e308, **GOOD}, "followers is not a number"),
        ({"id": "r", "text": "x", "engagement": -4, **GOOD}, "engagement out of range"),
        ({"id": "r", "text": "x", "followers": 3_000_000_000, **GOOD}, "followers out of range"),
    ],
)
def test_wrong_types_and_values_are_quarantined(
    sqlite_engine: Engine, tmp_path: Path, row: dict[str, Any], reason: str
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(_jsonl({"id": "ok1", "text": "good", **GOOD}, row, {"id": "ok2", "text": "good", **GOOD}))
    result = import_files(sqlite_engine, platform="jsonl", paths=[path])
    assert set(_posts(sqlite_engine)) == {"ok1", "ok2"}
    [bad] = result.rejections
    assert bad.ref == "rows.jsonl:2" and reason in bad.error


def test_json_nan_and_infinity_are_not_json(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "nan.jsonl"
    path.write_text(
        _jsonl({"id": "ok", "text": "good", **GOOD})
        + '{"id": "n", "text": "x", "followers": NaN, "date": "2026-01-01"}\n'
    )
    result = import_files(sqlite_engine, platform="jsonl", paths=[path])
    assert set(_posts(sqlite_engine)) == {"ok"}
    assert "NaN is not a JSON number" in result.rejections[0].error


@pytest.mark.postgres
def test_a_row_only_the_database_refuses_costs_that_row(pg_engine: Engine, tmp_path: Path) -> None:
    """PostgreSQL refuses a 200-character thread key (varchar 128); the parser lets it through."""
    path = tmp_path / "thread.jsonl"
    rows = [{"id": f"p{i}", "text": "ok", "conversation_id": "c" * (200 if i == 3 else 5), **GOOD} for i in range(6)]
    path.write_text(_jsonl(*rows))
    result = import_files(pg_engine, platform="jsonl", paths=[path])
    assert result.added == 5 and set(_posts(pg_engine)) == {"p0", "p1", "p2", "p4", "p5"}
    [bad] = _quarantine(pg_engine)
    assert bad.record_ref == "jsonl:p3" and bad.error.startswith("refused by the database: DataError")


def test_undecodable_names_the_field() -> None:
    assert (
        undecodable({"a": ["ok", {"b": "x\udce9"}]})
        == "undecodable text in a.b: byte 0xE9 that is not UTF-8 at character 1"
    )
    assert undecodable({"a": "fine"}) is None


# --- property: good rows are never lost ------------------------------------------------------

good_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40).filter(
    lambda t: bool(t.strip())
)
garbage_bytes = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" "))
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)


def _garbage_line(value: Any, fmt: str) -> bytes:
    """One line of garbage. In a CSV it holds no ``"``: a quote opening a cell legitimately
    makes the following lines part of that cell (until the next quote), good rows included."""
    if isinstance(value, bytes):
        line = value
    else:
        line = (
            json.dumps(value, ensure_ascii=False).replace("\n", " ").replace("\r", " ").encode("utf-8", "surrogatepass")
        )
    return line.replace(b'"', b"'") if fmt == "csv" else line


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fmt=st.sampled_from(["csv", "jsonl"]),
    goods=st.lists(good_text, min_size=1, max_size=8),
    bads=st.lists(garbage_bytes | json_values, max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_random_bytes_and_records_never_cost_a_good_row(
    sqlite_engine: Engine, tmp_path: Path, fmt: str, goods: list[str], bads: list[Any], order: Any
) -> None:
    run = uuid.uuid4().hex[:8]
    lines: list[bytes] = []
    for index, text in enumerate(goods):
        row = {"id": f"good-{run}-{index}", "text": text, "created_at": "2026-01-01T10:00:00Z"}
        if fmt == "csv":
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow(row.values())
            lines.append(buffer.getvalue().encode("utf-8").rstrip(b"\n"))
        else:
            lines.append(json.dumps(row, ensure_ascii=False).encode("utf-8"))
    lines += [_garbage_line(bad, fmt) for bad in bads]
    order.shuffle(lines)
    path = tmp_path / f"{run}.{fmt}"
    header = b"id,text,created_at\n" if fmt == "csv" else b""
    path.write_bytes(header + b"\n".join(lines) + b"\n")

    result = import_files(sqlite_engine, platform=fmt, paths=[path])

    stored = _posts(sqlite_engine)
    for index, text in enumerate(goods):
        post = stored.get(f"good-{run}-{index}")
        assert post is not None, f"good row {index} lost: {result.as_dict()}"
        assert post.text == text
    assert result.added + result.duplicates + result.rejected >= len(goods)


def test_cli_imports_both_files_and_reports_the_bad_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from engagebot.cli import app

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    jsonl = tmp_path / "posts.jsonl"
    jsonl.write_text(
        _jsonl({"id": "a1", "text": "fine", **GOOD})
        + '{"id": "a2", "text": "\\ud800", "created_at": "2026-01-01T10:00:00Z"}\n'
        + _jsonl({"id": "a3", "text": "fine too", **GOOD})
    )
    big = tmp_path / "big.csv"
    big.write_text("id,text,created_at\n1,first,2026-01-01\n2," + "x" * 200_000 + ",2026-01-01\n3,third,2026-01-02\n")
    runner = CliRunner()
    for platform, path, ref in (("jsonl", jsonl, "posts.jsonl:2"), ("csv", big, "big.csv:3")):
        result = runner.invoke(app, ["import-posts", "-p", platform, str(path), "--json"])
        assert result.exit_code == 0 and result.exception is None, result.output
        counts = json.loads(result.stdout)
        assert (counts["added"], counts["rejected"]) == (2, 1)
        assert [r["ref"] for r in counts["rejections"]] == [ref]
        assert "Traceback" not in result.output
    status = runner.invoke(app, ["status", "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["backlog"]["quarantined_records"] == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(platform=st.sampled_from(["csv", "jsonl", "x", "reddit"]), content=st.binary(max_size=400))
def test_any_bytes_import_without_raising(sqlite_engine: Engine, tmp_path: Path, platform: str, content: bytes) -> None:
    """Whatever the bytes, an import reports (added, rejected, warnings); it never raises."""
    path = tmp_path / f"{uuid.uuid4().hex[:8]}.{platform}"
    path.write_bytes(content)
    result = import_files(sqlite_engine, platform=platform, paths=[path])
    assert result.files == 1
    assert all(r.ref and r.error for r in result.rejections)  # every reject says where and why
    if not content.strip():
        assert [w.message for w in result.warnings][-1:] == ["empty file: no records"]
