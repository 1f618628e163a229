"""The shipped default loads offline and gets clear airline-style sentences right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sentiment.data import read_airline_tweets, read_tweeteval
from sentiment.files import file_hash
from sentiment.metrics import classification_report
from sentiment.model import DEFAULT_NAME, DEFAULT_WEIGHTS, MULTILINGUAL_WEIGHTS, SentimentModel, load_model
from sentiment.onnx_backend import int8_path
from sentiment.settings import SentimentSettings

REPO = Path(__file__).resolve().parents[2]

NEGATIVE = [
    "@united you lost my luggage and nobody at the desk cares. Never flying with you again",
    "@delta 4 hour delay, missed my connection and no compensation. Terrible service",
    "@SpiritAirlines worst experience ever, rude staff and a filthy plane 😡",
]
POSITIVE = [
    "@SouthwestAir thank you for the upgrade, the crew was wonderful!",
    "@VirginAmerica love the new seats, best flight I have had in years ❤️",
    "@JetBlue great job getting us home early, amazing service",
]


@pytest.mark.slow
def test_default_model_gets_clear_sentences_right(default_model: SentimentModel) -> None:
    predictions = default_model.predict(NEGATIVE + POSITIVE)
    assert [p.label for p in predictions] == ["negative"] * 3 + ["positive"] * 3
    assert all(p.p_negative > 0.6 for p in predictions[:3])
    assert all(p.p_positive > 0.6 for p in predictions[3:])


def test_model_id_names_the_weights(default_model: SentimentModel) -> None:
    # English model (+ its calibration, if any) + the multilingual model: a new file, a new id
    english, _, rest = default_model.model_id.partition("@")
    assert english == "all-MiniLM-L6-v2+engagebot"
    assert len(rest.split("+")[0]) == 12
    if MULTILINGUAL_WEIGHTS.is_file():
        assert "+multilingual-e5-small+engagebot@" in default_model.model_id


def test_predict_keeps_input_order_and_empty_input(default_model: SentimentModel) -> None:
    texts = ["ok", "@united worst delay ever " * 20, "thanks so much!"]
    together = default_model.predict(texts)
    one_by_one = [default_model.predict([t])[0] for t in texts]
    # int8 runs each text alone (its own activation scale), so batch-mates change nothing
    tolerance = 1e-4
    for a, b in zip(together, one_by_one, strict=True):
        assert a.label == b.label
        assert a.p_negative == pytest.approx(b.p_negative, abs=tolerance)
    assert default_model.predict([]) == []


def test_int8_option_agrees_on_clear_cases() -> None:
    int8 = load_model(SentimentSettings(precision="int8", threads=1))
    assert int8.precision == "int8"
    assert int8.model_id.startswith("all-MiniLM-L6-v2+engagebot@")
    labels = [p.label for p in int8.predict(NEGATIVE[:1] + POSITIVE[:1])]
    assert labels == ["negative", "positive"]


def test_auto_precision_takes_validated_int8_only(default_model: SentimentModel) -> None:
    from sentiment.files import delta_metadata
    from sentiment.model import _resolve_precision, cpu_supports_bf16

    validated = delta_metadata(DEFAULT_WEIGHTS).get("int8_validated") == "true"
    # the committed weights say whether int8 cost under a point of macro recall (model card)
    assert default_model.precision == ("onnx-int8" if validated else ("bf16" if cpu_supports_bf16() else "fp32"))
    assert _resolve_precision("fp32", validated_int8=True) == "fp32"
    assert _resolve_precision("auto", validated_int8=False) == ("bf16" if cpu_supports_bf16() else "fp32")


@pytest.mark.slow
def test_onnx_int8_agrees_with_fp32_on_real_tweets(shared: Path, tmp_path: Path) -> None:
    # 1,000 texts: on 250 the share of flipped labels swings by a few points between samples.
    rows = read_tweeteval(shared / "data" / "tweeteval" / "sentiment", "val")[::2]
    texts = [r.text for r in rows]
    fp32 = load_model(SentimentSettings(precision="fp32", threads=1, multilingual=False))
    fast = load_model(SentimentSettings(precision="onnx-int8", threads=1, onnx_cache=tmp_path, multilingual=False))
    assert fast.model_id == fp32.model_id
    # one graph per network: named by its weights, not by the temperatures applied after it
    graph_id = f"{DEFAULT_NAME}@{file_hash(DEFAULT_WEIGHTS)}"
    assert [p.name for p in tmp_path.glob("*.onnx")] == [int8_path(graph_id, tmp_path).name]
    slow_probs, fast_probs = fp32.probabilities(texts), fast.probabilities(texts)
    agreement = float((slow_probs.argmax(-1) == fast_probs.argmax(-1)).mean())
    assert agreement > 0.95
    assert float(np.abs(slow_probs - fast_probs).mean()) < 0.03
    gold = [r.label for r in rows]
    recall = [classification_report(gold, [p.label for p in m.predict(texts)])["macro_recall"] for m in (fp32, fast)]
    assert abs(recall[0] - recall[1]) < 0.02


def test_onnx_graph_is_built_once_per_model_and_scoring_never_loads_torch_weights(
    default_model: SentimentModel, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With both graphs built, loading reads them alone: no torch network is built and no graph
    is rebuilt (the torch weights are what took the memory; issue 27 caps it at 0.9 GB)."""
    import sentiment.model as model_module
    import sentiment.onnx_build as onnx_build

    cache = cache_home / "engagebot" / "onnx"
    load_model(SentimentSettings(precision="onnx-int8", threads=1, onnx_cache=cache)).predict(
        ["Seit zwei Stunden warten wir, niemand informiert uns."], ["de"]
    )

    def no_torch(*_: object) -> object:
        raise AssertionError("a built graph should have been used, not the torch network")

    monkeypatch.setattr(onnx_build, "build_in_child", no_torch)
    monkeypatch.setattr(model_module, "shipped_network", no_torch)
    again = load_model(SentimentSettings(precision="onnx-int8", threads=1, onnx_cache=cache))
    predictions = again.predict([*NEGATIVE[:1], "Seit zwei Stunden warten wir, niemand informiert uns."], ["en", "de"])
    assert [p.label for p in predictions] == ["negative", "negative"]


def test_scoring_from_built_graphs_never_imports_torch(default_model: SentimentModel, cache_home: Path) -> None:
    """A fresh process that scores English and German from the built graphs imports neither
    torch nor transformers (torch alone is ~220 MB of issue 27's 0.9 GB), and its
    probabilities are this process's, to the last float."""
    texts, languages = (
        [NEGATIVE[0], POSITIVE[0], "Seit zwei Stunden warten wir, niemand informiert uns."],
        ["en", "en", "de"],
    )
    here = default_model.probabilities(texts, languages)
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from sentiment.model import load_model\n"
        "from sentiment.settings import SentimentSettings\n"
        "model = load_model(SentimentSettings(threads=1, onnx_cache=Path(sys.argv[1])))\n"
        f"probabilities = model.probabilities({texts!r}, {languages!r}).tolist()\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'transformers': 'transformers' in sys.modules,"
        " 'probabilities': probabilities}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(cache_home / "engagebot" / "onnx")],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    child = json.loads(done.stdout.strip().splitlines()[-1])
    assert child["torch"] is False and child["transformers"] is False
    assert child["probabilities"] == here.tolist()
    assert [max(range(3), key=row.__getitem__) for row in child["probabilities"]] == [0, 2, 0]


def test_a_failed_graph_build_says_why(tmp_path: Path) -> None:
    from sentiment.onnx_build import build_in_child

    with pytest.raises(RuntimeError, match=r"building the int8 graph of the default model failed.*nowhere"):
        build_in_child("default", tmp_path / "nowhere.safetensors", tmp_path / "graph.onnx")
    assert not (tmp_path / "graph.onnx").exists()


def test_missing_weights_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError, match="weights not found"):
        load_model(SentimentSettings(weights="nowhere/default.safetensors"))


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "de"])
def test_int8_scores_do_not_depend_on_the_batch(shared: Path, tmp_path: Path, language: str) -> None:
    """The same tweets scored alone, reversed among 200 others in batches of 32, and shuffled in
    among them in batches of 7 keep their labels and P(negative) within 0.01 (issue 27's bar):
    customer tweets through the English model, German tweets through the multilingual one."""
    if language == "en":
        rows = [r.text for r in read_airline_tweets(shared / "data" / "airline-tweets" / "tweets.csv")[:1200]]
        texts, others = rows[:60], rows[1000:1200]
    else:
        rows = [r.text for r in read_tweeteval(shared / "data" / "umsab" / "german", "val")]
        texts, others = rows[:60], rows[100:300]
    model = load_model(SentimentSettings(precision="onnx-int8", threads=1, onnx_cache=tmp_path, batch_size=32))
    assert model.model_for(language) is not None
    langs = [language] * (len(texts) + len(others))
    alone = [model.predict([t], [language])[0] for t in texts]
    mixed = model.predict(list(reversed(texts)) + others, langs)[: len(texts)][::-1]
    small = load_model(SentimentSettings(precision="onnx-int8", threads=1, onnx_cache=tmp_path, batch_size=7))
    shuffled = small.predict(others[:100] + texts + others[100:], langs)[100 : 100 + len(texts)]
    for one, two, three in zip(alone, mixed, shuffled, strict=True):
        assert one.label == two.label == three.label
        assert abs(one.p_negative - two.p_negative) <= 0.01 and abs(one.p_negative - three.p_negative) <= 0.01


@pytest.mark.slow
def test_each_language_is_scored_at_its_fitted_temperature(tmp_path: Path) -> None:
    """The shipped temperatures are applied per language, named in the model id, and change no
    label: German at the German temperature, English at the English one."""
    from sentiment.calibration import TEMPERATURE_FILE, apply_temperature

    fitted = json.loads(TEMPERATURE_FILE.read_text(encoding="utf-8"))
    texts = ["Seit zwei Stunden warten wir, niemand informiert uns. Schlechtester Service!", "Danke, alles gut."]
    english = ["@united two hours on the tarmac and nobody tells us anything", "thanks, all good"]
    # the English model alone here: its second opinion is tested below
    base = SentimentSettings(precision="onnx-int8", threads=1, onnx_cache=tmp_path, second_opinion_weight=0.0)
    raw = load_model(base.model_copy(update={"calibrate": False}))
    calibrated = load_model(base)
    assert "+T" in calibrated.model_id and "+T" not in raw.model_id
    for batch, lang, key in ((texts, "de", "multilingual"), (english, "en", "default")):
        temperature = fitted[key]["temperature"].get(lang, fitted[key]["temperature"].get("*"))
        before = raw.probabilities(batch, [lang] * len(batch))
        after = calibrated.probabilities(batch, [lang] * len(batch))
        assert np.allclose(after, apply_temperature(before, temperature), atol=1e-5)
        assert np.array_equal(after.argmax(-1), before.argmax(-1))


@pytest.mark.slow
def test_unsure_english_is_seconded_by_the_calibrated_multilingual_model(tmp_path: Path) -> None:
    """The shipped default: where the calibrated English model's top probability is below the
    gate, the multilingual model's calibrated English is averaged in at the weight; elsewhere the
    English model scores alone. Named in the model id, so stored scores follow it."""
    from sentiment.routing import RoutedModel

    shared = REPO.parent / "shared" / "data" / "tweeteval" / "sentiment"
    texts = [r.text for r in read_tweeteval(shared, "val")[:80]]
    base = SentimentSettings(precision="onnx-int8", threads=1, onnx_cache=tmp_path)
    seconded = load_model(base)
    alone = load_model(base.model_copy(update={"second_opinion_weight": 0.0}))
    assert isinstance(seconded, RoutedModel) and isinstance(alone, RoutedModel)
    assert seconded.second_opinion is not None and alone.second_opinion is None
    raw = load_model(base.model_copy(update={"calibrate": False}))  # uncalibrated: no average
    assert isinstance(raw, RoutedModel) and raw.second_opinion is None and "+2nd" not in raw.model_id
    assert seconded.model_id == f"{alone.model_id}+2nd-w0.4-g0.6"
    english = alone.probabilities(texts, ["en"] * len(texts))
    other = seconded.second_opinion.model.get().probabilities(texts, ["en"] * len(texts))
    assert seconded.second_opinion.model.get().temperatures["en"] > 1.0  # calibrated, not raw
    unsure = english.max(axis=1) < 0.6
    assert 0 < unsure.sum() < len(texts)
    expected = np.where(unsure[:, None], 0.6 * english + 0.4 * other, english)
    assert np.allclose(seconded.probabilities(texts, ["en"] * len(texts)), expected, atol=1e-6)
    assert np.allclose(seconded.probabilities(texts), expected, atol=1e-6)  # no languages: English
