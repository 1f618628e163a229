"""Texts/second of the score step's model call vs the naive way, same texts, model and threads.

Naive baseline: ``transformers.pipeline("text-classification")`` over the same fp32 network,
called one text at a time (how most examples call it). Ours: ``SentimentModel.predict`` with
each precision (``auto``: what the score step uses; ``onnx-int8``: ONNX Runtime with int8
weights; ``int8``: PyTorch dynamic int8), length-sorted batches under ``inference_mode``.
Each method runs in its own process so its peak memory (max RSS) is its own; the ONNX
methods never import torch, as in the score step.

For the English model, ``seconded`` is the score step's English as shipped: the English model
with the multilingual model's second opinion where it is unsure (``sentiment.routing``), both
networks loaded. Its ratio is against the naive English pipeline, and ``same_work_speedup``
against the naive way to compute the same scores: the naive English pipeline on every text plus
the naive multilingual pipeline (``naive-second``, on the same English texts) on the share of
texts the second opinion was asked for.

``--model multilingual``: the same comparison for the multilingual model (UMSAB validation
tweets in de/fr/es/it/pt by default), plus ``both``: the routed model with both networks
loaded, scoring English and the other languages together (its peak RSS is the memory the score
step needs with both models).

    .venv/bin/python benchmarks/sentiment_throughput.py --texts 1200 --threads 1
    .venv/bin/python benchmarks/sentiment_throughput.py --model multilingual --texts 1200 --threads 1
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
UMSAB = REPO.parent / "shared" / "data" / "umsab"
MULTILINGUAL_FOLDERS = {"german": "de", "french": "fr", "spanish": "es", "italian": "it", "portuguese": "pt"}


def _texts(path: Path | None, n: int, model: str) -> tuple[list[str], list[str]]:
    """``n`` texts (cycled) and their languages: TweetEval val, or UMSAB val for multilingual."""
    if path is not None or model == "default":
        source = path or DEFAULT_DATA
        lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        pairs = [(line, "en") for line in lines]
    else:  # interleave the languages so every prefix of the list mixes them
        per = {
            code: (UMSAB / name / "val_text.txt").read_text(encoding="utf-8").splitlines()
            for name, code in MULTILINGUAL_FOLDERS.items()
        }
        pairs = [(per[code][i], code) for i in range(min(map(len, per.values()))) for code in per]
    pairs = (pairs * (n // len(pairs) + 1))[:n]
    return [t for t, _ in pairs], [lang for _, lang in pairs]


def _load(model: str, precision: str, threads: int) -> Any:
    from sentiment.model import load_model, load_multilingual
    from sentiment.settings import SentimentSettings

    settings = SentimentSettings(precision=precision, threads=threads, multilingual=model != "default")  # type: ignore[arg-type,unused-ignore]
    return load_multilingual(settings) if model == "multilingual" else load_model(settings)


def _measure(
    method: str, texts: list[str], langs: list[str], threads: int, precision: str, model_name: str
) -> dict[str, object]:
    sys.path.insert(0, str(REPO))

    extra: dict[str, object] = {}
    if method in ("naive", "naive-second"):
        import torch
        from transformers import AutoTokenizer, pipeline

        from sentiment.model import DEFAULT_NAME_KEY, MULTILINGUAL_KEY, shipped_base_dir

        torch.set_num_threads(threads)
        if method == "naive-second":  # the multilingual network, on the (English) texts given
            model_name = "multilingual"
        model = _load(model_name, "fp32", threads)
        kind = MULTILINGUAL_KEY if model_name == "multilingual" else DEFAULT_NAME_KEY
        tokenizer = AutoTokenizer.from_pretrained(str(shipped_base_dir(kind)))
        classify = pipeline("text-classification", model=model.network, tokenizer=tokenizer, device="cpu")
        classify(texts[0])
        started = time.perf_counter()
        for text in texts:
            classify(text)
        seconds = time.perf_counter() - started
        precision_used = "fp32"
    elif method == "seconded":  # English as the score step scores it: the second opinion included
        from sentiment.model import load_model
        from sentiment.routing import RoutedModel, unsure_rows
        from sentiment.settings import SentimentSettings

        model = load_model(SentimentSettings(precision=precision, threads=threads))  # type: ignore[arg-type,unused-ignore]
        english_langs = ["en"] * len(texts)
        model.predict(texts[:8], english_langs[:8])
        started = time.perf_counter()
        model.predict(texts, english_langs)
        seconds = time.perf_counter() - started
        precision_used = model.precision
        if isinstance(model, RoutedModel) and model.second_opinion is not None:  # how often (not timed)
            alone = model.primary.probabilities(texts, english_langs)
            extra["seconded_share"] = float(unsure_rows(alone, model.second_opinion.gate).mean())
    elif method == "both":  # the routed model: English and the other languages, both networks loaded
        model = _load("both", precision, threads)
        english = _texts(None, len(texts), "default")[0]
        mixed = [t for pair in zip(english, texts, strict=True) for t in pair][: len(texts)]
        mixed_langs = [lang for pair in zip(["en"] * len(texts), langs, strict=True) for lang in pair][: len(texts)]
        model.predict(mixed[:16], mixed_langs[:16])
        started = time.perf_counter()
        model.predict(mixed, mixed_langs)
        seconds = time.perf_counter() - started
        precision_used = model.precision
    else:
        model = _load(model_name, precision, threads)
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
        **extra,
    }


def same_work_speedup(results: dict[str, Any]) -> float | None:
    """``seconded`` against the naive way to the same scores: naive English on every text, naive
    multilingual on the seconded share (None without those runs)."""
    seconded, naive, second = (results.get(k) for k in ("seconded:auto", "naive:fp32", "naive-second:fp32"))
    if not (seconded and naive and second) or "seconded_share" not in seconded:
        return None
    per_text = 1 / float(naive["texts_per_second"]) + float(seconded["seconded_share"]) / float(
        second["texts_per_second"]
    )
    return float(seconded["texts_per_second"]) * per_text


def cpu_summary() -> str:
    """The CPU's model name and the flags that decide int8 speed (VNNI, AVX-512, AVX2, AMX)."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    wanted = [f for f in sorted(set(flags)) if f.startswith(("avx", "amx")) or "vnni" in f]
    return f"{name}; flags: {' '.join(wanted) or 'none of avx/vnni/amx'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="a file of texts, one per line")
    parser.add_argument(
        "--model", choices=["default", "multilingual"], default="default", help="which shipped model to measure"
    )
    parser.add_argument("--texts", type=int, default=1200)
    parser.add_argument("--threads", type=int, default=1, help="the same for every method (1: a fair core)")
    parser.add_argument(
        "--precision", default="auto,fp32,int8,onnx-int8", help="comma-separated: auto, fp32, bf16, int8, onnx-int8"
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="store the figures in sentiment/weights/performance.json and the model card's speed section",
    )
    methods = ["naive", "naive-second", "ours", "both", "seconded"]
    parser.add_argument("--method", choices=methods, help=argparse.SUPPRESS)
    args = parser.parse_args()
    texts, langs = _texts(args.data, args.texts, args.model)
    if args.method:
        print(json.dumps(_measure(args.method, texts, langs, args.threads, args.precision, args.model)))
        return
    results: dict[str, Any] = {}
    runs = [("naive", "fp32")] + [("ours", p) for p in args.precision.split(",")]
    runs += [("both", "auto")] if args.model == "multilingual" else [("seconded", "auto"), ("naive-second", "fp32")]
    for method, precision in runs:
        command = [sys.executable, __file__, "--method", method, "--model", args.model]
        command += ["--data", str(args.data)] if args.data else []
        command += ["--texts", str(args.texts), "--threads", str(args.threads)]
        command += ["--precision", precision]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[f"{method}:{precision}"] = json.loads(output.strip().splitlines()[-1])
    naive = float(results["naive:fp32"]["texts_per_second"])
    print(f"CPU: {cpu_summary()}")
    same_work = same_work_speedup(results)
    if same_work is not None:
        results["seconded:auto"]["same_work_speedup"] = same_work
    for r in results.values():
        r["speedup"] = float(r["texts_per_second"]) / naive
        print(
            f"{r['method']:>6} ({r['precision']}): {r['texts_per_second']:8.1f} texts/s  "
            f"x{r['speedup']:.2f}  peak RSS {r['peak_rss_mb']:.0f} MB  "
            f"({r['texts']} texts, {r['threads']} threads)"
        )
    if same_work is not None:
        print(
            f"seconded: x{same_work:.2f} the naive way to the same scores (naive English on every text, naive "
            f"multilingual on the {results['seconded:auto']['seconded_share']:.0%} seconded)"
        )
    print(json.dumps(results))
    if args.record:
        record(args.model, results, args.threads, args.texts)


def record(model: str, results: dict[str, Any], threads: int, texts: int) -> None:
    """Keep this run's figures for the model card (which states speed and peak memory)."""
    sys.path.insert(0, str(REPO))
    from sentiment.card import PERFORMANCE_FILE, refresh_shipped_card

    data = json.loads(PERFORMANCE_FILE.read_text(encoding="utf-8")) if PERFORMANCE_FILE.is_file() else {}
    data[model] = {
        "measured": time.strftime("%Y-%m-%d"),
        "cpu": cpu_summary(),
        "threads": threads,
        "texts": texts,
        "runs": {
            name: {k: round(v, 3) if isinstance(v, float) else v for k, v in run.items()}
            for name, run in results.items()
        },
    }
    PERFORMANCE_FILE.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    refresh_shipped_card(model)


if __name__ == "__main__":
    main()
