"""Held-out figures for the English model's recipe from the leave-airlines-out fold models.

The shipped English model has seen every airline, so its ECE on customer tweets and any blend
with a second opinion cannot be judged on them. The fold models can: each is the shipped recipe
trained without two airlines (``research.selection run --configs default --folds
"United+Southwest,US Airways+American" --probabilities``, which keeps every set's fp32
probabilities). This script reports, on data neither fold model saw:

1. ECE on the held-out airlines' tweets before and after the English temperature, fitted as for
   the shipped model on 3,000 general tweets the recipe did not sample;
2. the multilingual model's calibrated English averaged in at weight ``w`` for the texts the
   English model is less sure of than ``gate``: macro recall on the other unsampled general
   tweets (less the ones in UMSAB English, which the multilingual model trained on) and on
   each held-out airline. TweetEval val is not used: most of it is UMSAB English.

    python -m research.heldout_second_opinion --folds OUT --shared ../shared --out report.json

With ``--shipped`` it measures the shipped default instead, alone and with its second opinion, as
the score step runs it (onnx-int8, calibrated) on the same held-out general tweets.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from research.selection import CONFIGS
from sentiment.calibrate_temperature import ENGLISH_SAMPLE, figures
from sentiment.calibration import apply_temperature, fit_temperature
from sentiment.data import LabelledText, read_airline_tweets, read_tweeteval
from sentiment.labels import LABELS
from sentiment.metrics import classification_report, expected_calibration_error
from sentiment.recipe import DEFAULT_RECIPE, general_split
from sentiment.routing import RoutedModel, unsure_rows

Probabilities = np.ndarray


def _macro_recall(gold: list[str], probabilities: Probabilities) -> float:
    predicted = [LABELS[i] for i in probabilities.argmax(-1).tolist()]
    return round(float(classification_report(gold, predicted)["macro_recall"]), 4)


def _second_opinion(english: Probabilities, other: Probabilities, weight: float, gate: float) -> Probabilities:
    """``english``, averaged with ``other`` at ``weight`` on the rows whose top probability is below ``gate``."""
    unsure = unsure_rows(english, gate)
    out = english.copy()
    out[unsure] = (1 - weight) * english[unsure] + weight * other[unsure]
    return out


def _multilingual_english(cache: Path, texts: dict[str, list[str]]) -> dict[str, Probabilities]:
    """The multilingual model's uncalibrated probabilities for each named list of texts (cached)."""
    if not cache.is_file():
        from sentiment.model import load_multilingual
        from sentiment.settings import SentimentSettings

        model = load_multilingual(SentimentSettings(calibrate=False))
        scored: dict[str, Any] = {name: model.probabilities(rows, ["en"] * len(rows)) for name, rows in texts.items()}
        np.savez(cache, **scored)
    stored = np.load(cache)
    return {name: stored[name] for name in texts}


def _general_rows(
    data: Path, general_sample: int = DEFAULT_RECIPE["general_sample"]
) -> tuple[list[LabelledText], list[int], list[int]]:
    """The general tweets the English recipe did not sample; the rows both temperatures are
    fitted on (``sentiment.calibrate_temperature.english_held_out``); the rest, less the tweets
    in UMSAB English (the multilingual model trained on them): the test rows."""
    general = read_tweeteval(data / "tweet-sentiment-train", "train")
    _, unsampled = general_split(general, general_sample, DEFAULT_RECIPE["seed"])
    fit_rows = sorted(random.Random(DEFAULT_RECIPE["seed"]).sample(range(len(unsampled)), ENGLISH_SAMPLE))
    umsab_english = {
        line
        for split in ("train", "val")
        for line in (data / "umsab/english" / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    }
    chosen = set(fit_rows)
    test_rows = [i for i, r in enumerate(unsampled) if i not in chosen and r.text.strip() not in umsab_english]
    return unsampled, fit_rows, test_rows


def shipped(shared: Path) -> dict[str, Any]:
    """The shipped default as it scores English (onnx-int8, both models calibrated), alone and
    with its second opinion: the held-out general test rows, and for reference TweetEval val
    (mostly UMSAB English, seen by the multilingual model) and the airline tweets (seen by the
    English model)."""
    from sentiment.model import load_model
    from sentiment.settings import SentimentSettings

    data = shared / "data"
    unsampled, _, test_rows = _general_rows(data)
    seconded = load_model(SentimentSettings())
    assert isinstance(seconded, RoutedModel) and seconded.second_opinion is not None
    gate = seconded.second_opinion.gate
    sets = {
        "held_out_general": [unsampled[i] for i in test_rows],
        "tweeteval_val_mostly_seen_by_multilingual": read_tweeteval(data / "tweeteval/sentiment", "val"),
        "airline_seen_by_english": read_airline_tweets(data / "airline-tweets/tweets.csv"),
    }
    result: dict[str, Any] = {"model_id": seconded.model_id}
    for name, rows in sets.items():
        texts, gold = [r.text for r in rows], [r.label for r in rows]
        english = seconded.primary.probabilities(texts, ["en"] * len(texts))  # the English model alone
        both = seconded.probabilities(texts, ["en"] * len(texts))
        result[name] = {
            "n": len(rows),
            "english_alone": {"macro_recall": _macro_recall(gold, english),
                              "ece": round(expected_calibration_error(gold, english.tolist()), 4)},
            "with_second_opinion": {"macro_recall": _macro_recall(gold, both),
                                    "ece": round(expected_calibration_error(gold, both.tolist()), 4)},
            "share_seconded": round(float(unsure_rows(english, gate).mean()), 3),
            "labels_changed": int((english.argmax(-1) != both.argmax(-1)).sum()),
        }  # fmt: skip
    return result


def report(folds_dir: Path, shared: Path, config: str = "default") -> dict[str, Any]:
    data = shared / "data"
    unsampled, fit_rows, test_rows = _general_rows(data, CONFIGS[config]["general_sample"])
    airline = read_airline_tweets(data / "airline-tweets/tweets.csv")
    gold_unsampled = [r.label for r in unsampled]
    multilingual = _multilingual_english(
        folds_dir / "multilingual_english.npz",
        {"unsampled": [r.text for r in unsampled], "airline": [r.text for r in airline]},
    )
    t_multilingual = fit_temperature([gold_unsampled[i] for i in fit_rows], multilingual["unsampled"][fit_rows])
    result: dict[str, Any] = {"multilingual_english_temperature": t_multilingual, "general_test_rows": len(test_rows)}
    english_general, held = [], {}
    for path in sorted(folds_dir.glob(f"{config}.*.probabilities.npz")):
        fold = path.name.split(".")[1]
        stored = np.load(path)
        temperature = fit_temperature([gold_unsampled[i] for i in fit_rows], stored["unsampled"][fit_rows])
        result[fold] = {"temperature": temperature}
        english_general.append(apply_temperature(stored["unsampled"][test_rows], temperature))
        for name in fold.split("+"):
            rows = [i for i, r in enumerate(airline) if r.group == name]
            gold = [airline[i].label for i in rows]
            raw = stored[f"held:{name}"]
            result[fold][name] = {
                "before": figures(gold, raw),
                "after": figures(gold, apply_temperature(raw, temperature)),
            }
            held[name] = (
                raw,
                apply_temperature(raw, temperature),
                apply_temperature(multilingual["airline"][rows], t_multilingual),
                gold,
            )
    pooled_gold = [label for *_, gold in held.values() for label in gold]
    result["pooled_unseen_airlines"] = {
        "before": figures(pooled_gold, np.concatenate([raw for raw, *_ in held.values()])),
        "after": figures(pooled_gold, np.concatenate([english for _, english, _, _ in held.values()])),
    }
    other_general = apply_temperature(multilingual["unsampled"][test_rows], t_multilingual)
    gold_general = [gold_unsampled[i] for i in test_rows]
    blends = []
    for gate in (1.01, 0.9, 0.8, 0.7, 0.6):
        for weight in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
            airlines = {
                name: _macro_recall(gold, _second_opinion(en, ml, weight, gate))
                for name, (_, en, ml, gold) in held.items()
            }
            mixed = np.concatenate([_second_opinion(en, ml, weight, gate) for _, en, ml, _ in held.values()])
            general_recall = [
                _macro_recall(gold_general, _second_opinion(english, other_general, weight, gate))
                for english in english_general
            ]
            unsure_share = [(english.max(axis=1) < gate).mean() for english in english_general]
            blends.append(
                {
                    "gate": gate,
                    "weight": weight,
                    "general": round(float(np.mean(general_recall)), 4),
                    "airline_mean": round(float(np.mean(list(airlines.values()))), 4),
                    "airline_min": min(airlines.values()),
                    "airline_ece": round(expected_calibration_error(pooled_gold, mixed.tolist()), 4),
                    "share_second_opinion_general": round(float(np.mean(unsure_share)), 3),
                }
            )
    result["second_opinion"] = blends
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=Path, help="research.selection's --out folder")
    parser.add_argument("--config", default="default", help="the research.selection config of the fold models")
    parser.add_argument("--shipped", action="store_true", help="measure the shipped default instead")
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.shipped:
        args.out.write_text(json.dumps(shipped(args.shared), indent=1) + "\n", encoding="utf-8")
        print(args.out.read_text(encoding="utf-8"))
        return
    if args.folds is None:
        parser.error("--folds or --shipped")
    result = report(args.folds, args.shared, args.config)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for row in result["second_opinion"]:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
