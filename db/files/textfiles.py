"""Open an export as text whatever its encoding: BOM, UTF-16, UTF-8, else a reported cp1252 guess.

Exports come from Excel (UTF-16 with a BOM, or cp1252 without one), from web tools (UTF-8,
sometimes with a BOM) and from scripts. Reading them all as UTF-8 turned UTF-16 into rows of
"no text" and accents into U+FFFD without a word. Here the encoding is chosen once per file:

1. a byte-order mark says it (UTF-32, UTF-8, UTF-16 LE/BE);
2. without one, NUL bytes in every other position mean UTF-16 (LE or BE);
3. a file that is valid UTF-8 throughout is UTF-8;
4. a file whose non-ASCII bytes are *never* valid UTF-8 is read as cp1252 (Latin-1 where cp1252
   leaves a byte undefined), with a warning the importer reports;
5. a UTF-8 file with a few broken lines stays UTF-8: the broken bytes become lone surrogates
   (``surrogateescape``) and :func:`undecodable` finds them, so only the records holding them
   are quarantined.

Files are read twice at most (a streaming check, then the import); nothing is held whole.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

SAMPLE_BYTES = 64 * 1024
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True, slots=True)
class Encoding:
    """How a file is read: the codec, how many BOM bytes to skip, and what to warn about."""

    codec: str
    bom: int = 0
    warning: str | None = None
    empty: bool = False


def detect(path: Path) -> Encoding:
    """The encoding of ``path`` (see the module docstring for the order of the checks)."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if not head:
        return Encoding("utf-8", empty=True)
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return Encoding(codec, bom=len(bom), empty=len(head) == len(bom))
    utf16 = _bomless_utf16(head)
    if utf16:
        return Encoding(utf16)
    if _valid_utf8(path):
        return Encoding("utf-8")
    if _any_utf8_multibyte(path):
        return Encoding("utf-8")  # a UTF-8 file with broken lines: those records are quarantined
    codec = "cp1252" if _decodes(path, "cp1252") else "latin-1"
    return Encoding(codec, warning=f"not UTF-8: read as {codec} (Windows/Latin-1); check accented letters")


def open_text(path: Path, encoding: Encoding | None = None) -> TextIO:
    """``path`` opened as text in its encoding, past the BOM, universal newlines left to csv."""
    found = encoding or detect(path)
    handle = path.open("r", encoding=found.codec, errors="surrogateescape", newline="")
    if found.bom:
        first = handle.read(1)
        if first != "\ufeff":  # a BOM always decodes to U+FEFF; anything else is text to keep
            handle.seek(0)
    return handle


def undecodable(value: Any, where: str = "") -> str | None:
    """Why ``value`` cannot be stored as text, or None: the first lone surrogate in any string.

    A lone surrogate comes from a JSON escape (``"\\ud800"``) or from a byte that was not
    UTF-8 (``surrogateescape``); neither can be encoded for the database or a web page.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            char = value[exc.start]
            code = ord(char)
            what = f"byte 0x{code - 0xDC00:02X} that is not UTF-8" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
            return f"undecodable text{f' in {where}' if where else ''}: {what} at character {exc.start}"
        return None
    if isinstance(value, Mapping | list | tuple) and storable(value):
        return None  # the common case, checked at C speed; only a record that fails is searched
    if isinstance(value, Mapping):
        for key, item in value.items():
            label = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
            name = f"{where}.{label}" if where else label
            found = undecodable(key, name) or undecodable(item, name)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for item in value:
            found = undecodable(item, where)
            if found:
                return found
    return None


def storable(value: Any) -> bool:
    """True when every string in ``value`` (keys included) can be encoded: ASCII strings, the
    usual case, are passed without encoding them."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return False
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return True


def _bomless_utf16(head: bytes) -> str | None:
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _chunks(path: Path) -> Iterable[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def _decodes(path: Path, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)("strict")
    try:
        for chunk in _chunks(path):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _valid_utf8(path: Path) -> bool:
    return _decodes(path, "utf-8")


def _any_utf8_multibyte(path: Path) -> bool:
    """True when some line holds non-ASCII bytes that are valid UTF-8 (the file is UTF-8)."""
    with path.open("rb") as handle:
        for line in handle:
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            return True
    return False
