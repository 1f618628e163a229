"""Score each language with the model that covers it: English with the English model, the rest
with the multilingual one.

Measured on held-out data (the model card): the English model scores English general tweets at
0.73 macro recall and unseen airlines at 0.80, above what the multilingual model reaches on
English, so English stays with it; German, French, Spanish, Italian and Portuguese go to the
multilingual model. A language no model covers stays ``unsupported_language``.

English gets a second opinion where the English model is unsure (``SecondOpinion``): the
multilingual model's calibrated English, averaged in. Chosen on held-out data (the English card):
at weight 0.4 below a top probability of 0.6 (28% of general tweets) it lifted held-out general
tweets from 0.728 to 0.740 and unseen airlines from 0.801 to 0.805, where averaging every text
alike lost on the airlines. Each row's blend depends on that row alone, so a post scores the
same in any batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sentiment.batching import Probabilities
from sentiment.labels import LABELS
from sentiment.model import SentimentModel


class LazyModel:
    """A model known by id and languages, loaded on first use.

    The multilingual model costs a conversion and an int8 graph build the first time and
    ~0.5 GB of memory: a deployment that only ever sees English posts never pays for it, and
    its id is known without loading it (the score step needs the id up front).
    """

    def __init__(self, *, model_id: str, languages: Sequence[str], load: Callable[[], SentimentModel]) -> None:
        self.model_id = model_id
        self.languages = tuple(lang.lower() for lang in languages)
        self._load = load
        self._model: SentimentModel | None = None
        self._lock = threading.Lock()

    def get(self) -> SentimentModel:
        """The loaded model (loaded now if this is the first call; thread-safe)."""
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None


def unsure_rows(first: Probabilities, gate: float) -> np.ndarray:
    """Which rows the first model is less than ``gate`` sure of (its top probability): the rows
    a second opinion is asked for."""
    return np.asarray(first.max(axis=1) < gate)


@dataclass(frozen=True)
class SecondOpinion:
    """A second model's calibrated probabilities, averaged in where the first model is unsure.

    Both models' probabilities must be calibrated (temperatures fitted on the same held-out
    tweets), or the average weighs an over-confident model more than ``weight`` says.
    """

    model: LazyModel
    languages: tuple[str, ...]
    weight: float
    gate: float

    @property
    def tag(self) -> str:
        """Part of the model id: another weight or gate is another score."""
        return f"2nd-w{self.weight:g}-g{self.gate:g}"

    def blend(self, first: Probabilities, texts: Sequence[str], languages: Sequence[str]) -> Probabilities:
        """``first`` with the rows whose top probability is below ``gate`` averaged with the
        second model's (asked for those rows only: it is the slower model)."""
        unsure = np.flatnonzero(unsure_rows(first, self.gate)).tolist()
        if not unsure:
            return first
        other = self.model.get().probabilities([texts[i] for i in unsure], [languages[i] for i in unsure])
        out = first.copy()
        out[unsure] = (1.0 - self.weight) * first[unsure] + self.weight * other
        return out


class RoutedModel(SentimentModel):
    """A ``SentimentModel`` that hands each text to the model covering its language.

    It *is* the primary (English) model for callers that give no languages, so code written for
    one model keeps working; its ``model_id`` names every model, so retraining any of them
    re-scores the posts.
    """

    def __init__(
        self, primary: SentimentModel, others: Sequence[LazyModel], second_opinion: SecondOpinion | None = None
    ) -> None:
        routes: dict[str, LazyModel] = {}
        for model in others:
            for lang in model.languages:
                if not primary.covers(lang):
                    routes.setdefault(lang, model)
        used = [m for m in others if m in routes.values() or (second_opinion and m is second_opinion.model)]
        tag = [second_opinion.tag] if second_opinion else []
        super().__init__(
            model_id="+".join([primary.model_id, *(m.model_id for m in used), *tag]),
            network=primary.network,
            tokenizer=primary.tokenizer,
            columns=primary.columns,
            settings=primary.settings,
            precision=primary.precision,
            spell_emoji=primary.spell_emoji,
            languages=(*primary.languages, *routes),
            max_length=primary.max_length,
        )
        self.primary = primary
        self.routes = routes
        self.second_opinion = second_opinion

    def model_for(self, lang: str) -> SentimentModel | None:
        """The primary model if it covers ``lang``, else the routed one (loaded now), else None."""
        if self.primary.covers(lang):
            return self.primary
        routed = self.routes.get(lang.lower())
        return None if routed is None else routed.get()

    def scorer_id(self, lang: str | None) -> str:
        """The id of what scores ``lang`` (None: the primary's language): the primary model, with
        its second opinion where it has one, or the routed model."""
        lang = (lang or self._primary_language).lower()
        opinion = self.second_opinion
        if opinion is not None and lang in opinion.languages:
            return "+".join([self.primary.model_id, opinion.model.model_id, opinion.tag])
        routed = None if self.primary.covers(lang) else self.routes.get(lang)
        return self.primary.model_id if routed is None else routed.model_id

    @property
    def _primary_language(self) -> str:
        return self.primary.languages[0] if self.primary.languages else "*"

    def probabilities(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> Probabilities:
        """Each text scored by its language's model (texts without languages count as the
        primary's language, as short posts count as English), with the second opinion where
        the primary is unsure.

        A text whose language no model covers gets the primary model's output; the score step
        never sends such texts (it marks them ``unsupported_language``).
        """
        if languages is None:
            languages = [self._primary_language] * len(texts)
        if len(languages) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        groups: dict[int, tuple[SentimentModel, list[int]]] = {}
        for i, lang in enumerate(languages):
            model = self.model_for(lang) or self.primary
            groups.setdefault(id(model), (model, []))[1].append(i)
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        for model, indices in groups.values():
            out[indices] = model.probabilities([texts[i] for i in indices], [languages[i] for i in indices])
        opinion = self.second_opinion
        if opinion is not None:
            rows = [i for i, lang in enumerate(languages) if lang.lower() in opinion.languages]
            if rows:
                out[rows] = opinion.blend(out[rows], [texts[i] for i in rows], [languages[i] for i in rows])
        return out
