"""Build a shipped model's int8 ONNX graph in a child process.

Building needs the torch network (base encoder + delta: ~0.5 GB for the multilingual model)
and an export pass; scoring needs only the graph. Building in a child keeps the scoring
process's memory to the graphs alone, on the first run as on every later one:
    python -m sentiment.onnx_build multilingual sentiment/weights/multilingual.safetensors out.onnx
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def build_in_child(kind: str, weights: Path, target: Path) -> None:
    """Run this module in a fresh interpreter to write ``target``; its error, if any, is ours."""
    command = [sys.executable, "-m", "sentiment.onnx_build", kind, str(weights), str(target)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not target.is_file():
        lines = (done.stderr or done.stdout or "no output").strip().splitlines()
        log.debug("the int8 graph build said:\n%s", "\n".join(lines))
        raise RuntimeError(f"building the int8 graph of the {kind} model failed (exit {done.returncode}): {lines[-1]}")


def main(argv: list[str] | None = None) -> None:
    """``kind weights target``: build ``kind``'s network from ``weights`` and write its graph."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        raise SystemExit("usage: python -m sentiment.onnx_build default|multilingual WEIGHTS TARGET")
    kind, weights, target = args[0], Path(args[1]), Path(args[2])
    from sentiment.model import MULTILINGUAL_KEY, shipped_network
    from sentiment.onnx_export import build_int8

    build_int8(shipped_network(kind, weights), target, embeddings=kind == MULTILINGUAL_KEY)


if __name__ == "__main__":
    main()
