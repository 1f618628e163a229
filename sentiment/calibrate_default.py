"""``engagebot sentiment calibrate``: choose the English model's class bias on held-out tweets.

The default recipe samples 30,000 of the 45,615 general training tweets (seeded), so the other
15,615 are general tweets the shipped model never saw: the bias is fitted on them, guarded by
the airline tweets (the customer traffic the product is for), and TweetEval val, which neither
the training nor the fit used, is reported before and after as an independent check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sentiment.calibration import CALIBRATION_FILE, apply_bias, fit_bias
from sentiment.data import LabelledText, read_airline_tweets, read_tweeteval
from sentiment.files import file_hash
from sentiment.labels import LABELS
from sentiment.metrics import classification_report
from sentiment.model import DEFAULT_WEIGHTS, SentimentModel
from sentiment.recipe import DEFAULT_RECIPE, general_split

# The most the bias may cost on the airline tweets (macro recall): they were seen in training,
# so this is a guard against shifting customer traffic, not an estimate for unseen brands.
AIRLINE_GUARD = 0.01


def _report(model_rows: list[LabelledText], probabilities: Any, bias: list[float] | None) -> dict[str, Any]:
    probs = probabilities if bias is None else apply_bias(probabilities, bias)
    predicted = [LABELS[i] for i in probs.argmax(-1).tolist()]
    report = classification_report([r.label for r in model_rows], predicted)
    return {
        "macro_recall": round(report["macro_recall"], 4),
        "per_class_recall": {k: round(v["recall"], 4) for k, v in report["per_class"].items()},
        "confusion": report["confusion"]["matrix"],
    }


def calibrate_default(model: SentimentModel, shared: Path, *, weights: Path = DEFAULT_WEIGHTS) -> dict[str, Any]:
    """Fit the bias for ``model`` (loaded with ``calibrate = false``) and return the entry."""
    general = read_tweeteval(shared / "tweet-sentiment-train", "train")
    _, held_out = general_split(general, DEFAULT_RECIPE["general_sample"], DEFAULT_RECIPE["seed"])
    airline = read_airline_tweets(shared / "airline-tweets" / "tweets.csv")
    val = read_tweeteval(shared / "tweeteval" / "sentiment", "val")
    p_held = model.probabilities([r.text for r in held_out])
    p_airline = model.probabilities([r.text for r in airline])
    p_val = model.probabilities([r.text for r in val])
    fit = fit_bias([r.label for r in held_out], p_held, guard=([r.label for r in airline], p_airline, AIRLINE_GUARD))
    bias = [float(b) for b in fit["bias"]]
    return {
        "weights_sha256_12": file_hash(weights),
        "bias": bias,
        "best_grid_bias": [float(b) for b in fit["best_bias"]],
        "best_grid_macro_recall_held_out_general": round(float(fit["best_score"]), 4),
        "precision": model.precision,
        "chosen_on": (
            f"{len(held_out)} general tweets the default recipe did not sample (tweet-sentiment-train,"
            f" seed {DEFAULT_RECIPE['seed']}), airline tweets as a guard (at most {AIRLINE_GUARD} lost)"
        ),
        "held_out_general": {"before": _report(held_out, p_held, None), "after": _report(held_out, p_held, bias)},
        "tweeteval_val": {"before": _report(val, p_val, None), "after": _report(val, p_val, bias)},
        "airline_seen_in_training": {
            "before": _report(airline, p_airline, None),
            "after": _report(airline, p_airline, bias),
        },
    }


def write_calibration(name: str, entry: dict[str, Any], path: Path = CALIBRATION_FILE) -> Path:
    """Store ``entry`` under ``name`` in the calibration file, keeping the other models' entries."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data[name] = entry
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
