"""CLI commands: ``score`` (the score step) and ``sentiment train`` / ``sentiment eval``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from engagebot.runtime import console, engine_for, friendly_errors, load_settings

sentiment_app = typer.Typer(help="Train and evaluate the sentiment model.", no_args_is_help=True)


@friendly_errors
def score(
    rescore: bool = typer.Option(
        False, "--rescore", help="Drop the current model's scores first and score all posts again."
    ),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", min=1, help="Posts per committed chunk (default from settings)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Score every post that has no sentiment score from the current model (resumable).

    A new model (new weights) has a new id, so its first run scores everything again.

    Example: engagebot score

    Example: engagebot score --rescore --json
    """
    from db.jobs import job_run
    from sentiment.model import load_model
    from sentiment.score import delete_scores, score_pending

    settings = load_settings()
    engine = engine_for(settings)
    model = load_model(settings.sentiment)
    with job_run(engine, "score", source=model.model_id) as counts:
        deleted = delete_scores(engine, model.model_id) if rescore else 0
        result = score_pending(
            engine,
            model,
            chunk_size=chunk_size or settings.sentiment.chunk_size,
            progress=not as_json,
        )
        counts.update(result, deleted=deleted)
    if as_json:
        console.print_json(json.dumps({"model_id": model.model_id, "deleted": deleted, **result}))
        return
    labels = ", ".join(f"{k} {v}" for k, v in sorted(result.items()) if k not in ("scored", "chunks"))
    console.print(
        f"scored {result['scored']} posts with {model.model_id} ({labels or 'nothing pending'})"
        + (f"; {deleted} old scores dropped" if rescore else "")
    )


def _progress(disable: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=disable,
    )


@sentiment_app.command("train")
@friendly_errors
def train(
    data: Path = typer.Option(
        Path("../shared/data"),
        "--data",
        help="Folder holding tweet-sentiment-train/ and airline-tweets/.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Where to write the weights (default: sentiment/weights/default.safetensors).",
    ),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    epochs: float | None = typer.Option(None, "--epochs", help="Epochs (default: the recipe's)."),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Use only this many general and airline tweets (smoke tests)."
    ),
    general_sample: int | None = typer.Option(
        None, "--general-sample", min=1, help="General tweets sampled (default: the recipe's)."
    ),
    variant: str | None = typer.Option(None, "--variant", help="full (the default), top, lora or head."),
    corrections: bool = typer.Option(
        True,
        "--corrections/--no-corrections",
        help="Include agents' label corrections from the database.",
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the recipe's)."),
    model: str = typer.Option(
        "default",
        "--model",
        help="default (English: general + airline tweets) or multilingual (UMSAB tweets, de/fr/es/it/pt).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the training summary as JSON."),
) -> None:
    """Fine-tune a shipped model (seeded; reproduces the shipped weights) and write its card.

    Agents' label corrections train the model that scores their post's language.

    Example: engagebot sentiment train --data ../shared/data

    Example: engagebot sentiment train --model multilingual --data ../shared/data

    Example: engagebot sentiment train --limit 40 --epochs 1 --out /tmp/smoke.safetensors
    """
    if model == "multilingual":
        _train_multilingual(data, out, device, epochs, limit, seed, variant, corrections, as_json)
        return
    if model != "default":
        raise ValueError(f"--model must be default or multilingual, not {model!r}")
    from sentiment.card import CARD_NAMES, write_card
    from sentiment.model import DEFAULT_WEIGHTS
    from sentiment.recipe import DEFAULT_RECIPE, read_training_data, train_default
    from sentiment.train import TrainConfig

    recipe: dict[str, Any] = {**DEFAULT_RECIPE, "device": device}
    for key, value in {
        "epochs": epochs,
        "variant": variant,
        "seed": seed,
        "general_sample": general_sample,
    }.items():
        if value is not None:
            recipe[key] = value
    config = TrainConfig(**recipe)
    general, airline = read_training_data(data, limit=limit)
    fixes = []
    if corrections:
        from sentiment.corrections import in_languages, load_corrections

        settings = load_settings()
        fixes = in_languages(load_corrections(engine_for(settings)), settings.sentiment.languages)
    target = out or DEFAULT_WEIGHTS
    with _progress(as_json) as progress:
        encode_task = progress.add_task("encoding texts", total=None)
        step_task = progress.add_task("training", total=None)

        def on_encode(n: int) -> None:
            progress.advance(encode_task, n)

        def on_step(step: int, total: int, loss: float) -> None:
            progress.update(step_task, completed=step, total=total, description=f"training (loss {loss:.3f})")

        info = train_default(general, airline, fixes, config, target, on_encode=on_encode, on_step=on_step)
    card = write_card(info, target.with_name(CARD_NAMES["default"]) if out is None else target.with_suffix(".md"))
    if out is None:
        info["calibration"] = _calibrate_shipped(data)
    if as_json:
        console.print_json(json.dumps({**info, "card": str(card)}))
    else:
        console.print(
            f"wrote {target} ({info['size_bytes'] / 1e6:.1f} MB, "
            f"{sum(info['examples'].values())} examples, "
            f"{info['corrections_used']} corrections) and {card}"
        )


def _train_multilingual(
    data: Path,
    out: Path | None,
    device: str,
    epochs: float | None,
    limit: int | None,
    seed: int | None,
    variant: str | None,
    corrections: bool,
    as_json: bool,
) -> None:
    """``sentiment train --model multilingual``: UMSAB train splits (+ corrections in its languages)."""
    from sentiment.card import CARD_NAMES, write_multilingual_card
    from sentiment.e5_convert import e5_base_dir
    from sentiment.model import MULTILINGUAL_WEIGHTS
    from sentiment.multilingual import COVERED, MULTILINGUAL_RECIPE, TRAIN_LANGUAGES, read_umsab, train_multilingual
    from sentiment.train import TrainConfig

    recipe: dict[str, Any] = {**MULTILINGUAL_RECIPE, "device": device}
    for key, value in {"epochs": epochs, "seed": seed, "variant": variant}.items():
        if value is not None:
            recipe[key] = value
    tweets = read_umsab(data / "umsab", "train", TRAIN_LANGUAGES)
    if limit:
        tweets = tweets[:: max(1, len(tweets) // limit)][:limit]
    fixes = []
    if corrections:
        from sentiment.corrections import in_languages, load_corrections

        fixes = in_languages(load_corrections(engine_for(load_settings())), COVERED)
    target = out or MULTILINGUAL_WEIGHTS
    with _progress(as_json) as progress:
        encode_task = progress.add_task("encoding texts", total=None)
        step_task = progress.add_task("training", total=None)

        def on_encode(n: int) -> None:
            progress.advance(encode_task, n)

        def on_step(step: int, total: int, loss: float) -> None:
            progress.update(step_task, completed=step, total=total, description=f"training (loss {loss:.3f})")

        info = train_multilingual(
            tweets, fixes, TrainConfig(**recipe), target, e5_base_dir(), on_encode=on_encode, on_step=on_step
        )
    card = write_multilingual_card(
        info, target.with_name(CARD_NAMES["multilingual"]) if out is None else target.with_suffix(".md")
    )
    if as_json:
        console.print_json(json.dumps({**info, "card": str(card)}))
    else:
        console.print(
            f"wrote {target} ({info['size_bytes'] / 1e6:.1f} MB, {sum(info['examples'].values())} examples, "
            f"{info['corrections_used']} corrections) and {card}"
        )


def _calibrate_shipped(data: Path) -> dict[str, Any]:
    """Fit and store the English model's class bias for the shipped weights (see ``calibrate``)."""
    from sentiment.calibrate_default import calibrate_default, write_calibration
    from sentiment.model import load_model

    settings = load_settings().sentiment.model_copy(update={"calibrate": False, "multilingual": False})
    entry = calibrate_default(load_model(settings), data)
    write_calibration("default", entry)
    return entry


def _calibrate_temperatures(data: Path, as_json: bool) -> None:
    """Fit and store both shipped models' temperatures per language (see ``calibrate``)."""
    from sentiment.calibrate_temperature import calibrate_english, calibrate_multilingual, write_temperatures
    from sentiment.model import (
        DEFAULT_NAME_KEY,
        DEFAULT_WEIGHTS,
        MULTILINGUAL_KEY,
        MULTILINGUAL_WEIGHTS,
        load_model,
        load_multilingual,
    )

    settings = load_settings().sentiment.model_copy(update={"calibrate": False, "multilingual": False})
    entries = {DEFAULT_NAME_KEY: calibrate_english(load_model(settings), data, settings.weights or DEFAULT_WEIGHTS)}
    if MULTILINGUAL_WEIGHTS.is_file():
        weights = settings.multilingual_weights or MULTILINGUAL_WEIGHTS
        entries[MULTILINGUAL_KEY] = calibrate_multilingual(load_multilingual(settings), data, weights)
    from sentiment.card import refresh_shipped_card

    for name, entry in entries.items():
        write_temperatures(name, entry)
        refresh_shipped_card(name)
    if as_json:
        console.print_json(json.dumps(entries))
        return
    for name, entry in entries.items():
        for code, fit in entry["figures"].items():
            console.print(
                f"{name} {code}: T={entry['temperature'][code]} ECE {fit['before']['ece']} -> {fit['after']['ece']}, "
                f"mean P(negative) of negatives {fit['before']['mean_p_negative_of_negatives']} -> "
                f"{fit['after']['mean_p_negative_of_negatives']}",
                highlight=False,
            )


@sentiment_app.command("calibrate")
@friendly_errors
def calibrate(
    data: Path = typer.Option(
        Path("../shared/data"), "--data", help="Folder holding tweet-sentiment-train/, airline-tweets/, tweeteval/."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the chosen bias and figures as JSON."),
    temperature: bool = typer.Option(
        False,
        "--temperature",
        help="Fit one temperature per model and language instead (held-out data), so P(negative) means "
        "the same in every language; stored in sentiment/weights/temperature.json.",
    ),
) -> None:
    """Choose the English model's per-class bias on general tweets it never saw (no retraining),
    or with --temperature each model's temperature per language.

    The bias corrects the over-calling of "negative" on general tweets, guarded by the airline
    tweets; it is stored for exactly these weights in sentiment/weights/calibration.json.

    Example: engagebot sentiment calibrate --data ../shared/data

    Example: engagebot sentiment calibrate --temperature --data ../shared/data
    """
    if temperature:
        _calibrate_temperatures(data, as_json)
        return
    entry = _calibrate_shipped(data)
    if as_json:
        console.print_json(json.dumps(entry))
        return
    figures = ", ".join(
        f"{name} {entry[key]['before']['macro_recall']} -> {entry[key]['after']['macro_recall']}"
        for name, key in (
            ("held-out general", "held_out_general"),
            ("TweetEval val", "tweeteval_val"),
            ("airline (seen in training)", "airline_seen_in_training"),
        )
    )
    console.print(f"bias {entry['bias']} (negative, neutral, positive); macro recall {figures}")


@sentiment_app.command("eval")
@friendly_errors
def evaluate(
    data: Path = typer.Option(..., "--data", help="A TweetEval folder or a CSV file."),
    data_format: str | None = typer.Option(None, "--format", help="tweeteval or csv (default: folder = tweeteval)."),
    split: str = typer.Option("val", "--split", help="val or test (tweeteval format)."),
    label_column: str = typer.Option("label", "--label-column", help="CSV column with negative/neutral/positive."),
    text_column: str = typer.Option("text", "--text-column", help="CSV column with the text."),
    language: str | None = typer.Option(
        None,
        "--language",
        help="ISO 639-1 code of the texts: scored by the model covering it (default: English, or per folder).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON (top-level macro_recall)."),
) -> None:
    """Evaluate the configured model: macro recall, accuracy, per class, confusion, texts/s.

    A UMSAB folder (``umsab/`` or ``umsab/german``) is evaluated per language, each language
    scored by the model that covers it.

    Example: engagebot sentiment eval --data ../shared/data/tweeteval/sentiment --split val

    Example: engagebot sentiment eval --data ../shared/data/umsab --split val

    Example: engagebot sentiment eval --data t.csv --format csv --label-column airline_sentiment --language de
    """
    from sentiment.evaluate import evaluate as run_eval
    from sentiment.evaluate import language_folders, load_labelled
    from sentiment.model import load_model

    if split not in ("val", "test"):
        raise ValueError(f"--split must be val or test, not {split!r}")
    if language is None and data.is_dir() and language_folders(data):
        _eval_languages(load_model(load_settings().sentiment), data, split, as_json)
        return
    rows = load_labelled(
        data,
        data_format=data_format,
        split=split,
        text_column=text_column,
        label_column=label_column,
    )
    model = load_model(load_settings().sentiment)
    report = run_eval(model, rows, language=language)
    if report.get("unsupported"):
        raise ValueError(f"no configured model covers language {language!r}")
    if as_json:
        console.print_json(json.dumps(report))
        return
    console.print(
        f"{model.model_id} ({model.precision}) on {data}: n={report['n']}  "
        f"macro recall {report['macro_recall']:.4f}  accuracy {report['accuracy']:.4f}  "
        f"{report['texts_per_second']:.0f} texts/s"
    )
    if report.get("note"):
        console.print(f"note: {report['note']}", highlight=False)
    table = Table("class", "recall", "precision", "support")
    for label, m in report["per_class"].items():
        table.add_row(label, f"{m['recall']:.4f}", f"{m['precision']:.4f}", str(m["support"]))
    console.print(table)
    confusion = Table("gold \\ predicted", *report["confusion"]["labels"])
    for label, row in zip(report["confusion"]["labels"], report["confusion"]["matrix"], strict=True):
        confusion.add_row(label, *map(str, row))
    console.print(confusion)


def _eval_languages(model: Any, data: Path, split: str, as_json: bool) -> None:
    """Print (or dump) one row per language of a UMSAB-style folder."""
    from sentiment.evaluate import evaluate_languages

    summary = evaluate_languages(model, data, split)
    if as_json:
        console.print_json(json.dumps(summary))
        return
    table = Table("language", "n", "macro recall", "accuracy", "neg / neu / pos recall", "model")
    for code, r in summary["languages"].items():
        if r.get("unsupported"):
            table.add_row(code, str(r["n"]), "unsupported", "", "", "")
            continue
        recalls = " / ".join(f"{r['per_class'][label]['recall']:.3f}" for label in ("negative", "neutral", "positive"))
        table.add_row(code, str(r["n"]), f"{r['macro_recall']:.4f}", f"{r['accuracy']:.4f}", recalls, r["model_id"])
    console.print(f"{model.model_id} on {data} ({split})")
    console.print(table)
    for code, r in summary["languages"].items():
        if r.get("note"):
            console.print(f"note ({code}): {r['note']}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("score")(score)
    app.add_typer(sentiment_app, name="sentiment")
