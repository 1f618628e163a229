"""What the default model sees: normalised text with emoji spelled out."""

from __future__ import annotations

from sentiment.text import emoji_to_words, normalise_text


def model_input(text: str, *, spell_emoji: bool = True) -> str:
    """Normalise like the training data, and spell emoji out where the vocabulary lacks them."""
    text = normalise_text(text)
    return emoji_to_words(text) if spell_emoji else text
