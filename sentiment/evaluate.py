"""Evaluate a sentiment model on labelled data: macro recall, accuracy, per class, speed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentiment.data import LabelledText, read_csv, read_tweeteval
from sentiment.metrics import classification_report, expected_calibration_error
from sentiment.model import SentimentModel


def load_labelled(
    path: Path,
    *,
    data_format: str | None = None,
    split: str = "val",
    text_column: str = "text",
    label_column: str = "label",
) -> list[LabelledText]:
    """Read a TweetEval folder or a CSV file; the format is guessed from the path if not given."""
    fmt = data_format or ("tweeteval" if path.is_dir() else "csv")
    if fmt == "tweeteval":
        return read_tweeteval(path, split)
    if fmt == "csv":
        return read_csv(path, text_column=text_column, label_column=label_column)
    raise ValueError(f"unknown format {fmt!r} (tweeteval or csv)")


def evaluate(model: SentimentModel, rows: Sequence[LabelledText], *, language: str | None = None) -> dict[str, Any]:
    """The classification report of ``model`` on ``rows`` plus texts/second and the model id.

    ``language`` (ISO 639-1): the rows' language, scored by the model that covers it (as the
    score step routes posts); a language no model covers is reported as unsupported, unscored.
    """
    if language is not None and not model.covers(language):
        return {"n": len(rows), "language": language, "unsupported": True, "model_id": model.model_id}
    started = time.perf_counter()
    languages = None if language is None else [language] * len(rows)
    predictions = model.predict([r.text for r in rows], languages)
    seconds = time.perf_counter() - started
    gold = [r.label for r in rows]
    report = classification_report(gold, [p.label for p in predictions])
    # how far the top class's probability is from how often it is right (15 bins): the ranking
    # multiplies P(negative), so it must mean the same in every language
    report["ece"] = expected_calibration_error(gold, [[p.p_negative, p.p_neutral, p.p_positive] for p in predictions])
    report["texts_per_second"] = len(rows) / seconds if seconds > 0 else float("inf")
    scorer = model.model_for(language) if language is not None else model
    report["model_id"] = model.scorer_id(language)
    report["precision"] = (scorer or model).precision
    if language is not None:
        report["language"] = language
    note = second_opinion_note(model, language)
    if note:
        report["note"] = note
    return report


def second_opinion_note(model: SentimentModel, language: str | None) -> str | None:
    """A warning where ``language`` is scored with the multilingual model's second opinion: that
    model trained on UMSAB English, whose tweets are TweetEval's train and validation tweets, so
    a figure on those sets is too high (held-out figures: the English model card)."""
    from sentiment.routing import RoutedModel

    if not isinstance(model, RoutedModel) or model.second_opinion is None:
        return None
    if (language or model.primary.languages[0]).lower() not in model.second_opinion.languages:
        return None
    return (
        "English here includes the multilingual model's second opinion, which trained on UMSAB English"
        " (tweets of TweetEval train and val): on those tweets this figure is too high."
        " ENGAGEBOT_SENTIMENT__SECOND_OPINION_WEIGHT=0 measures the English model alone."
    )


def language_folders(path: Path) -> dict[str, Path]:
    """Language code -> folder for a UMSAB-style root (``german/``, ``french/``...) or one folder.

    Folders are recognised by UMSAB's English language names; anything else maps to nothing.
    """
    from sentiment.multilingual import UMSAB_LANGUAGES

    if path.name in UMSAB_LANGUAGES:
        return {UMSAB_LANGUAGES[path.name]: path}
    return {code: path / name for name, code in UMSAB_LANGUAGES.items() if (path / name).is_dir()}


def evaluate_languages(model: SentimentModel, path: Path, split: str) -> dict[str, Any]:
    """``evaluate`` per language folder of ``path``; the summary lists each language's report."""
    reports = {
        code: evaluate(model, read_tweeteval(folder, split), language=code)
        for code, folder in language_folders(path).items()
    }
    return {"split": split, "data": str(path), "model_id": model.model_id, "languages": reports}
