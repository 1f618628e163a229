"""Language routing: English to the English model, de/fr/es/it/pt to the multilingual one, the rest
unsupported; the multilingual model loads only when a text needs it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import torch
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import Post, Score
from db.types import utcnow
from sentiment.corrections import in_languages
from sentiment.data import LabelledText
from sentiment.labels import LABELS
from sentiment.model import SentimentModel
from sentiment.routing import LazyModel, RoutedModel
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
