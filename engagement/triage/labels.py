"""Sentiment labels triage reads (the score step's own names, without importing the model package)."""

from __future__ import annotations

NEGATIVE = "negative"
#: a post in a language no installed model covers: scored with probabilities 0, label this
UNSUPPORTED_LANGUAGE = "unsupported_language"
