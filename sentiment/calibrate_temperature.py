"""``engagebot sentiment calibrate --temperature``: one temperature per model and language.

Why: the queue ranks by money at risk = value × P(negative) × …, so P(negative) must mean the
same in every language. Measured uncalibrated, German complaints scored 0.76-0.92 where similar
English ones scored 0.96-1.00: a German customer was ranked below an English one of the same
value. Temperature scaling (Guo et al. 2017) fits one number per model and language on held-out
tweets, minimising their negative log-likelihood; it changes no label, only how sure each one is.

Held-out data, never a benchmark's test split:
- the multilingual model: each language's UMSAB *validation* split;
- the English model: the general tweets its recipe did not sample (the same held-out set the
  class bias is chosen on), a seeded sample of them;
- the multilingual model's English, which seconds the English model where it is unsure
  (``sentiment.routing.SecondOpinion``): the same seeded sample, so the two average like with like.

Each entry stores the fitted temperature per language with ECE (15 bins), macro recall and the
mean P(negative) over gold-negative tweets, before and after, for the model cards.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.batching import Probabilities
from sentiment.calibration import TEMPERATURE_FILE, apply_temperature, fit_temperature
from sentiment.data import LabelledText, read_tweeteval
from sentiment.files import file_hash
from sentiment.labels import LABELS
from sentiment.metrics import classification_report, ece_sampling_floor, expected_calibration_error
from sentiment.model import DEFAULT_NAME_KEY, MULTILINGUAL_KEY, SentimentModel
from sentiment.multilingual import COVERED, UMSAB_LANGUAGES
from sentiment.recipe import DEFAULT_RECIPE, general_split

#: Held-out general tweets the English temperature is fitted on (a seeded sample: enough for one
#: parameter, and quick to score on two cores).
ENGLISH_SAMPLE = 3000


def figures(gold: Sequence[str], probabilities: Probabilities) -> dict[str, Any]:
    """ECE, macro recall and mean P(negative) of the gold-negative rows."""
    predicted = [LABELS[i] for i in probabilities.argmax(-1).tolist()]
    negatives = [row[0] for label, row in zip(gold, probabilities.tolist(), strict=True) if label == "negative"]
    return {
        "n": len(gold),
        "ece": round(expected_calibration_error(gold, probabilities.tolist()), 4),
        "ece_sampling_floor": round(ece_sampling_floor(probabilities.tolist()), 4),
        "macro_recall": round(float(classification_report(gold, predicted)["macro_recall"]), 4),
        "mean_p_negative_of_negatives": round(sum(negatives) / len(negatives), 4) if negatives else None,
    }


def fit_language(gold: Sequence[str], probabilities: Probabilities) -> dict[str, Any]:
    """The temperature for one language, with the figures before and after it."""
    temperature = fit_temperature(gold, probabilities)
    return {
        "temperature": temperature,
        "before": figures(gold, probabilities),
        "after": figures(gold, apply_temperature(probabilities, temperature)),
        "after_cross_fitted": cross_fitted(gold, probabilities),
    }


def cross_fitted(gold: Sequence[str], probabilities: Probabilities) -> dict[str, Any]:
    """ECE after calibration measured on rows the temperature was not fitted on: fit on the even
    rows and measure on the odd ones, and the other way round (the honest figure: "after" above
    is measured on the rows it was fitted on)."""
    halves = [list(range(0, len(gold), 2)), list(range(1, len(gold), 2))]
    tempered = np.empty_like(probabilities)
    for fit_rows, test_rows in (halves, halves[::-1]):
        temperature = fit_temperature([gold[i] for i in fit_rows], probabilities[fit_rows])
        tempered[test_rows] = apply_temperature(probabilities[test_rows], temperature)
    return figures(gold, tempered)


def calibrate_multilingual(model: SentimentModel, data: Path, weights: Path) -> dict[str, Any]:
    """Fit the multilingual model (loaded with ``calibrate = false``) on each covered language's
    UMSAB validation split, and its English (the second opinion) on the English model's
    held-out general tweets."""
    languages: dict[str, Any] = {}
    for name, code in UMSAB_LANGUAGES.items():
        if code not in COVERED:
            continue
        rows = read_tweeteval(data / "umsab" / name, "val")
        probabilities = model.probabilities([r.text for r in rows], [code] * len(rows))
        languages[code] = fit_language([r.label for r in rows], probabilities)
    english = english_held_out(data)
    languages["en"] = fit_language(
        [r.label for r in english], model.probabilities([r.text for r in english], ["en"] * len(english))
    )
    covered = ", ".join(code for code in languages if code != "en")
    chosen_on = (
        f"UMSAB validation splits ({covered}); en (the second opinion for the English model):"
        f" the English model's {len(english)} held-out general tweets; {model.precision}"
    )
    return _entry(weights, languages, chosen_on)


def english_held_out(data: Path) -> list[LabelledText]:
    """The seeded sample of general tweets the default recipe did not sample (``ENGLISH_SAMPLE``)."""
    general = read_tweeteval(data / "tweet-sentiment-train", "train")
    _, held_out = general_split(general, DEFAULT_RECIPE["general_sample"], DEFAULT_RECIPE["seed"])
    return random.Random(DEFAULT_RECIPE["seed"]).sample(held_out, min(ENGLISH_SAMPLE, len(held_out)))


def calibrate_english(model: SentimentModel, data: Path, weights: Path) -> dict[str, Any]:
    """Fit the English model (``calibrate = false``) on held-out general tweets."""
    rows = english_held_out(data)
    probabilities = model.probabilities([r.text for r in rows], ["en"] * len(rows))
    fit = fit_language([r.label for r in rows], probabilities)
    return _entry(
        weights, {"*": fit}, f"{len(rows)} general tweets the default recipe did not sample, {model.precision}"
    )


def _entry(weights: Path, languages: dict[str, Any], chosen_on: str) -> dict[str, Any]:
    return {
        "weights_sha256_12": file_hash(weights),
        "temperature": {code: fit["temperature"] for code, fit in languages.items()},
        "figures": {
            code: {"before": fit["before"], "after": fit["after"], "after_cross_fitted": fit["after_cross_fitted"]}
            for code, fit in languages.items()
        },
        "chosen_on": chosen_on,
    }


def write_temperatures(name: str, entry: dict[str, Any], path: Path = TEMPERATURE_FILE) -> Path:
    """Store ``entry`` under ``name`` (``default`` / ``multilingual``), keeping the other's, and
    the note of the same weights (held-out figures measured outside this command)."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    previous = data.get(name, {})
    if previous.get("note") and previous.get("weights_sha256_12") == entry["weights_sha256_12"]:
        entry = {**entry, "note": previous["note"]}
    data[name] = entry
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


__all__ = [
    "DEFAULT_NAME_KEY",
    "MULTILINGUAL_KEY",
    "calibrate_english",
    "calibrate_multilingual",
    "figures",
    "fit_language",
    "write_temperatures",
]


def card_section(entry: dict[str, Any]) -> str:
    """The model card's calibration section: each language's temperature and figures."""
    lines = [
        "## Temperature calibration (`engagebot sentiment calibrate --temperature`; applied at scoring)",
        "",
        f"Fitted on {entry['chosen_on']}: one temperature per language, by negative log-likelihood.",
        "ECE is the expected calibration error of the top-class probability (15 equal-width bins);",
        '"cross-fitted" fits on half the rows and measures on the other half (the honest figure on',
        "sets this small). Temperature changes no label: macro recall is the same before and after.",
        'ECE is biased upwards on small sets: "floor" is what a perfectly calibrated model would',
        "measure on the same rows (labels drawn from its own calibrated probabilities, 200 draws).",
        "",
        "| language | n | T | ECE before | ECE after | ECE after, cross-fitted | floor "
        "| mean P(neg) of negatives before | after | macro recall |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for code, fit in entry["figures"].items():
        before, after, cross = fit["before"], fit["after"], fit["after_cross_fitted"]
        lines.append(
            f"| {'any' if code == '*' else code} | {before['n']} | {entry['temperature'][code]} | {before['ece']} | "
            f"{after['ece']} | {cross['ece']} | {after.get('ece_sampling_floor', '')} | "
            f"{before['mean_p_negative_of_negatives']} | "
            f"{after['mean_p_negative_of_negatives']} | {before['macro_recall']} |"
        )
    if entry.get("note"):
        lines += ["", entry["note"]]
    return "\n".join(lines) + "\n"
