"""A weights file's hash is remembered while the file stays as it was, and follows a rewrite."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sentiment.files import file_hash


def test_file_hash_is_the_short_sha256_and_follows_a_rewritten_file(tmp_path: Path) -> None:
    weights = tmp_path / "default.safetensors"
    weights.write_bytes(b"first weights")
    assert file_hash(weights) == hashlib.sha256(b"first weights").hexdigest()[:12]
    assert file_hash(weights) == file_hash(tmp_path / "." / "default.safetensors")
    stamp = weights.stat().st_mtime_ns
    weights.write_bytes(b"other weights")  # same size: only the time tells the rewrite apart
    os.utime(weights, ns=(stamp + 1_000_000_000, stamp + 1_000_000_000))
    assert file_hash(weights) == hashlib.sha256(b"other weights").hexdigest()[:12]
