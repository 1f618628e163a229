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
    texts = ["ok", "@united worst delay ever " * 20, "thanks so much!"]
    together = default_model.predict(texts)
    one_by_one = [default_model.predict([t])[0] for t in texts]
    # dynamic int8 scales activations per batch, so batch-mates move probabilities slightly
    tolerance = 0.05 if default_model.precision == "int8" else 1e-4
    for a, b in zip(together, one_by_one, strict=True):
        assert a.label == b.label
        assert a.p_negative == pytest.approx(b.p_negative, abs=tolerance)
    assert default_model.predict([]) == []


def test_int8_option_agrees_on_clear_cases() -> None:
    int8 = load_model(SentimentSettings(precision="int8", threads=1))
    assert int8.precision == "int8"
    assert int8.model_id.startswith("all-MiniLM-L6-v2+engagebot@")
    labels = [p.label for p in int8.predict(NEGATIVE[:1] + POSITIVE[:1])]
    assert labels == ["negative", "positive"]


def test_auto_precision_follows_the_cpu(default_model: SentimentModel) -> None:
    from sentiment.model import cpu_supports_bf16

    # int8 cost more than a point of macro recall on validation, so auto never picks it here
    assert default_model.precision == ("bf16" if cpu_supports_bf16() else "fp32")


def test_missing_weights_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError, match="weights not found"):
        load_model(SentimentSettings(weights="nowhere/default.safetensors"))
