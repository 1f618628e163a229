"""A cheap scoring step for the worker tests: the real ``score_pending`` with an instant model.

Workers load it by name (``ops_score:score``). ``SCORE_STALL=1`` makes the model hang on its
first chunk, holding the chunk's claim, so a test can ``kill -9`` the worker mid-chunk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from engagebot.config import Settings
from sentiment.model import Prediction
from sentiment.score import score_pending
from sentiment.settings import SentimentSettings

MODEL_ID = "cheap@ops"
STALL_ENV = "SCORE_STALL"
CHUNK_ENV = "SCORE_CHUNK"


class StallingModel:
    """Labels instantly; with ``stall`` it hangs inside its first chunk instead."""

    model_id = MODEL_ID

    def __init__(self, stall: bool) -> None:
        self.settings = SentimentSettings(languages=["*"])
        self.stall = stall

    def covers(self, lang: str) -> bool:
        return True

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if self.stall:
            print(f"stalling mid-chunk holding {len(texts)} posts", flush=True)
            while True:
                time.sleep(1)
        return [Prediction("neutral", 0.1, 0.8, 0.1) for _ in texts]


def score(settings: Settings, engine: Engine) -> dict[str, Any]:
    model = StallingModel(stall=os.environ.get(STALL_ENV) == "1")
    return score_pending(engine, model, chunk_size=int(os.environ.get(CHUNK_ENV, "10")))  # type: ignore[arg-type]
