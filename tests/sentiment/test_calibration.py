"""Class-bias calibration: the bias fixes a model that over-calls a class, guarded by a second set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sentiment.calibration import (
    apply_bias,
    apply_temperature,
    calibration_for,
    fit_bias,
    fit_temperature,
    temperatures_for,
)
from sentiment.metrics import ece_sampling_floor, expected_calibration_error


def test_bias_shifts_probabilities_like_a_prior() -> None:
    p = np.array([[0.5, 0.3, 0.2]], dtype=np.float32)
    assert np.allclose(apply_bias(p, [0.0, 0.0, 0.0]), p)
    shifted = apply_bias(p, [-1.0, 0.0, 0.0])
    assert shifted[0, 0] < 0.5 and abs(float(shifted.sum()) - 1.0) < 1e-6
    assert np.isclose(shifted[0, 1] / shifted[0, 2], 1.5)


def test_fit_bias_undoes_negative_overcalling() -> None:
    gold = ["negative"] * 20 + ["neutral"] * 40 + ["positive"] * 40
    probs = np.array([[0.7, 0.2, 0.1]] * 20 + [[0.5, 0.4, 0.1]] * 40 + [[0.1, 0.2, 0.7]] * 40, dtype=np.float32)
    fit = fit_bias(gold, probs)
    assert fit["macro_recall_before"] < 0.7 and fit["macro_recall_after"] == 1.0
    assert fit["bias"][0] < fit["bias"][1]
    guard_gold = ["negative"] * 10
    guard_probs = np.array([[0.45, 0.55, 0.0]] * 10, dtype=np.float32)  # any shift towards neutral loses these
    guarded = fit_bias(gold, probs, guard=(guard_gold, guard_probs, 0.0), steps=(-0.2, 0.0, 0.2))
    assert guarded["guard_after"] == guarded["guard_before"]


def test_bias_applies_only_to_the_weights_it_was_chosen_for(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"default": {"weights_sha256_12": "abc", "bias": [-0.5, 0.2, 0.0]}}))
    assert calibration_for("default", "abc", path) == [-0.5, 0.2, 0.0]
    assert calibration_for("default", "other", path) is None
    assert calibration_for("multilingual", "abc", path) is None
    assert calibration_for("default", "abc", tmp_path / "none.json") is None


def _overconfident(n: int, seed: int = 5) -> tuple[list[str], np.ndarray]:
    """A model right 70 % of the time that says 0.97 every time: the German complaint case."""
    generator = np.random.default_rng(seed)
    gold, rows = [], []
    labels = ["negative", "neutral", "positive"]
    for i in range(n):
        truth = i % 3
        right = bool(generator.random() < 0.7)
        top = truth if right else (truth + 1) % 3
        row = [0.015, 0.015, 0.015]
        row[top] = 0.97
        gold.append(labels[truth])
        rows.append(row)
    return gold, np.array(rows, dtype=np.float32)


def test_temperature_tempers_an_overconfident_model_and_keeps_its_labels() -> None:
    gold, probs = _overconfident(600)
    before = expected_calibration_error(gold, probs.tolist())
    temperature = fit_temperature(gold, probs)
    tempered = apply_temperature(probs, temperature)
    after = expected_calibration_error(gold, tempered.tolist())
    assert temperature > 1.5  # softened
    assert before > 0.2 and after < 0.05  # from 0.97-sure-and-70 %-right to about 0.7-sure
    assert np.array_equal(tempered.argmax(-1), probs.argmax(-1))  # no label moves
    assert np.allclose(tempered.sum(-1), np.ones(len(gold)))
    assert np.array_equal(apply_temperature(probs, 1.0), probs)


def test_ece_is_zero_for_a_model_as_sure_as_it_is_right() -> None:
    gold = ["negative"] * 8 + ["neutral"] * 2
    probs = [[0.8, 0.1, 0.1]] * 10  # 80 % sure, right on 8 of 10
    assert expected_calibration_error(gold, probs) < 1e-9
    assert abs(expected_calibration_error(["neutral"] * 10, probs) - 0.8) < 1e-9
    assert expected_calibration_error([], []) == 0.0


def test_temperatures_apply_per_language_only_to_the_weights_they_were_fitted_for(tmp_path: Path) -> None:
    path = tmp_path / "temperature.json"
    path.write_text(json.dumps({"multilingual": {"weights_sha256_12": "abc", "temperature": {"de": 0.8, "es": 1.3}}}))
    assert temperatures_for("multilingual", "abc", path) == {"de": 0.8, "es": 1.3}
    assert temperatures_for("multilingual", "other", path) is None
    assert temperatures_for("default", "abc", path) is None


def test_ece_floor_is_what_sampling_alone_gives_and_shrinks_with_more_rows() -> None:
    """A model whose probabilities are exactly right still measures an ECE on a small set; the
    floor the cards print beside each ECE is that figure, and it falls as the set grows."""
    import random

    rng = random.Random(3)
    rows = [[p, (1 - p) / 2, (1 - p) / 2] for p in (rng.uniform(0.4, 0.95) for _ in range(1300))]
    small, large = ece_sampling_floor(rows[:324]), ece_sampling_floor(rows)
    assert 0.02 < small < 0.09
    assert large < small * 0.7
    assert ece_sampling_floor([[1.0, 0.0, 0.0]] * 50) < 1e-9  # certain and always right: nothing to sample


def test_the_shipped_cards_state_the_stored_temperatures_and_speed() -> None:
    """Each model card's calibration and speed sections are the ones rendered from
    temperature.json and performance.json for exactly the shipped weights."""
    from sentiment.calibrate_temperature import card_section
    from sentiment.calibration import TEMPERATURE_FILE
    from sentiment.card import PERFORMANCE_FILE
    from sentiment.files import file_hash
    from sentiment.model import DEFAULT_WEIGHTS, MULTILINGUAL_WEIGHTS

    fitted = json.loads(TEMPERATURE_FILE.read_text(encoding="utf-8"))
    measured = json.loads(PERFORMANCE_FILE.read_text(encoding="utf-8"))
    for key, weights, card in (
        ("default", DEFAULT_WEIGHTS, "MODEL_CARD.md"),
        ("multilingual", MULTILINGUAL_WEIGHTS, "MULTILINGUAL_MODEL_CARD.md"),
    ):
        text = weights.with_name(card).read_text(encoding="utf-8")
        assert fitted[key]["weights_sha256_12"] == file_hash(weights)
        assert card_section(fitted[key]) in text
        assert f"on {measured[key]['cpu']}" in text
        for name, run in measured[key]["runs"].items():
            assert f"| {name} | {run['precision']} | {run['texts_per_second']:.1f} | {run['speedup']:.2f} |" in text


def test_the_english_card_states_its_validation_and_second_opinion_as_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The English card's validation and second-opinion sections are rendered from
    validation.json (re-rendering the committed card changes nothing), and a card re-rendered
    after a new validation states the new figures."""
    from sentiment.card import VALIDATION_FILE, refresh_card_sections
    from sentiment.files import file_hash
    from sentiment.model import DEFAULT_WEIGHTS

    shipped = DEFAULT_WEIGHTS.with_name("MODEL_CARD.md").read_text(encoding="utf-8")
    validation = json.loads(VALIDATION_FILE.read_text(encoding="utf-8"))
    general = validation["second_opinions"]["shipped"]["sets"]["held-out general tweets"]
    row = (
        f"| held-out general tweets | {general['n']} | {general['english_alone']['macro_recall']} | "
        f"{general['with_second_opinion']['macro_recall']} |"
    )
    assert row in shipped and validation["summary"] in shipped
    card = tmp_path / "MODEL_CARD.md"
    card.write_text(shipped, encoding="utf-8")
    refresh_card_sections(card, "default", file_hash(DEFAULT_WEIGHTS))
    assert card.read_text(encoding="utf-8") == shipped
    assert shipped.count("## Second opinion for English") == 1 and shipped.count("## Speed and memory") == 1
    validation["summary"] = "Re-measured: held-out general 0.7401."
    general["with_second_opinion"]["macro_recall"] = 0.7401
    recorded = tmp_path / "validation.json"
    recorded.write_text(json.dumps(validation), encoding="utf-8")
    monkeypatch.setattr("sentiment.card.VALIDATION_FILE", recorded)
    refresh_card_sections(card, "default", file_hash(DEFAULT_WEIGHTS))
    text = card.read_text(encoding="utf-8")
    assert "Re-measured: held-out general 0.7401." in text and row not in text
    assert f"| {general['english_alone']['macro_recall']} | 0.7401 |" in text
    assert text.split("## Limits")[1] == shipped.split("## Limits")[1]  # the rest as trained
