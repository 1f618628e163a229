"""Model selection on a CPU: top-layer fine-tuning over one cache of frozen lower-layer states.

Leave-airlines-out validation as the issue asks (whole brands held out) plus TweetEval val,
never TweetEval test. The frozen bottom layers' states are computed once for every text and
shared by all folds and variants, so each job pays only for the layers it trains:
    python -m research.top_selection encode --shared ../shared --layers 3 --out /tmp/cache.pt
    python -m research.top_selection run --cache /tmp/cache.pt --config top3 \
        --holdout "United,Southwest" --out results.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer

from sentiment.data import read_airline_tweets, read_tweeteval
from sentiment.files import base_encoder_dir
from sentiment.inputs import model_input
from sentiment.labels import LABELS
from sentiment.metrics import classification_report
from sentiment.network import build_classifier
from sentiment.train import Example, TrainConfig, expand, train_top_cached
from sentiment.upper import encode_lower, upper_probabilities

CONFIGS: dict[str, dict[str, Any]] = {
    "top3": {
        "variant": "top",
        "top_layers": 3,
        "lr": 1e-4,
        "head_lr": 1e-3,
        "epochs": 2.0,
        "warmup": 0.06,
        "class_balance": True,
        "repeats": {"general": 1, "airline": 2, "corrections": 3},
    },
}


def encode(shared: Path, layers: int, out: Path, max_length: int = 96) -> None:
    """Write every training and validation text's state after ``layers`` frozen layers."""
    general = read_tweeteval(shared / "data/tweet-sentiment-train", "train")
    airline = read_airline_tweets(shared / "data/airline-tweets/tweets.csv")
    val = read_tweeteval(shared / "data/tweeteval/sentiment", "val")
    rows = [("general", r.text, r.label, "") for r in general]
    rows += [("airline", r.text, r.label, r.group or "") for r in airline]
    rows += [("val", r.text, r.label, "") for r in val]
    base = base_encoder_dir()
    model = build_classifier(base, seed=0)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    texts = [model_input(text) for _, text, _, _ in rows]
    states = encode_lower(model, tokenizer, texts, layers=layers, max_length=max_length)
    torch.save(
        {
            "layers": layers,
            "rows": [(source, label, group) for source, _, label, group in rows],
            "lengths": [s.shape[0] for s in states],
            "states": torch.cat(states),
        },
        out,
    )


def _split(packed: torch.Tensor, lengths: Sequence[int]) -> list[torch.Tensor]:
    return list(torch.split(packed, list(lengths)))


def _scores(labels: Sequence[str], probs: torch.Tensor) -> dict[str, Any]:
    report = classification_report(list(labels), [LABELS[i] for i in probs.argmax(-1).tolist()])
    return {
        "macro_recall": round(report["macro_recall"], 4),
        "accuracy": round(report["accuracy"], 4),
        "n": report["n"],
    }


def run(cache: Path, config_name: str, holdout: set[str], out: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Train one variant with ``holdout`` airlines left out; score them and TweetEval val."""
    data = torch.load(cache)
    states = _split(data["states"], data["lengths"])
    rows = data["rows"]
    config = TrainConfig(**{**CONFIGS[config_name], **overrides})
    model = build_classifier(base_encoder_dir(), seed=config.seed)
    first = len(model.bert.encoder.layer) - config.top_layers
    if first != data["layers"]:
        raise ValueError(f"cache holds layer {data['layers']} states; {config_name} needs layer {first}")
    train_ids = [i for i, (source, _, group) in enumerate(rows) if source != "val" and group not in holdout]
    examples = [Example("", rows[i][1], rows[i][0]) for i in train_ids]
    sets = {
        "val": [i for i, row in enumerate(rows) if row[0] == "val"],
        **{f"held:{g}": [i for i, row in enumerate(rows) if row[2] == g] for g in sorted(holdout)},
    }
    result: dict[str, Any] = {"config": config_name, "overrides": overrides, "holdout": sorted(holdout)}
    result["train_n"] = len(train_ids)

    def evaluate() -> dict[str, Any]:
        scores = {}
        for name, ids in sets.items():
            probs = upper_probabilities(model, [states[i] for i in ids], first_layer=first)
            scores[name] = _scores([rows[i][1] for i in ids], probs)
        held = [v["macro_recall"] for k, v in scores.items() if k.startswith("held:")]
        if held:
            scores["held_mean"] = round(sum(held) / len(held), 4)
        return scores

    started = time.time()
    checkpoints: dict[str, Any] = {}

    def on_step(step: int, total: int, loss: float) -> None:
        if step % 200 == 0:
            print(
                f"{config_name} {sorted(holdout)} step {step}/{total} loss {loss:.3f} {time.time() - started:.0f}s",
                flush=True,
            )
        if config.epochs > 1 and step == round(total / config.epochs):
            checkpoints["epoch1"] = evaluate()
            model.train()

    label_ids = [LABELS.index(ex.label) for ex in examples]
    local_states = [states[i] for i in train_ids]
    sources = [ex.source for ex in examples]
    train_top_cached(model, local_states, label_ids, expand(examples, config), config, on_step=on_step, sources=sources)
    result["train_s"] = round(time.time() - started, 1)
    result["final"] = evaluate()
    result.update(checkpoints)
    with out.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("encode")
    e.add_argument("--shared", type=Path, required=True)
    e.add_argument("--layers", type=int, default=3)
    e.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("run")
    r.add_argument("--cache", type=Path, required=True)
    r.add_argument("--config", default="top3", choices=sorted(CONFIGS))
    r.add_argument("--holdout", default="", help="comma-separated airlines to leave out")
    r.add_argument("--set", default="{}", help="JSON overrides of the config")
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "encode":
        torch.set_num_threads(2)
        encode(args.shared, args.layers, args.out)
        return
    torch.set_num_threads(args.threads)
    holdout = {h.strip() for h in args.holdout.split(",") if h.strip()}
    run(args.cache, args.config, holdout, args.out, json.loads(args.set))


if __name__ == "__main__":
    main()
