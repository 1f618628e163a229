"""Readers for the labelled data formats: TweetEval folders and CSV files (airline tweets too)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sentiment.labels import normalise_label


@dataclass(frozen=True)
class LabelledText:
    """One text with its gold label (negative / neutral / positive) and optional group (airline)."""

    text: str
    label: str
    group: str | None = None


def read_tweeteval(folder: Path, split: str) -> list[LabelledText]:
    """``{split}_text.txt`` + ``{split}_labels.txt`` (0 negative, 1 neutral, 2 positive)."""
    text_file, label_file = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
    for path in (text_file, label_file):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found (tweeteval format wants {split}_text.txt and {split}_labels.txt)"
            )
    texts = text_file.read_text(encoding="utf-8").split("\n")
    labels = label_file.read_text(encoding="utf-8").split("\n")
    while texts and texts[-1] == "":
        texts.pop()
    while labels and labels[-1].strip() == "":
        labels.pop()
    if len(texts) != len(labels):
        raise ValueError(f"{text_file} has {len(texts)} lines but {label_file} has {len(labels)}")
    rows = []
    for number, (text, label) in enumerate(zip(texts, labels, strict=True), start=1):
        try:
            rows.append(LabelledText(text, normalise_label(label)))
        except ValueError as exc:
            raise ValueError(f"{label_file}, line {number}: {exc}") from exc
    return rows


def read_csv(
    path: Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    group_column: str | None = None,
) -> list[LabelledText]:
    """A CSV with a text column and a label column (negative/neutral/positive or 0/1/2)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        for needed in (text_column, label_column, *([group_column] if group_column else [])):
            if needed not in columns:
                raise ValueError(f"{path}: no column {needed!r} (columns: {', '.join(columns)})")
        for record in reader:
            try:
                label = normalise_label(record[label_column] or "")
            except ValueError as exc:
                raise ValueError(f"{path}, line {reader.line_num}: {exc}") from exc
            group = record[group_column] if group_column else None
            rows.append(LabelledText(record[text_column] or "", label, group))
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def read_airline_tweets(path: Path) -> list[LabelledText]:
    """The airline-tweets CSV (``airline_sentiment``, ``text``, grouped by ``airline``)."""
    return read_csv(path, text_column="text", label_column="airline_sentiment", group_column="airline")
