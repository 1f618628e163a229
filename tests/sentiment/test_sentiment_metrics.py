"""Macro recall and the confusion matrix on a hand-checked example."""

from __future__ import annotations

import pytest

from sentiment.metrics import classification_report


def test_classification_report() -> None:
    gold = ["negative", "negative", "negative", "neutral", "positive", "positive"]
    pred = ["negative", "negative", "neutral", "neutral", "positive", "negative"]
    report = classification_report(gold, pred)
    assert report["n"] == 6
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["macro_recall"] == pytest.approx((2 / 3 + 1 + 1 / 2) / 3)
    assert report["per_class"]["negative"]["precision"] == pytest.approx(2 / 3)
    assert report["confusion"]["matrix"] == [[2, 1, 0], [0, 1, 0], [1, 0, 1]]


def test_all_negative_is_not_rewarded() -> None:
    gold = ["negative"] * 8 + ["neutral", "positive"]
    report = classification_report(gold, ["negative"] * 10)
    assert report["accuracy"] == pytest.approx(0.8)
    assert report["macro_recall"] == pytest.approx(1 / 3)
