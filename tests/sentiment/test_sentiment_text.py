"""Text normalisation matches the training data: @user mentions, no links, emoji kept."""

from __future__ import annotations

import pytest

from sentiment.inputs import model_input
from sentiment.text import emoji_to_words, normalise_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@united thanks!", "@user thanks!"),
        (".@AmericanAir why?", ".@user why?"),
        ("@a @b_c hi", "@user @user hi"),
        ("mail me at joe@example.com", "mail me at joe@example.com"),
        ("lost bag https://t.co/abc123 again", "lost bag again"),
        ("see www.example.com/x now", "see now"),
        ("delayed\n\tagain", "delayed again"),
        ("Fish &amp; chips &lt;3", "Fish & chips <3"),
        ("worst flight ever 😡😡", "worst flight ever 😡😡"),
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


def test_emoji_spelled_out_for_the_default_model() -> None:
    assert emoji_to_words("great 😍") == "great :smiling face with heart-eyes:"
    assert emoji_to_words("no emoji here") == "no emoji here"
    assert model_input("@delta 😡 https://t.co/x") == "@user :enraged face:"
    assert model_input("@delta 😡", spell_emoji=False) == "@user 😡"
