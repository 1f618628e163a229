"""Model selection: whole airlines held out, and TweetEval-val scores of training variants.

Over a prepared data file (``prepare`` writes it from ``../shared``), on a GPU or a CPU:
    python -m research.selection prepare --shared ../shared --out .gpu/data.json
    python -m research.selection run --data .gpu/data.json --out OUT \
        --configs default --folds "United+Southwest,US Airways+American" --no-int8
Each job trains one variant with one or more airlines held out (or ``all`` airlines, the final
model) and writes its validation numbers (fp32, and dynamic int8 on CPU) as JSON."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from sentiment.files import base_encoder_dir
from sentiment.labels import LABELS
from sentiment.metrics import classification_report
from sentiment.network import batched_probabilities, merge_lora, quantise_encoder, save_delta
from sentiment.recipe import DEFAULT_RECIPE, general_split
from sentiment.train import Example, TrainConfig, train_classifier

AIRLINES = ("United", "US Airways", "American", "Southwest")

CONFIGS: dict[str, dict[str, Any]] = {
    "default": DEFAULT_RECIPE,
    "general10k": {**DEFAULT_RECIPE, "general_sample": 10_000},
    "general20k": {**DEFAULT_RECIPE, "general_sample": 20_000},
    "general40k": {**DEFAULT_RECIPE, "general_sample": 40_000},
    "lora_a": {"variant": "lora", "lr": 5e-4, "epochs": 2},
    "lora_air2": {
        "variant": "lora",
        "lr": 5e-4,
        "epochs": 2,
        "repeats": {"general": 1, "airline": 2},
    },
    "lora_air2_bal": {
        "variant": "lora",
        "lr": 5e-4,
        "epochs": 2,
        "class_balance": True,
        "repeats": {"general": 1, "airline": 2},
    },
    "lora_r32_3ep": {
        "variant": "lora",
        "lora_rank": 32,
        "lora_alpha": 64.0,
        "lr": 4e-4,
        "epochs": 3,
        "repeats": {"general": 1, "airline": 2},
    },
    "full_air2": {
        "variant": "full",
        "lr": 5e-5,
        "head_lr": 1e-3,
        "epochs": 2,
        "repeats": {"general": 1, "airline": 2},
    },
    "top2_air2": {
        "variant": "top",
        "top_layers": 2,
        "lr": 1e-4,
        "head_lr": 1e-3,
        "epochs": 2,
        "repeats": {"general": 1, "airline": 2},
    },
    "head_air2": {
        "variant": "head",
        "head_lr": 3e-3,
        "epochs": 3,
        "repeats": {"general": 1, "airline": 2},
    },
}


def prepare(shared: Path, out: Path) -> None:
    """Write the normalised training and validation texts the sweep needs into one JSON file."""
    from sentiment.data import read_airline_tweets, read_tweeteval
    from sentiment.inputs import model_input

    general = read_tweeteval(shared / "data/tweet-sentiment-train", "train")
    airline = read_airline_tweets(shared / "data/airline-tweets/tweets.csv")
    val = read_tweeteval(shared / "data/tweeteval/sentiment", "val")
    payload = {
        "general": [[model_input(r.text), r.label] for r in general],
        "airline": [[model_input(r.text), r.label, r.group] for r in airline],
        "val": [[model_input(r.text), r.label] for r in val],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload), encoding="utf-8")


def _evaluate(
    model: torch.nn.Module,
    tokenizer: Any,
    rows: list[list[str]],
    device: str,
    kept: dict[str, Any] | None = None,
    name: str = "",
    **kw: Any,
) -> dict[str, Any]:
    """Macro recall and accuracy of ``model`` on ``rows``; the probabilities go into ``kept[name]``
    when ``kept`` is given (for analyses that need them, such as calibration or blends)."""
    texts = [r[0] for r in rows]
    probs = batched_probabilities(model, tokenizer, texts, batch_size=128, max_length=128, device=device, **kw)
    if kept is not None:
        kept[name] = probs.numpy()
    predicted = [LABELS[i] for i in probs.argmax(-1).tolist()]
    report = classification_report([r[1] for r in rows], predicted)
    return {
        "macro_recall": report["macro_recall"],
        "accuracy": report["accuracy"],
        "n": report["n"],
    }


def run_job(
    name: str,
    fold: str,
    data: dict[str, Any],
    base: Path,
    out: Path,
    device: str,
    int8: bool,
    probabilities: bool = False,
) -> dict[str, Any]:
    """Train ``name`` without the airlines of ``fold`` and score the validation sets. With
    ``probabilities``, the fp32 probabilities of every set, including the general tweets the
    recipe did not sample (``unsampled``), are kept in ``OUT/NAME.FOLD.probabilities.npz``."""
    from transformers import AutoTokenizer

    config = TrainConfig(**{**CONFIGS[name], "device": device, "batch_size": 32})
    held_out = set(fold.split("+"))
    train_air = [r for r in data["airline"] if r[2] not in held_out]
    held = {airline: [r for r in data["airline"] if r[2] == airline] for airline in sorted(held_out)}
    general, unsampled = general_split(data["general"], config.general_sample, config.seed)
    examples = [Example(t, lab, "general") for t, lab in general]
    examples += [Example(t, lab, "airline") for t, lab, _ in train_air]
    started = time.time()
    model, trained = train_classifier(examples, base, config)
    result: dict[str, Any] = {
        "config": name,
        "fold": fold,
        "train_n": len(examples),
        "settings": config.as_dict(),
        "train_s": round(time.time() - started, 1),
    }
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    # A full fine-tune that trains the word embeddings too is a ~45 MB delta: not worth shipping.
    if fold == "all" and (config.variant != "full" or config.freeze_word_embeddings):
        tag = f"{name}.safetensors"
        save_delta(
            model.cpu(),
            base,
            out / tag,
            trained=trained,
            metadata={"config": json.dumps(config.as_dict())},
            dtype=torch.float16 if config.variant in ("top", "full") else torch.float32,
        )
        model.to(device)  # type: ignore[arg-type]
    merge_lora(model)
    sets = {"val": data["val"], **{f"held:{airline}": rows for airline, rows in held.items() if rows}}
    kept: dict[str, Any] | None = {} if probabilities else None
    if probabilities and unsampled:
        sets["unsampled"] = unsampled
    result["fp32"] = {k: _evaluate(model, tokenizer, v, device, kept, k) for k, v in sets.items()}
    if kept is not None:
        import numpy as np

        np.savez(out / f"{name}.{fold}.probabilities.npz", **kept)
    if int8:
        cpu_model = model.cpu().float()  # type: ignore[no-untyped-call]
        torch.set_num_threads(2)
        for per_channel in (False, True):
            q = quantise_encoder(cpu_model, per_channel=per_channel)
            key = "int8_channel" if per_channel else "int8_tensor"
            result[key] = {k: _evaluate(q, tokenizer, v, "cpu") for k, v in sets.items()}
    result["total_s"] = round(time.time() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--shared", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("run")
    r.add_argument("--data", type=Path, required=True)
    r.add_argument("--base", type=Path, default=None, help="the base encoder's folder (default: the pip package's)")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--configs", default=",".join(CONFIGS))
    r.add_argument(
        "--folds",
        default=",".join((*AIRLINES, "all")),
        help="comma-separated folds: an airline, airlines joined by + (held out together), or all",
    )
    r.add_argument("--worker", type=int, default=0)
    r.add_argument("--workers", type=int, default=1)
    r.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    r.add_argument("--no-int8", action="store_true")
    r.add_argument("--threads", type=int, default=2, help="CPU threads per job")
    r.add_argument(
        "--probabilities",
        action="store_true",
        help="keep each set's fp32 probabilities (OUT/NAME.FOLD.probabilities.npz)",
    )
    r.add_argument("--limit", type=int, default=0, help="subsample each data set (smoke test)")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.shared, args.out)
        return
    data = json.loads(args.data.read_text(encoding="utf-8"))
    if args.limit:
        data = {k: v[:: max(1, len(v) // args.limit)] for k, v in data.items()}
    jobs = [(c, f) for c in args.configs.split(",") for f in args.folds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    for index, (name, fold) in enumerate(jobs):
        if index % args.workers != args.worker:
            continue
        torch.set_num_threads(args.threads)
        result = run_job(
            name,
            fold,
            data,
            args.base or base_encoder_dir(),
            args.out,
            args.device,
            int8=not args.no_int8 and CONFIGS[name]["variant"] != "head",
            probabilities=args.probabilities,
        )
        with (args.out / "results.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")
        print(json.dumps({k: result[k] for k in ("config", "fold", "fp32", "train_s")}), flush=True)


if __name__ == "__main__":
    main()
