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

from db.engine import session_scope
from db.jobs import job_run
from db.statistics import GrowthWatch
from listener.parsers import API_PLATFORMS, PLATFORMS, parse_body
from listener.parsers.tabular import parse_row, validate_map
from listener.records import ParsedPage, ParsedPost, RecordError, Rejected, reject
from listener.store import normalise_brand_handles, quarantine, store_posts

log = logging.getLogger(__name__)
CHUNK_SIZE = 2000
_WRAPPER_KEYS = frozenset({"request", "status", "body"})


@dataclass(frozen=True, slots=True)
class Rejection:
    """One record that was not imported: the file, where in it, and why."""

    file: str
    ref: str | None
    error: str


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
        }


def unwrap(body: Any) -> tuple[Any, str | None]:
    """Strip the fixtures' ``{"request", "status", "body"}`` wrapper; an HTTP error is a reject."""
    if isinstance(body, Mapping) and set(body) >= _WRAPPER_KEYS and len(body) <= 4:
        status = body.get("status")
        if isinstance(status, int) and status >= 400:
            return None, f"recorded HTTP status {status}"
        return body["body"], None
    return body, None


def _read_json_documents(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield ``(ref, document)``: the whole file if it is one JSON value, else one per line.

    A line that is not JSON yields a ``RecordError`` as its document.
    """
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    stripped = text.strip()
    if not stripped:
        return
    try:
        yield path.name, json.loads(stripped)
        return
    except json.JSONDecodeError:
        pass
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        ref = f"{path.name}:{number}"
        try:
            yield ref, json.loads(line)
        except json.JSONDecodeError as exc:
            yield ref, RecordError(f"invalid JSON on line {number}: {exc.msg} (column {exc.colno})")


def _api_pages(path: Path, platform: str) -> Iterator[tuple[str, ParsedPage]]:
    """Parsed pages of a file of raw API bodies."""
    for ref, document in _read_json_documents(path):
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
            yield item_ref, page


def _line_text(path: Path, ref: str) -> str:
    try:
        number = int(ref.rsplit(":", 1)[1])
        with path.open(encoding="utf-8", errors="replace") as handle:
            for current, line in enumerate(handle, start=1):
                if current == number:
                    return line.rstrip("\n")
    except (ValueError, IndexError, OSError):
        pass
    return ""


def _tabular_rows(path: Path, platform: str) -> Iterator[tuple[str, Any]]:
    if platform == "csv":
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                return
            for number, row in enumerate(reader, start=2):
                extra = row.pop(None, None)
                if extra:
                    yield (
                        f"{path.name}:{number}",
                        RecordError(f"row has {len(extra)} more fields than the header"),
                    )
                    continue
                yield f"{path.name}:{number}", row
        return
    for ref, document in _read_json_documents(path):
        if isinstance(document, list):
            for index, item in enumerate(document):
                yield f"{ref}[{index}]", item
        else:
            yield ref, document


def _tabular_pages(
    path: Path, platform: str, column_map: Mapping[str, str], chunk: int
) -> Iterator[tuple[str, ParsedPage]]:
    page = ParsedPage()
    for ref, row in _tabular_rows(path, platform):
        if isinstance(row, RecordError):
            page.rejected.append(Rejected(ref=ref, error=str(row), raw=_line_text(path, ref)))
        elif not isinstance(row, Mapping):
            page.rejected.append(reject(ref, f"record is a {type(row).__name__}, not an object", row))
        else:
            try:
                page.posts.append(parse_row(row, platform=platform, column_map=column_map))
            except (RecordError, TypeError, ValueError, OverflowError) as exc:
                page.rejected.append(reject(ref, exc, row))
        if len(page.posts) + len(page.rejected) >= chunk:
            yield path.name, page
            page = ParsedPage()
    yield path.name, page


def read_pages(
    path: Path,
    platform: str,
    *,
    column_map: Mapping[str, str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[tuple[str, ParsedPage]]:
    """Parsed pages of one file: raw API bodies, or CSV/JSONL rows in chunks."""
    if platform in API_PLATFORMS:
        return _api_pages(path, platform)
    return _tabular_pages(path, platform, dict(column_map or {}), chunk_size)


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
) -> ImportResult:
    """Parse and store every record of ``paths``; bad records are quarantined, never fatal.

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
    result = ImportResult()
    growth = GrowthWatch(engine, ("authors", "posts"))
    with job_run(engine, "import", source=source_name) as counts:
        for path in files:
            pages = read_pages(path, platform, column_map=column_map, chunk_size=chunk_size)
            buffer: list[ParsedPost] = []
            rejects: list[Rejected] = []
            done = 0
            for _ref, page in pages:
                posts = page.posts if time_shift is None else [p.shifted(time_shift) for p in page.posts]
                buffer.extend(posts)
                rejects.extend(page.rejected)
                result.skipped += page.skipped
                for item in page.rejected:
                    result.rejections.append(Rejection(file=path.name, ref=item.ref, error=item.error))
                while len(buffer) >= chunk_size:
                    done += _flush(engine, source_name, platform, buffer[:chunk_size], rejects, brand, result)
                    growth.total(result.added)
                    del buffer[:chunk_size]
                    rejects = []
                    if on_progress:
                        on_progress(path, done)
            done += _flush(engine, source_name, platform, buffer, rejects, brand, result)
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
    }


def _flush(
    engine: Engine,
    source: str,
    platform: str,
    posts: Sequence[ParsedPost],
    rejects: Sequence[Rejected],
    brand: Mapping[str, frozenset[str]],
    result: ImportResult,
) -> int:
    if not posts and not rejects:
        return 0
    with session_scope(engine) as session:
        stored = store_posts(session, source=source, posts=posts, brand_handles=brand)
        quarantine(session, source=source, platform=platform, rejected=rejects)
    result.added += stored.added
    result.duplicates += stored.duplicates
    result.answered += stored.answered
    result.rejected += len(rejects)
    return len(posts) + len(rejects)
