"""A stand-in for ``SentimentModel`` in the score-step tests: instant, and it says what it scored."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from sentiment.model import Prediction
from sentiment.settings import SentimentSettings


class CheapModel:
    """Negative if the text says 'bad', else positive; every text it was given is kept in ``seen``.

    ``on_predict(call_number)`` runs before each batch is labelled, inside the transaction that
    claimed the chunk: a test uses it to hold a chunk, stop on cue or fail as a killed scorer would.
    """

    model_id = "cheap@test"

    def __init__(self, on_predict: Callable[[int], None] | None = None) -> None:
        self.settings = SentimentSettings(languages=["*"])
        self.seen: list[str] = []
        self.calls = 0
        self.on_predict = on_predict
        self._lock = threading.Lock()

    def covers(self, lang: str) -> bool:
        return True

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        with self._lock:
            self.calls += 1
            call = self.calls
        if self.on_predict is not None:
            self.on_predict(call)
        self.seen.extend(texts)
        return [
            Prediction("negative", 0.9, 0.05, 0.05) if "bad" in text else Prediction("positive", 0.05, 0.05, 0.9)
            for text in texts
        ]
