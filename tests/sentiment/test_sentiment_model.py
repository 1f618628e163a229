"""The shipped default loads offline and gets clear airline-style sentences right."""

from __future__ import annotations

import pytest

from sentiment.model import SentimentModel, load_model
from sentiment.settings import SentimentSettings

NEGATIVE = [
    "@united you lost my luggage and nobody at the desk cares. Never flying with you again",
    "@delta 4 hour delay, missed my connection and no compensation. Terrible service",
    "@SpiritAirlines worst experience ever, rude staff and a filthy plane 😡",
]
POSITIVE = [
    "@SouthwestAir thank you for the upgrade, the crew was wonderful!",
    "@VirginAmerica love the new seats, best flight I have had in years ❤️",
    "@JetBlue great job getting us home early, amazing service",
]


@pytest.mark.slow
def test_default_model_gets_clear_sentences_right(default_model: SentimentModel) -> None:
    predictions = default_model.predict(NEGATIVE + POSITIVE)
    assert [p.label for p in predictions] == ["negative"] * 3 + ["positive"] * 3
    assert all(p.p_negative > 0.6 for p in predictions[:3])
    assert all(p.p_positive > 0.6 for p in predictions[3:])


def test_model_id_names_the_weights(default_model: SentimentModel) -> None:
    name, _, digest = default_model.model_id.partition("@")
    assert name == "all-MiniLM-L6-v2+engagebot"
    assert len(digest) == 12


def test_predict_keeps_input_order_and_empty_input(default_model: SentimentModel) -> None:
    texts = ["ok", "@united worst delay ever " * 20, "thanks!"]
    together = default_model.predict(texts)
    one_by_one = [default_model.predict([t])[0] for t in texts]
    for a, b in zip(together, one_by_one, strict=True):
        assert a.label == b.label
        assert a.p_negative == pytest.approx(b.p_negative, abs=1e-3)
    assert default_model.predict([]) == []


def test_fp32_and_int8_agree_on_clear_cases() -> None:
    fp32 = load_model(SentimentSettings(precision="fp32", threads=1))
    assert fp32.precision == "fp32"
    assert fp32.model_id.startswith("all-MiniLM-L6-v2+engagebot@")
    labels = [p.label for p in fp32.predict(NEGATIVE[:1] + POSITIVE[:1])]
    assert labels == ["negative", "positive"]


def test_missing_weights_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError, match="weights not found"):
        load_model(SentimentSettings(weights="nowhere/default.safetensors"))
