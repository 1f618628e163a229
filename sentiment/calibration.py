"""Per-class logit bias ("class prior") calibration, chosen on held-out data without retraining.

The English model learned part of its idea of "negative" from airline complaints (63 % of that
source is negative), so on general tweets it calls too many neutral ones negative. Adding a bias
``b`` to the log-probabilities (``softmax(log p + b)``) is the same as changing the class priors
the model assumes; it moves no ranking within a class and costs nothing at scoring time.

The bias is chosen on tweets the model never saw in training (``fit_bias``) and stored per
weights file in ``sentiment/weights/calibration.json``; it is applied only to the weights whose
hash it names, so a retrained model is never shifted by another model's bias.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.batching import Probabilities, softmax
from sentiment.labels import LABELS
from sentiment.metrics import classification_report

GRID: tuple[float, ...] = tuple(round(-1.5 + 0.1 * step, 1) for step in range(31))
CALIBRATION_FILE = Path(__file__).resolve().parent / "weights" / "calibration.json"


def _log(probabilities: Probabilities) -> Probabilities:
    """``log p``, with p floored at 1e-12 so a zero probability stays finite."""
    return np.log(np.maximum(np.asarray(probabilities, dtype=np.float32), np.float32(1e-12)))


def apply_bias(probabilities: Probabilities, bias: Sequence[float] | np.ndarray) -> Probabilities:
    """``softmax(log p + bias)`` row by row (probabilities in ``LABELS`` order)."""
    return softmax(_log(probabilities) + np.asarray(bias, dtype=np.float32))


def calibration_for(name: str, weights_hash: str, path: Path = CALIBRATION_FILE) -> list[float] | None:
    """The stored bias of model ``name`` if it was chosen for exactly these weights."""
    if not path.is_file():
        return None
    entry = json.loads(path.read_text(encoding="utf-8")).get(name)
    if not entry or entry.get("weights_sha256_12") != weights_hash or not any(entry["bias"]):
        return None
    return [float(b) for b in entry["bias"]]


def _macro_recall(gold: Sequence[str], probabilities: Probabilities, bias: Sequence[float]) -> float:
    predicted = [LABELS[i] for i in apply_bias(probabilities, bias).argmax(-1).tolist()]
    return float(classification_report(gold, predicted)["macro_recall"])


def fit_bias(
    gold: Sequence[str],
    probabilities: Probabilities,
    *,
    guard: tuple[Sequence[str], Probabilities, float] | None = None,
    steps: Sequence[float] = GRID,
    min_gain: float = 0.005,
) -> dict[str, Any]:
    """Grid-search the negative and neutral biases (positive fixed at 0) for macro recall.

    ``guard = (gold, probabilities, max_drop)``: a second held-out set (customer tweets) whose
    macro recall may fall by at most ``max_drop``; a bias that costs more there is not taken.
    Among near-ties (within 0.001) the smallest bias wins: the least change that does the job.
    A best bias that gains less than ``min_gain`` is noise on a held-out set this size: then
    the bias stays zero (``best_bias`` keeps what the grid found).
    """
    none = [0.0] * len(LABELS)
    base = _macro_recall(gold, probabilities, none)
    guard_base = _macro_recall(guard[0], guard[1], none) if guard else 0.0
    results = []
    for neg, neu in itertools.product(steps, steps):
        shift = [neg, neu, 0.0]
        score = _macro_recall(gold, probabilities, shift)
        kept = _macro_recall(guard[0], guard[1], shift) if guard else 0.0
        if guard and kept < guard_base - guard[2]:
            continue
        results.append((score, -(abs(neg) + abs(neu)), [neg, neu, 0.0], kept))
    best_score = max(r[0] for r in results)
    score, _, bias, kept = max((r for r in results if r[0] >= best_score - 0.001), key=lambda r: (r[1], r[0]))
    best_bias, best_found = bias, score
    if score - base < min_gain:
        bias, score, kept = [0.0, 0.0, 0.0], base, guard_base
    return {
        "bias": bias,
        "best_bias": best_bias,
        "best_score": best_found,
        "macro_recall_before": base,
        "macro_recall_after": score,
        "guard_before": guard_base if guard else None,
        "guard_after": kept if guard else None,
    }


# --- temperature: probabilities that mean the same in every language ------------------------

#: Temperatures tried when fitting (0.5 sharpens, 1 leaves as is, up to 3 softens).
TEMPERATURE_GRID: tuple[float, ...] = tuple(round(0.5 + 0.02 * step, 2) for step in range(126))
TEMPERATURE_FILE = Path(__file__).resolve().parent / "weights" / "temperature.json"


def apply_temperature(probabilities: Probabilities, temperature: float) -> Probabilities:
    """``softmax(log p / T)`` row by row: T > 1 tempers an over-confident model, T < 1 sharpens
    an under-confident one. The top class never changes, so no label and no ranking within a
    language moves; only how much each P means."""
    if temperature == 1.0:
        return probabilities
    return softmax(_log(probabilities) / np.float32(temperature))


def fit_temperature(
    gold: Sequence[str], probabilities: Probabilities, grid: Sequence[float] = TEMPERATURE_GRID
) -> float:
    """The temperature with the lowest negative log-likelihood of ``gold`` on held-out rows
    (Guo et al. 2017, "On calibration of modern neural networks"): one number per model and
    language, so a few hundred validation tweets are enough to fit it without overfitting."""
    target = np.asarray([LABELS.index(label) for label in gold])
    logs = _log(probabilities).astype(np.float64)

    def nll(temperature: float) -> float:
        scaled = logs / temperature
        scaled = scaled - scaled.max(axis=-1, keepdims=True)
        log_softmax = scaled - np.log(np.exp(scaled).sum(axis=-1, keepdims=True))
        return float(-log_softmax[np.arange(len(target)), target].mean())

    return min(grid, key=nll)


def temperature_entry(name: str, weights_hash: str | None, path: Path = TEMPERATURE_FILE) -> dict[str, Any] | None:
    """Model ``name``'s stored fit (temperatures and figures) if it was made for exactly these
    weights; None otherwise (a retrained model is never tempered, or described, by another's)."""
    if not path.is_file():
        return None
    entry: dict[str, Any] | None = json.loads(path.read_text(encoding="utf-8")).get(name)
    if not entry or entry.get("weights_sha256_12") != weights_hash:
        return None
    return entry


def temperatures_for(name: str, weights_hash: str, path: Path = TEMPERATURE_FILE) -> dict[str, float] | None:
    """Model ``name``'s temperature per language (``*``: any other) if fitted for exactly these
    weights; None otherwise."""
    entry = temperature_entry(name, weights_hash, path)
    return None if entry is None else {str(lang): float(t) for lang, t in entry["temperature"].items()}
