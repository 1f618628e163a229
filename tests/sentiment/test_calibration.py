"""Class-bias calibration: the bias fixes a model that over-calls a class, guarded by a second set."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from sentiment.calibration import apply_bias, calibration_for, fit_bias


def test_bias_shifts_probabilities_like_a_prior() -> None:
    p = torch.tensor([[0.5, 0.3, 0.2]])
    assert torch.allclose(apply_bias(p, torch.zeros(3)), p)
    shifted = apply_bias(p, torch.tensor([-1.0, 0.0, 0.0]))
    assert shifted[0, 0] < 0.5 and abs(float(shifted.sum()) - 1.0) < 1e-6
    assert torch.allclose(shifted[0, 1] / shifted[0, 2], torch.tensor(1.5))


def test_fit_bias_undoes_negative_overcalling() -> None:
    gold = ["negative"] * 20 + ["neutral"] * 40 + ["positive"] * 40
    probs = torch.tensor([[0.7, 0.2, 0.1]] * 20 + [[0.5, 0.4, 0.1]] * 40 + [[0.1, 0.2, 0.7]] * 40)
    fit = fit_bias(gold, probs)
    assert fit["macro_recall_before"] < 0.7 and fit["macro_recall_after"] == 1.0
    assert fit["bias"][0] < fit["bias"][1]
    guard_gold = ["negative"] * 10
    guard_probs = torch.tensor([[0.45, 0.55, 0.0]] * 10)  # any shift towards neutral loses these
    guarded = fit_bias(gold, probs, guard=(guard_gold, guard_probs, 0.0), steps=(-0.2, 0.0, 0.2))
    assert guarded["guard_after"] == guarded["guard_before"]


def test_bias_applies_only_to_the_weights_it_was_chosen_for(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"default": {"weights_sha256_12": "abc", "bias": [-0.5, 0.2, 0.0]}}))
    assert calibration_for("default", "abc", path) == [-0.5, 0.2, 0.0]
    assert calibration_for("default", "other", path) is None
    assert calibration_for("multilingual", "abc", path) is None
    assert calibration_for("default", "abc", tmp_path / "none.json") is None
