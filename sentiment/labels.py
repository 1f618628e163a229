"""Normalise any model's labels to negative / neutral / positive, and the class order we use."""

from __future__ import annotations

import re
from collections.abc import Mapping

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
UNSUPPORTED_LANGUAGE = "unsupported_language"

_NAMED: dict[str, str] = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
    "0": "negative",
    "1": "neutral",
    "2": "positive",
}
_STARS = re.compile(r"^([1-5])\s*stars?$")
_GENERIC = re.compile(r"^label_(\d+)$")


def normalise_label(raw: str | int) -> str:
    """One label value from a data file (``negative``, ``Neg``, ``0``, ``2``...) to our name.

    Numbers follow TweetEval's mapping (0 negative, 1 neutral, 2 positive).
    """
    key = str(raw).strip().lower()
    if key in _NAMED:
        return _NAMED[key]
    raise ValueError(f"unknown sentiment label {raw!r} (expected negative/neutral/positive or 0/1/2)")


def label_map(id2label: Mapping[int, str]) -> dict[int, str]:
    """Map a model's output ids to negative / neutral / positive.

    Handles the common conventions: named labels (``negative``, ``NEG``, ``Neutral``...), star
    ratings (``1 star`` .. ``5 stars``: 1-2 negative, 3 neutral, 4-5 positive), and generic
    ``LABEL_i`` names, read as TweetEval's order for three classes and as negative/positive for
    two (SST-2 style). Several ids may map to one class; their probabilities are summed.
    """
    names = {int(i): str(name).strip().lower() for i, name in id2label.items()}
    mapped: dict[int, str] = {}
    for i, name in names.items():
        star = _STARS.match(name)
        if name in _NAMED and not name.isdigit():
            mapped[i] = _NAMED[name]
        elif star:
            stars = int(star.group(1))
            mapped[i] = "negative" if stars <= 2 else "neutral" if stars == 3 else "positive"
    if len(mapped) == len(names):
        return mapped
    generic = [_GENERIC.match(name) or (name if name.isdigit() else None) for name in names.values()]
    if all(generic):
        ordered = sorted(names)
        if len(ordered) == 3:
            return dict(zip(ordered, LABELS, strict=True))
        if len(ordered) == 2:
            return {ordered[0]: "negative", ordered[1]: "positive"}
    raise ValueError(f"cannot map the model's labels {sorted(names.values())} to negative/neutral/positive")
