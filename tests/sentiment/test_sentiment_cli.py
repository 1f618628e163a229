"""``engagebot sentiment eval`` / ``train`` and ``engagebot score`` through the real CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from engagebot.cli import app

runner = CliRunner()

ROWS = [
    ("@user worst airline ever, lost my bag and no help", "negative"),
    ("@user three hour delay and rude staff, never again", "negative"),
    ("@user what time does boarding start?", "neutral"),
    ("@user is the flight to Denver on time?", "neutral"),
    ("@user thank you, amazing crew and a smooth flight!", "positive"),
    ("@user love the new seats, great service", "positive"),
]


def _tweeteval_folder(root: Path) -> Path:
    folder = root / "tweeteval"
    folder.mkdir()
    (folder / "val_text.txt").write_text("".join(t + "\n" for t, _ in ROWS), encoding="utf-8")
    ids = {"negative": 0, "neutral": 1, "positive": 2}
    (folder / "val_labels.txt").write_text("".join(f"{ids[lab]}\n" for _, lab in ROWS), encoding="utf-8")
    return folder


def test_eval_tweeteval_folder_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sentiment", "eval", "--data", str(_tweeteval_folder(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == len(ROWS)
    assert 0.0 <= report["macro_recall"] <= 1.0
    assert report["macro_recall"] >= 0.5
    assert sum(map(sum, report["confusion"]["matrix"])) == len(ROWS)
    assert set(report["per_class"]) == {"negative", "neutral", "positive"}
    assert report["texts_per_second"] > 0


def test_eval_csv_with_columns_and_table(tmp_path: Path) -> None:
    path = tmp_path / "airline.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["airline_sentiment", "tweet"])
        writer.writerows([(label, text) for text, label in ROWS])
    args = [
        "sentiment",
        "eval",
        "--data",
        str(path),
        "--format",
        "csv",
        "--text-column",
        "tweet",
        "--label-column",
        "airline_sentiment",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "macro recall" in result.output
    assert "n=6" in result.output
    as_json = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert as_json["n"] == 6


def test_eval_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nhello,angry\n", encoding="utf-8")
    result = runner.invoke(app, ["sentiment", "eval", "--data", str(path), "--format", "csv"])
    assert result.exit_code == 2
    assert "line 2" in result.output and "angry" in result.output
    missing = runner.invoke(app, ["sentiment", "eval", "--data", str(tmp_path / "nope"), "--format", "tweeteval"])
    assert missing.exit_code == 2
    assert "val_text.txt" in missing.output


def test_score_command_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from db.engine import make_engine, session_scope
    from db.migrate import upgrade
    from db.models import Post
    from db.types import utcnow

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        for i, (text, _) in enumerate(ROWS):
            session.add(Post(platform="x", external_id=str(i), source="t", text=text, created_at=utcnow()))
    monkeypatch.setenv("DATABASE_URL", url)
    first = json.loads(runner.invoke(app, ["score", "--json"]).stdout)
    assert first["scored"] == len(ROWS)
    second = json.loads(runner.invoke(app, ["score", "--json"]).stdout)
    assert second["scored"] == 0
    again = json.loads(runner.invoke(app, ["score", "--rescore", "--json"]).stdout)
    assert again["deleted"] == len(ROWS) and again["scored"] == len(ROWS)


@pytest.mark.slow
def test_train_smoke_on_a_few_dozen_examples(tmp_path: Path, shared: Path) -> None:
    out = tmp_path / "smoke.safetensors"
    result = runner.invoke(
        app,
        [
            "sentiment",
            "train",
            "--data",
            str(shared / "data"),
            "--limit",
            "24",
            "--epochs",
            "1",
            "--out",
            str(out),
            "--no-corrections",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["examples"] == {"general": 24, "airline": 24}
    # The delta holds what training changed: every encoder layer and the head, but not the frozen
    # word-embedding matrix (half of MiniLM), so the committed file stays small.
    assert out.is_file() and out.stat().st_size < 25_000_000
    keys = set(load_file(str(out)))
    assert "new::classifier.weight" in keys and "delta::bert.encoder.layer.0.attention.self.query.weight" in keys
    assert not any("word_embeddings" in key for key in keys)
    assert out.with_suffix(".md").is_file()
    from sentiment.model import load_model
    from sentiment.settings import SentimentSettings

    model = load_model(SentimentSettings(weights=out, precision="fp32", threads=1, multilingual=False))
    assert model.model_id.endswith(info["weights_sha256_12"])
    assert len(model.predict(["@united thanks!", "@united lost my bag"])) == 2


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["head", "top"])
def test_cached_feature_variants_train_on_a_few_dozen_examples(tmp_path: Path, shared: Path, variant: str) -> None:
    """``head`` (pooled features encoded once) and ``top`` (lower layers' states cached) batch
    their texts through the same length-sorted batches as scoring, and write a delta that loads."""
    out = tmp_path / f"{variant}.safetensors"
    arguments = ["sentiment", "train", "--data", str(shared / "data"), "--limit", "24", "--epochs", "1"]
    arguments += ["--variant", variant, "--out", str(out), "--no-corrections", "--json"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["config"]["variant"] == variant
    keys = set(load_file(str(out)))
    assert "new::classifier.weight" in keys
    from sentiment.model import load_model
    from sentiment.settings import SentimentSettings

    model = load_model(SentimentSettings(weights=out, precision="fp32", threads=1, multilingual=False))
    predictions = model.predict(["@united thanks!", "@united lost my bag", "ok"])
    assert len(predictions) == 3 and all(abs(p.p_negative + p.p_neutral + p.p_positive - 1) < 1e-5 for p in predictions)


@pytest.mark.slow
def test_multilingual_train_smoke_writes_a_loadable_full_delta(tmp_path: Path, shared: Path) -> None:
    """The shipped multilingual recipe (every layer, all eight UMSAB languages) runs end to end
    on a few dozen tweets and writes a delta the loader reads, for the five shipped languages."""
    out = tmp_path / "ml.safetensors"
    command = ["sentiment", "train", "--model", "multilingual", "--data", str(shared / "data"), "--limit", "48"]
    result = runner.invoke(app, [*command, "--epochs", "1", "--out", str(out), "--no-corrections", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["config"]["variant"] == "full"
    assert set(info["examples"]) == {"de", "fr", "es", "it", "pt", "en", "ar", "hi"}
    keys = set(load_file(str(out)))
    assert "delta::bert.encoder.layer.0.attention.self.query.weight" in keys
    assert "delta::bert.encoder.layer.11.output.dense.weight" in keys
    assert not any("word_embeddings" in key for key in keys)
    from sentiment.model import load_multilingual
    from sentiment.settings import SentimentSettings

    model = load_multilingual(SentimentSettings(multilingual_weights=out, precision="fp32", threads=1))
    assert model.languages == ("de", "fr", "es", "it", "pt")
    assert info["weights_sha256_12"] in model.model_id
    assert len(model.predict(["Seit zwei Stunden warten wir."], ["de"])) == 1
