"""Fixtures for sentiment tests: the shipped default model, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.model import SentimentModel, load_model
from sentiment.settings import SentimentSettings


@pytest.fixture(scope="session")
def default_model(cache_home: Path) -> SentimentModel:
    """The offline default (base encoder from pip + committed delta), as the score step uses it."""
    return load_model(SentimentSettings(threads=1, onnx_cache=cache_home / "engagebot" / "onnx"))


@pytest.fixture(scope="session")
def english_model(cache_home: Path) -> SentimentModel:
    """The English model alone (multilingual routing off): other languages are unsupported."""
    return load_model(SentimentSettings(threads=1, multilingual=False, onnx_cache=cache_home / "engagebot" / "onnx"))
