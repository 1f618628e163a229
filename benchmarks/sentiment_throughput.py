"""Texts/second of the score step's model call vs the naive way, same texts, model and threads.

Naive baseline: ``transformers.pipeline("text-classification")`` over the same fp32 network,
called one text at a time (how most examples call it). Ours: ``SentimentModel.predict`` with
each precision (``auto``: what the score step uses; ``onnx-int8``: ONNX Runtime with int8
weights; ``int8``: PyTorch dynamic int8), length-sorted batches under ``inference_mode``.
Each method runs in its own process so its peak memory (max RSS) is its own.

    .venv/bin/python benchmarks/sentiment_throughput.py --texts 1200 --threads 1
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "tweeteval" / "sentiment" / "val_text.txt"


def _texts(path: Path, n: int) -> list[str]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return (lines * (n // len(lines) + 1))[:n]


def _measure(method: str, texts: list[str], threads: int, precision: str) -> dict[str, object]:
    import torch

    torch.set_num_threads(threads)
    sys.path.insert(0, str(REPO))
    from sentiment.model import load_model
    from sentiment.settings import SentimentSettings

    if method == "naive":
        from transformers import pipeline

        model = load_model(SentimentSettings(precision="fp32", threads=threads))
        classify = pipeline("text-classification", model=model.network, tokenizer=model.tokenizer, device="cpu")  # type: ignore[call-overload]
        classify(texts[0])
        started = time.perf_counter()
        for text in texts:
            classify(text)
        seconds = time.perf_counter() - started
        precision_used = "fp32"
    else:
        model = load_model(SentimentSettings(precision=precision, threads=threads))  # type: ignore[arg-type,unused-ignore]
        model.predict(texts[:8])
        started = time.perf_counter()
        model.predict(texts)
        seconds = time.perf_counter() - started
        precision_used = model.precision
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "method": method,
        "precision": precision_used,
        "texts": len(texts),
        "seconds": seconds,
        "texts_per_second": len(texts) / seconds,
        "peak_rss_mb": peak_mb,
        "threads": threads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a file of texts, one per line")
    parser.add_argument("--texts", type=int, default=1200)
    parser.add_argument("--threads", type=int, default=1, help="the same for every method (1: a fair core)")
    parser.add_argument(
        "--precision", default="auto,fp32,int8,onnx-int8", help="comma-separated: auto, fp32, bf16, int8, onnx-int8"
    )
    parser.add_argument("--method", choices=["naive", "ours"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    texts = _texts(args.data, args.texts)
    if args.method:
        print(json.dumps(_measure(args.method, texts, args.threads, args.precision)))
        return
    results: dict[str, Any] = {}
    runs = [("naive", "fp32")] + [("ours", p) for p in args.precision.split(",")]
    for method, precision in runs:
        command = [sys.executable, __file__, "--method", method, "--data", str(args.data)]
        command += ["--texts", str(args.texts), "--threads", str(args.threads)]
        command += ["--precision", precision]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[f"{method}:{precision}"] = json.loads(output.strip().splitlines()[-1])
    naive = float(results["naive:fp32"]["texts_per_second"])
    for r in results.values():
        r["speedup"] = float(r["texts_per_second"]) / naive
        print(
            f"{r['method']:>6} ({r['precision']}): {r['texts_per_second']:8.1f} texts/s  "
            f"x{r['speedup']:.2f}  peak RSS {r['peak_rss_mb']:.0f} MB  "
            f"({r['texts']} texts, {r['threads']} threads)"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
