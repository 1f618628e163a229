"""Any model's labels and any data file's labels map onto negative / neutral / positive."""

from __future__ import annotations

import pytest

from sentiment.labels import label_map, normalise_label


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("negative", "negative"),
        ("Neutral", "neutral"),
        (" POS ", "positive"),
        ("0", "negative"),
        (1, "neutral"),
        ("2", "positive"),
        ("neg", "negative"),
    ],
)
def test_normalise_label(raw: str | int, expected: str) -> None:
    assert normalise_label(raw) == expected


def test_normalise_label_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown sentiment label"):
        normalise_label("angry")


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        (
            {0: "negative", 1: "neutral", 2: "positive"},
            {0: "negative", 1: "neutral", 2: "positive"},
        ),
        ({0: "NEG", 1: "NEU", 2: "POS"}, {0: "negative", 1: "neutral", 2: "positive"}),
        (
            {0: "positive", 1: "negative", 2: "neutral"},
            {0: "positive", 1: "negative", 2: "neutral"},
        ),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, {0: "negative", 1: "neutral", 2: "positive"}),
        ({0: "NEGATIVE", 1: "POSITIVE"}, {0: "negative", 1: "positive"}),
        ({0: "LABEL_0", 1: "LABEL_1"}, {0: "negative", 1: "positive"}),
        (
            {0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"},
            {0: "negative", 1: "negative", 2: "neutral", 3: "positive", 4: "positive"},
        ),
    ],
)
def test_label_map(id2label: dict[int, str], expected: dict[int, str]) -> None:
    assert label_map(id2label) == expected


def test_label_map_refuses_unknown_schemes() -> None:
    with pytest.raises(ValueError, match="cannot map"):
        label_map({0: "joy", 1: "anger", 2: "fear", 3: "sadness"})
