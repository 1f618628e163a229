"""Import raw API bodies and CSV/JSONL exports from files: the backfill path of ``import-posts``.

Runs the same parsers as live collection. Files may hold one body, a JSON list of bodies,
one body per line (twarc's JSONL), or the fixtures' ``{"request", "status", "body"}``
wrapper. Each chunk of posts is committed with its rejects, so a crash loses nothing that a
rerun would not add again, and a rerun adds nothing twice.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlmodel import Session

from db.engine import session_scope
from db.files.quarantine import quarantine
from db.files.raw import CSV_HARD_LIMIT, Rejected
from db.files.textfiles import detect, open_text, undecodable
from db.jobs import job_run
from db.statistics import GrowthWatch
from listener.parsers import API_PLATFORMS, PLATFORMS, parse_body
from listener.parsers.tabular import parse_row, validate_map
from listener.records import ParsedPage, ParsedPost, RecordError, reject, screen
from listener.settings import ImportSettings
from listener.store import StoreCounts, normalise_brand_handles, store_posts

log = logging.getLogger(__name__)
CHUNK_SIZE = 2000
EMPTY_FILE = "empty file: no records"


def _row_error(exc: Exception) -> bool:
    """The database (or its driver) refused a value: a bad row, not a broken database or schema
    (those still raise)."""
    if isinstance(exc, DataError | IntegrityError | UnicodeError):
        return True
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError) and isinstance(exc.orig, UnicodeError)


_WRAPPER_KEYS = frozenset({"request", "status", "body"})


@dataclass(frozen=True, slots=True)
class Rejection:
    """One record that was not imported: the file, where in it, and why."""

    file: str
    ref: str | None
    error: str


@dataclass(frozen=True, slots=True)
class FileWarning:
    """Something to tell about a whole file: it is empty, or its encoding was guessed."""

    file: str
    message: str


@dataclass(slots=True)
class ImportResult:
    """Counts of one import: added, skipped as duplicates, rejected (with reasons)."""

    added: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0
    answered: int = 0
    files: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[FileWarning] = field(default_factory=list)

    @property
    def reasons(self) -> dict[str, int]:
        """How many records were rejected for each reason (most common first)."""
        return dict(
            Counter(r.error.split(":", 1)[0] if len(r.error) > 80 else r.error for r in self.rejections).most_common()
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "answered": self.answered,
            "files": self.files,
            "reasons": self.reasons,
            "rejections": [{"file": r.file, "ref": r.ref, "error": r.error} for r in self.rejections[:1000]],
            "warnings": [{"file": w.file, "message": w.message} for w in self.warnings],
        }


def unwrap(body: Any) -> tuple[Any, str | None]:
    """Strip the fixtures' ``{"request", "status", "body"}`` wrapper; an HTTP error is a reject."""
    if isinstance(body, Mapping) and set(body) >= _WRAPPER_KEYS and len(body) <= 4:
        status = body.get("status")
        if isinstance(status, int) and status >= 400:
            return None, f"recorded HTTP status {status}"
        return body["body"], None
    return body, None


def _no_constants(name: str) -> Any:
    raise RecordError(f"{name} is not a JSON number")


def _loads(text: str, strict: bool) -> Any:
    """JSON; ``strict`` refuses ``NaN`` and ``Infinity`` (which Python accepts). Exports are
    strict (one record per line); API bodies are not, since one body is a page of many posts
    whose parsers read a non-finite metric as missing."""
    return json.loads(text, parse_constant=_no_constants) if strict else json.loads(text)


def _read_json_documents(path: Path, warnings: list[str], *, strict: bool) -> Iterator[tuple[str, Any]]:
    """Yield ``(ref, document)``: the whole file if it is one JSON value, else one per line.

    A line that is not JSON yields a ``RecordError`` as its document. The encoding is detected
    (:mod:`db.files.textfiles`); a guess and an empty file are added to ``warnings``.
    """
    encoding = detect(path)
    if encoding.warning:
        warnings.append(encoding.warning)
    with open_text(path, encoding) as handle:
        text = handle.read()
    stripped = text.strip()
    if not stripped:
        warnings.append(EMPTY_FILE)
        return
    try:
        yield path.name, _loads(stripped, strict)
        return
    except (json.JSONDecodeError, RecordError):
        pass
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        ref = f"{path.name}:{number}"
        try:
            yield ref, _loads(line, strict)
        except json.JSONDecodeError as exc:
            yield ref, RecordError(f"invalid JSON on line {number}: {exc.msg} (column {exc.colno})")
        except RecordError as exc:
            yield ref, RecordError(f"invalid JSON on line {number}: {exc}")


def _api_pages(path: Path, platform: str) -> Iterator[tuple[str, ParsedPage]]:
    """Parsed pages of a file of raw API bodies."""
    warnings: list[str] = []
    for ref, document in _read_json_documents(path, warnings, strict=False):
        if isinstance(document, RecordError):
            page = ParsedPage()
            page.rejected.append(Rejected(ref=ref, error=str(document), raw=_line_text(path, ref)))
            yield ref, page
            continue
        # A JSON list is several responses for X; for Reddit and Google Play a list is itself
        # one body (Listings of /comments/:id, a list of review dicts).
        bodies: list[Any] = document if platform == "x" and isinstance(document, list) else [document]
        for index, item in enumerate(bodies):
            item_ref = ref if len(bodies) == 1 else f"{ref}[{index}]"
            body, error = unwrap(item)
            if error:
                page = ParsedPage()
                page.rejected.append(reject(item_ref, error, item))
            else:
                if platform == "reddit" and isinstance(body, list):
                    body = [unwrap(b)[0] for b in body]
                page = parse_body(platform, body)
                # the parser names a record by its id, where it has one: add the file and line
                page.rejected = [
                    Rejected(ref=f"{item_ref} {r.ref}"[:255] if r.ref else item_ref, error=r.error, raw=r.raw)
                    for r in page.rejected
                ]
                page.posts, unstorable = screen(page.posts, where=item_ref)
                page.rejected.extend(unstorable)
            yield item_ref, page
    if warnings:
        yield path.name, ParsedPage(warnings=warnings)


def _line_text(path: Path, ref: str) -> str:
    try:
        number = int(ref.rsplit(":", 1)[1])
        with open_text(path) as handle:
            for current, line in enumerate(handle, start=1):
                if current == number:
                    return line.rstrip("\r\n").encode("utf-8", "backslashreplace").decode("utf-8")
    except (ValueError, IndexError, OSError):
        pass
    return ""


def _csv_rows(path: Path, max_cell: int, warnings: list[str]) -> Iterator[tuple[str, Any]]:
    """``(file:line, row)`` of a CSV export; a row that cannot be read is a ``RecordError``.

    Python's csv refuses a cell over 131,072 characters by raising out of the whole file; the
    limit is raised here (it is process-wide and only ever raised) and ``max_cell`` is checked
    per row instead, so one oversized cell costs one row.
    """
    csv.field_size_limit(max(csv.field_size_limit(), max_cell + 1, CSV_HARD_LIMIT))
    encoding = detect(path)
    if encoding.warning:
        warnings.append(encoding.warning)
    with open_text(path, encoding) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            warnings.append(EMPTY_FILE)
            return
        except csv.Error as exc:
            yield f"{path.name}:1", RecordError(f"unreadable header: {exc}")
            return
        if not any(h.strip() for h in header):
            warnings.append(EMPTY_FILE)
            return
        last = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield f"{path.name}:{last + 1}", RecordError(f"unreadable CSV row: {exc}")
                last = reader.line_num
                continue
            ref = f"{path.name}:{last + 1}"
            last = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                yield ref, RecordError(f"row has {len(cells) - len(header)} more fields than the header")
                continue
            longest = max(range(len(cells)), key=lambda i: len(cells[i]))
            if len(cells[longest]) > max_cell:
                yield (
                    ref,
                    RecordError(
                        f"cell {header[longest]!r} has {len(cells[longest]):,} characters, over the {max_cell:,} limit"
                        " (listener.imports.max_cell_chars)"
                    ),
                )
                continue
            yield ref, dict(zip(header, cells, strict=False))


def _tabular_rows(path: Path, platform: str, max_cell: int, warnings: list[str]) -> Iterator[tuple[str, Any]]:
    if platform == "csv":
        yield from _csv_rows(path, max_cell, warnings)
        return
    for ref, document in _read_json_documents(path, warnings, strict=True):
        if isinstance(document, list):
            for index, item in enumerate(document):
                yield f"{ref}[{index}]", item
        else:
            yield ref, document


def _tabular_pages(
    path: Path, platform: str, column_map: Mapping[str, str], chunk: int, max_cell: int
) -> Iterator[tuple[str, ParsedPage]]:
    page = ParsedPage()
    warnings: list[str] = []
    for ref, row in _tabular_rows(path, platform, max_cell, warnings):
        if isinstance(row, RecordError):
            page.rejected.append(Rejected(ref=ref, error=str(row), raw=_line_text(path, ref)))
        elif not isinstance(row, Mapping):
            page.rejected.append(reject(ref, f"record is a {type(row).__name__}, not an object", row))
        elif problem := undecodable(row):
            page.rejected.append(reject(ref, problem, row))
        else:
            try:
                page.posts.append(parse_row(row, platform=platform, column_map=column_map))
            except (RecordError, TypeError, ValueError, OverflowError) as exc:
                page.rejected.append(reject(ref, exc, row))
        if len(page.posts) + len(page.rejected) >= chunk:
            yield path.name, page
            page = ParsedPage()
    page.warnings = warnings
    yield path.name, page


def read_pages(
    path: Path,
    platform: str,
    *,
    column_map: Mapping[str, str] | None = None,
    chunk_size: int = CHUNK_SIZE,
    limits: ImportSettings | None = None,
) -> Iterator[tuple[str, ParsedPage]]:
    """Parsed pages of one file: raw API bodies, or CSV/JSONL rows in chunks.

    A page's ``warnings`` say what the whole file needs to be told about (an empty file, an
    encoding that was guessed).
    """
    limits = limits or ImportSettings()
    if platform in API_PLATFORMS:
        return _api_pages(path, platform)
    return _tabular_pages(path, platform, dict(column_map or {}), chunk_size, limits.max_cell_chars)


def import_files(
    engine: Engine,
    *,
    platform: str,
    paths: Sequence[Path],
    source: str | None = None,
    brand_handles: Mapping[str, Sequence[str]] | None = None,
    column_map: Mapping[str, str] | None = None,
    time_shift: timedelta | None = None,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Callable[[Path, int], None] | None = None,
    limits: ImportSettings | None = None,
) -> ImportResult:
    """Parse and store every record of ``paths``; bad records are quarantined, never fatal.

    A record that parses but that the database refuses costs that record only: the chunk is
    then stored row by row and the refused row quarantined with the database's reason.
    ``limits`` caps text and CSV cells (``listener.imports``); an empty file and a guessed
    encoding are ``result.warnings``.
    ``time_shift`` is added to every parsed timestamp (the demo makes recorded data recent).
    ``on_progress(path, records)`` is called after each stored chunk (for progress bars).
    Raises ``ValueError`` for an unknown platform or column-map field and ``OSError`` for
    an unreadable file (checked before anything is written).
    """
    platform = platform.lower()
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r} (one of {', '.join(PLATFORMS)})")
    column_map = dict(column_map or {})
    validate_map(column_map)
    files = [Path(p) for p in paths]
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
    source_name = source or f"import:{platform}"
    brand = normalise_brand_handles(brand_handles)
    limits = limits or ImportSettings()
    result = ImportResult()
    growth = GrowthWatch(engine, ("authors", "posts"))
    with job_run(engine, "import", source=source_name) as counts:
        for path in files:
            pages = read_pages(path, platform, column_map=column_map, chunk_size=chunk_size, limits=limits)
            buffer: list[ParsedPost] = []
            rejects: list[Rejected] = []
            done = 0
            for _ref, page in pages:
                posts = page.posts if time_shift is None else [p.shifted(time_shift) for p in page.posts]
                buffer.extend(posts)
                rejects.extend(page.rejected)
                result.skipped += page.skipped
                for message in page.warnings:
                    result.warnings.append(FileWarning(file=path.name, message=message))
                    log.warning("import %s: %s", path.name, message)
                for item in page.rejected:
                    result.rejections.append(Rejection(file=path.name, ref=item.ref, error=item.error))
                while len(buffer) >= chunk_size:
                    done += _flush(
                        engine, source_name, platform, buffer[:chunk_size], rejects, brand, result, limits, path.name
                    )
                    growth.total(result.added)
                    del buffer[:chunk_size]
                    rejects = []
                    if on_progress:
                        on_progress(path, done)
            done += _flush(engine, source_name, platform, buffer, rejects, brand, result, limits, path.name)
            growth.total(result.added)
            if on_progress:
                on_progress(path, done)
            result.files += 1
            counts.update(_counts(result))
    log.info(
        "imported %s file(s) as %s: %d added, %d duplicates, %d rejected",
        result.files,
        platform,
        result.added,
        result.duplicates,
        result.rejected,
    )
    return result


def _counts(result: ImportResult) -> dict[str, int]:
    return {
        "files": result.files,
        "added": result.added,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
        "skipped": result.skipped,
        "answered": result.answered,
        "warnings": len(result.warnings),
    }


def _flush(
    engine: Engine,
    source: str,
    platform: str,
    posts: Sequence[ParsedPost],
    rejects: Sequence[Rejected],
    brand: Mapping[str, frozenset[str]],
    result: ImportResult,
    limits: ImportSettings,
    file: str,
) -> int:
    if not posts and not rejects:
        return 0
    refused: list[Rejected] = []
    with session_scope(engine) as session:
        stored = _store_keeping_good_rows(session, source, posts, brand, limits, refused)
        quarantine(session, source=source, platform=platform, rejected=[*rejects, *refused])
    result.added += stored.added
    result.duplicates += stored.duplicates
    result.answered += stored.answered
    result.rejected += len(rejects) + len(refused)
    result.rejections.extend(Rejection(file=file, ref=r.ref, error=r.error) for r in refused)
    return len(posts) + len(rejects)


def _store_keeping_good_rows(
    session: Session,
    source: str,
    posts: Sequence[ParsedPost],
    brand: Mapping[str, frozenset[str]],
    limits: ImportSettings,
    refused: list[Rejected],
) -> StoreCounts:
    """The whole chunk in one statement; if the database refuses it, halves until the refused
    rows are alone, and quarantines those (a savepoint per try keeps the transaction usable)."""
    try:
        with session.begin_nested():
            return store_posts(
                session, source=source, posts=posts, brand_handles=brand, max_text_chars=limits.max_text_chars
            )
    except (StatementError, UnicodeError) as exc:
        if not _row_error(exc):
            raise
        if len(posts) == 1:
            post = posts[0]
            reason = f"refused by the database: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            refused.append(reject(f"{post.platform}:{post.external_id}", reason, post.raw or post.text))
            log.warning("import: %s", reason)
            return StoreCounts()
    counts = StoreCounts()
    half = len(posts) // 2
    for part in (posts[:half], posts[half:]):
        if part:
            counts.merge(_store_keeping_good_rows(session, source, part, brand, limits, refused))
    return counts
