"""Classification metrics for sentiment: macro-averaged recall (TweetEval's metric) and friends."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sentiment.labels import LABELS


def classification_report(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """n, macro recall, accuracy, per-class recall/precision/support and the confusion matrix.

    Macro recall averages the three classes' recalls, so a model that calls everything
    "negative" on a negative-heavy set is not rewarded. Rows of the confusion matrix are the
    gold labels, columns the predictions, both in ``LABELS`` order.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("no examples to evaluate")
    index = {label: i for i, label in enumerate(LABELS)}
    matrix = [[0] * len(LABELS) for _ in LABELS]
    for g, p in zip(gold, predicted, strict=True):
        if p not in index:  # e.g. unsupported_language: counts as a miss in every class
            continue
        matrix[index[g]][index[p]] += 1
    per_class: dict[str, dict[str, float | int]] = {}
    recalls = []
    for label, i in index.items():
        support = sum(1 for g in gold if g == label)
        predicted_as = sum(row[i] for row in matrix)
        recall = matrix[i][i] / support if support else 0.0
        precision = matrix[i][i] / predicted_as if predicted_as else 0.0
        per_class[label] = {"recall": recall, "precision": precision, "support": support}
        if support:
            recalls.append(recall)
    correct = sum(matrix[i][i] for i in range(len(LABELS)))
    return {
        "n": len(gold),
        "macro_recall": sum(recalls) / len(recalls),
        "accuracy": correct / len(gold),
        "per_class": per_class,
        "confusion": {"labels": list(LABELS), "matrix": matrix},
    }


def expected_calibration_error(gold: Sequence[str], probabilities: Sequence[Sequence[float]], bins: int = 15) -> float:
    """ECE of the top-class probability: the confidence-weighted gap between how sure the model
    is and how often it is right, over ``bins`` equal-width confidence bins.

    Why it matters here: the queue multiplies P(negative) by money, so a model that says 0.9 must
    be right about 90 % of the time, in every language, or one language's customers outrank
    another's for no reason.
    """
    if not gold:
        return 0.0
    totals = [0] * bins
    confidence = [0.0] * bins
    correct = [0] * bins
    for label, row in zip(gold, probabilities, strict=True):
        top = max(range(len(row)), key=row.__getitem__)
        sure = float(row[top])
        index = min(int(sure * bins), bins - 1)
        totals[index] += 1
        confidence[index] += sure
        correct[index] += int(LABELS[top] == label)
    return sum(abs(confidence[b] - correct[b]) for b in range(bins) if totals[b]) / len(gold)


def ece_sampling_floor(probabilities: Sequence[Sequence[float]], draws: int = 200, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model would still show on this many rows: labels drawn
    from the probabilities themselves, averaged over ``draws``.

    ECE over 15 bins is biased upwards on small sets (each bin's accuracy is a noisy estimate):
    on 324 validation tweets a model whose probabilities are exactly right still measures about
    0.04-0.05. Reported beside each ECE so a figure is read against what sampling alone gives.
    """
    rng = random.Random(seed)
    total = 0.0
    for _ in range(draws):
        gold = [LABELS[rng.choices(range(len(row)), weights=row)[0]] for row in probabilities]
        total += expected_calibration_error(gold, probabilities)
    return total / draws
