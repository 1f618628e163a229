"""Text normalisation as the training data had it: ``@user`` mentions, no links, emoji kept."""

from __future__ import annotations

import html
import re

import emoji

_MENTION = re.compile(r"(?<![\w@])@\w+")
_URL = re.compile(r"\s*(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACE = re.compile(r"[\r\n\t]+")
_MULTISPACE = re.compile(r" {2,}")


def normalise_text(text: str) -> str:
    """Normalise one post the way the training tweets were (TweetEval / SemEval conventions).

    User mentions become ``@user`` (the models never learn brand or person names from them),
    links are removed with the space before them, HTML entities (``&amp;``) are unescaped,
    line breaks and tabs become spaces. Emoji are kept: they carry sentiment.
    """
    text = html.unescape(text)
    text = _URL.sub("", text)
    text = _MENTION.sub("@user", text)
    text = _SPACE.sub(" ", text)
    text = _MULTISPACE.sub(" ", text)
    return text.strip()


def emoji_to_words(text: str) -> str:
    """Spell emoji out (``😡`` -> `` :enraged_face: ``) for tokenizers whose vocabulary lacks them.

    An uncased WordPiece vocabulary maps nearly every emoji to ``[UNK]``; their names are words
    it knows, so the sentiment they carry survives tokenisation.
    """
    if text.isascii() or emoji.emoji_count(text) == 0:  # isascii: the common case, 100x cheaper
        return text
    spelled = emoji.demojize(text, delimiters=(" :", ": "))
    return _MULTISPACE.sub(" ", spelled.replace("_", " ")).strip()
