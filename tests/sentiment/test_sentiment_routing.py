"""Language routing: English to the English model, de/fr/es/it/pt to the multilingual one, the rest
unsupported; the multilingual model loads only when a text needs it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest
import torch
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import Post, Score
from db.types import utcnow
from sentiment.corrections import in_languages
from sentiment.data import LabelledText
from sentiment.evaluate import evaluate
from sentiment.labels import LABELS
from sentiment.model import SentimentModel
from sentiment.routing import LazyModel, RoutedModel, SecondOpinion
from sentiment.score import score_pending
from sentiment.settings import SentimentSettings


class FixedModel(SentimentModel):
    """Says one label for every text and records what it was given."""

    def __init__(self, model_id: str, label: str, languages: Sequence[str]) -> None:
        super().__init__(
            model_id=model_id,
            network=torch.nn.Identity(),
            tokenizer=None,
            columns=dict(enumerate(LABELS)),
            settings=SentimentSettings(),
            precision="fp32",
            spell_emoji=False,
            languages=languages,
        )
        self.label = label
        self.seen: list[str] = []

    def probabilities(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        self.seen += list(texts)
        out = np.zeros((len(texts), 3), dtype=np.float32)
        out[:, LABELS.index(self.label)] = 1.0
        return out


def _routed() -> tuple[RoutedModel, FixedModel, FixedModel, list[int]]:
    english = FixedModel("en@1", "positive", ["en"])
    multi = FixedModel("multi@2", "negative", ["de", "fr", "es", "it", "pt"])
    loads: list[int] = []

    def load() -> SentimentModel:
        loads.append(1)
        return multi

    return (
        RoutedModel(english, [LazyModel(model_id=multi.model_id, languages=multi.languages, load=load)]),
        english,
        multi,
        loads,
    )


def test_each_language_goes_to_the_model_covering_it() -> None:
    routed, english, multi, loads = _routed()
    assert routed.model_id == "en@1+multi@2"
    assert [routed.covers(lang) for lang in ("en", "de", "PT", "ar", "hi")] == [True, True, True, False, False]
    assert routed.model_for("ar") is None and routed.model_for("en") is english
    assert not loads, "the multilingual model is not loaded until a text needs it"
    labels = [p.label for p in routed.predict(["hello", "hallo", "bonjour", "hey"], ["en", "de", "fr", "en"])]
    assert labels == ["positive", "negative", "negative", "positive"]
    assert english.seen == ["hello", "hey"] and multi.seen == ["hallo", "bonjour"]
    assert len(loads) == 1
    assert [p.label for p in routed.predict(["no languages given"])] == ["positive"]


def test_score_step_routes_and_marks_uncovered_languages(sqlite_engine: Engine) -> None:
    routed, english, _multi, _ = _routed()
    posts = [
        ("The flight was delayed again and nobody at the gate told us anything", None),
        ("Der Flug hatte wieder drei Stunden Verspätung und niemand hat uns informiert", None),
        ("short one", "de"),
        ("Le vol a encore été annulé", "fr"),
        ("رحلتي تأخرت ثلاث ساعات ولم يخبرنا أحد بأي شيء على الإطلاق", None),
    ]
    with session_scope(sqlite_engine) as session:
        for i, (text, lang) in enumerate(posts):
            session.add(
                Post(
                    platform="x",
                    external_id=f"r{i}",
                    source="t",
                    text=text,
                    lang=lang,
                    created_at=utcnow() - timedelta(minutes=i),
                )
            )
    counts = score_pending(sqlite_engine, routed)
    assert counts["scored"] == 5
    with session_scope(sqlite_engine) as session:
        labels = {s.post_id: (s.label, s.model_id) for s in session.exec(select(Score)).scalars()}  # type: ignore[call-overload]
    assert [labels[i][0] for i in sorted(labels)] == [
        "positive",
        "negative",
        "negative",
        "negative",
        "unsupported_language",
    ]
    assert {model_id for _, model_id in labels.values()} == {"en@1+multi@2"}
    assert english.seen == [posts[0][0]]


def test_corrections_train_the_model_of_their_language() -> None:
    rows = [
        LabelledText("a", "negative", "en"),
        LabelledText("b", "negative", "de"),
        LabelledText("c", "positive", "ar"),
    ]
    assert [r.text for r in in_languages(rows, ["de", "fr"])] == ["b"]
    assert [r.text for r in in_languages(rows, ["en"])] == ["a"]


class TableModel(FixedModel):
    """Gives each text the probabilities its table says (negative, neutral, positive)."""

    def __init__(self, model_id: str, table: dict[str, list[float]], languages: Sequence[str]) -> None:
        super().__init__(model_id, "neutral", languages)
        self.table = table
        self.asked: list[tuple[str, str]] = []

    def probabilities(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        self.asked += list(zip(texts, languages or ["?"] * len(texts), strict=True))
        return np.asarray([self.table[t] for t in texts], dtype=np.float32)


SURE, UNSURE = "@united lost my bag, never again", "@united ok I guess, we landed"
ENGLISH = {SURE: [0.90, 0.06, 0.04], UNSURE: [0.45, 0.40, 0.15]}
SECOND = {SURE: [0.20, 0.20, 0.60], UNSURE: [0.10, 0.70, 0.20], "Der Flug war spät": [0.8, 0.1, 0.1]}


def _seconded(weight: float = 0.4, gate: float = 0.6) -> tuple[RoutedModel, TableModel, TableModel]:
    english = TableModel("en@1", ENGLISH, ["en"])
    multi = TableModel("multi@2", SECOND, ["de", "fr", "es", "it", "pt"])
    lazy = LazyModel(model_id=multi.model_id, languages=multi.languages, load=lambda: multi)
    opinion = SecondOpinion(lazy, ("en",), weight=weight, gate=gate)
    return RoutedModel(english, [lazy], second_opinion=opinion), english, multi


def test_an_unsure_english_text_gets_the_second_opinion_and_a_sure_one_does_not() -> None:
    routed, english, multi = _seconded()
    texts = [SURE, UNSURE, "Der Flug war spät"]
    out = routed.probabilities(texts, ["en", "en", "de"])
    assert np.allclose(out[0], ENGLISH[SURE])  # 0.90 sure: the English model alone
    assert np.allclose(out[1], 0.6 * np.array(ENGLISH[UNSURE]) + 0.4 * np.array(SECOND[UNSURE]))
    assert np.allclose(out[2], SECOND["Der Flug war spät"])  # German: the multilingual model, unblended
    # the slower model is asked only for the unsure English text (in English) and the German one
    assert english.asked == [(SURE, "en"), (UNSURE, "en")]
    assert multi.asked == [("Der Flug war spät", "de"), (UNSURE, "en")]
    assert routed.predict([UNSURE], ["en"])[0].label == "neutral"  # 0.31 negative, 0.52 neutral
    # a text scores the same alone as in a batch, and without languages it counts as English
    assert np.allclose(routed.probabilities([UNSURE], ["en"])[0], out[1])
    assert np.allclose(routed.probabilities([SURE, UNSURE]), out[:2])


def test_the_second_opinion_is_named_in_the_id_of_every_score_it_shapes(sqlite_engine: Engine) -> None:
    routed, _, _ = _seconded()
    assert routed.model_id == "en@1+multi@2+2nd-w0.4-g0.6"
    assert _seconded(weight=0.3)[0].model_id != routed.model_id != _seconded(gate=0.7)[0].model_id
    assert routed.scorer_id("en") == routed.scorer_id(None) == "en@1+multi@2+2nd-w0.4-g0.6"
    assert routed.scorer_id("de") == "multi@2"
    # eval reports what scored the language
    rows = [LabelledText(UNSURE, "neutral"), LabelledText(SURE, "negative")]
    report = evaluate(routed, rows, language="en")
    assert report["model_id"] == routed.scorer_id("en") and report["macro_recall"] > 0
    assert "too high" in report["note"]  # the multilingual model trained on TweetEval's tweets
    german = evaluate(routed, [LabelledText("Der Flug war spät", "negative")], language="de")
    assert german["model_id"] == "multi@2" and "note" not in german
    # the score step stores the blended probabilities under the blended id
    with session_scope(sqlite_engine) as session:
        session.add(Post(platform="x", external_id="u1", source="t", text=UNSURE, lang="en", created_at=utcnow()))
    assert score_pending(sqlite_engine, routed)["scored"] == 1
    with session_scope(sqlite_engine) as session:
        score = session.exec(select(Score)).scalars().one()  # type: ignore[call-overload]
    assert score.model_id == routed.model_id
    assert score.p_negative == pytest.approx(0.6 * 0.45 + 0.4 * 0.10, abs=1e-6) and score.label == "neutral"
