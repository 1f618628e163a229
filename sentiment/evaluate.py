"""Evaluate a sentiment model on labelled data: macro recall, accuracy, per class, speed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentiment.data import LabelledText, read_csv, read_tweeteval
from sentiment.metrics import classification_report
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


def evaluate(model: SentimentModel, rows: Sequence[LabelledText]) -> dict[str, Any]:
    """The classification report of ``model`` on ``rows`` plus texts/second and the model id."""
    started = time.perf_counter()
    predictions = model.predict([r.text for r in rows])
    seconds = time.perf_counter() - started
    report = classification_report([r.label for r in rows], [p.label for p in predictions])
    report["texts_per_second"] = len(rows) / seconds if seconds > 0 else float("inf")
    report["model_id"] = model.model_id
    report["precision"] = model.precision
    return report
