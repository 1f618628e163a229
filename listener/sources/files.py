"""A file source: payload files (raw API bodies or exports) dropped in a folder, imported once.

Each run takes the files matching the configured paths or globs that it has not seen (by
path, size and modification time) one page per file, so a replaced file is read again and
an unchanged one costs nothing.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from listener.base import Page
from listener.importer import read_pages
from listener.parsers import PLATFORMS, parse_body
from listener.records import ParsedPage
from listener.settings import ImportSettings, SourceSettings


class FileSource:
    """Imports new or changed files; its platform is the files' (x, reddit, csv, ...)."""

    def __init__(
        self, source: SourceSettings, *, base_dir: Path | None = None, limits: ImportSettings | None = None
    ) -> None:
        if source.file_platform not in PLATFORMS:
            raise ValueError(f"source {source.name!r}: file_platform must be one of {', '.join(PLATFORMS)}")
        self.name = source.name
        self.platform = source.file_platform
        self.settings = source
        self.base_dir = base_dir or Path.cwd()
        self.limits = limits or ImportSettings()

    def parse(self, body: Any) -> ParsedPage:
        return parse_body(self.platform, body)

    def files(self) -> list[Path]:
        found: dict[str, Path] = {}
        for pattern in self.settings.files:
            full = pattern if Path(pattern).is_absolute() else str(self.base_dir / pattern)
            for match in sorted(glob.glob(full)):
                path = Path(match)
                if path.is_file():
                    found[str(path.resolve())] = path
        return [found[key] for key in sorted(found)]

    @staticmethod
    def signature(path: Path) -> str:
        stat = path.stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def fetch_page(self, position: Mapping[str, Any], *, max_results: int | None = None) -> Page:
        seen: dict[str, str] = dict(position.get("seen") or {})
        pending = [p for p in self.files() if seen.get(str(p.resolve())) != self.signature(p)]
        if not pending:
            return Page(body=None, position={"seen": seen}, done=True, parsed=ParsedPage())
        path = pending[0]
        parsed = ParsedPage()
        for _ref, page in read_pages(path, self.platform, column_map=self.settings.column_map, limits=self.limits):
            parsed.extend(page)
        seen[str(path.resolve())] = self.signature(path)
        return Page(
            body=None,
            position={"seen": seen},
            done=len(pending) == 1,
            parsed=parsed,
            reads=len(parsed.posts),
            note=path.name,
        )
