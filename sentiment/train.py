"""The training recipe of the default model: seeded fine-tuning of all-MiniLM-L6-v2 + a head.

Used by ``engagebot sentiment train`` (CPU or GPU) and by the model-selection sweep
(``research/selection.py``), so the committed default is exactly what this recipe makes.
Examples come in already normalised (``sentiment.text``); this module knows no files or DB.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer

from sentiment.batching import padded_batches
from sentiment.labels import LABELS
from sentiment.network import MeanPoolClassifier, add_lora, build_classifier
from sentiment.upper import encode_lower, freeze_all_but_top, upper_logits

log = logging.getLogger(__name__)

VARIANTS = ("full", "lora", "top", "head")


@dataclass(frozen=True)
class Example:
    """A labelled training text and its source (``general``, ``airline``, ``corrections``)."""

    text: str
    label: str
    source: str


@dataclass
class TrainConfig:
    """Every knob of the recipe; the model card records it."""

    variant: str = "lora"
    lora_rank: int = 16
    lora_alpha: float = 32.0
    top_layers: int = 2
    train_layer_norms: bool = True
    # The word-embedding matrix is half of MiniLM's weights; frozen, a full fine-tune's delta
    # (what is committed) halves too.
    freeze_word_embeddings: bool = False
    epochs: float = 2.0
    lr: float = 5e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    batch_size: int = 32
    max_length: int = 96
    class_balance: bool = False
    # Balance classes within each source rather than over the whole pool: the airline tweets'
    # many complaints would otherwise outweigh the general tweets' few negatives, and the model
    # would learn "negative" as "complaint to an airline".
    balance_by_source: bool = False
    general_sample: int | None = None
    pool_layers: list[int] | None = None
    repeats: dict[str, int] = field(default_factory=lambda: {"general": 1, "airline": 1, "corrections": 3})
    seed: int = 13
    device: str = "cpu"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def _trainable(model: MeanPoolClassifier, config: TrainConfig) -> set[str]:
    """Freeze the model, then unfreeze what the variant trains; return those parameter names."""
    if config.variant not in VARIANTS:
        raise ValueError(f"unknown variant {config.variant!r} (one of {', '.join(VARIANTS)})")
    if config.variant == "lora":
        add_lora(model, rank=config.lora_rank, alpha=config.lora_alpha)
    n_layers = len(model.bert.encoder.layer)
    top = {f"bert.encoder.layer.{i}." for i in range(n_layers - config.top_layers, n_layers)}
    names: set[str] = set()
    for name, param in model.named_parameters():
        train = name.startswith("classifier.")
        if config.variant == "full":
            train = not (config.freeze_word_embeddings and name.startswith("bert.embeddings.word_embeddings."))
        elif config.variant == "top":
            train = train or any(name.startswith(p) for p in top)
        elif config.variant == "lora":
            train = train or ".lora_" in name or (config.train_layer_norms and "LayerNorm" in name)
        param.requires_grad_(train)
        if train:
            names.add(name)
    return names


def _schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def expand(examples: Sequence[Example], config: TrainConfig) -> list[int]:
    """Indices of the training pool: each example repeated by its source's factor."""
    pool: list[int] = []
    for i, ex in enumerate(examples):
        pool.extend([i] * max(0, config.repeats.get(ex.source, 1)))
    return pool


def batch_order(
    pool: list[int], batch_size: int, generator: torch.Generator, lengths: Sequence[int] | None = None
) -> list[list[int]]:
    """One epoch's batches of ``pool`` entries, seeded.

    With ``lengths`` (tokens per example) the shuffled pool is cut into windows of 50 batches,
    each window sorted by length before it is split, and the batches shuffled again: batches
    stay random in content but hold texts of similar length, so a CPU pads (and computes) about
    half as many tokens as with purely random batches.
    """
    order = [pool[k] for k in torch.randperm(len(pool), generator=generator).tolist()]
    if lengths is None:
        return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    window = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[s : s + batch_size] for s in range(0, len(chunk), batch_size)]
    return [batches[k] for k in torch.randperm(len(batches), generator=generator).tolist()]


def example_weights(pool: Sequence[int], label_ids: Sequence[int], sources: Sequence[str] | None) -> dict[int, float]:
    """Class-balancing loss weight of each example in ``pool`` (repeats counted).

    Each class gets the same total weight, within each source when ``sources`` is given (each
    source keeping its share of the pool): weight = source size / (classes in it x class count).
    """

    def key(i: int) -> tuple[str, int]:
        return (sources[i] if sources is not None else "", label_ids[i])

    counts = Counter(key(i) for i in pool)
    source_sizes = Counter(key(i)[0] for i in pool)
    classes = Counter(source for source, _ in counts)
    return {i: source_sizes[key(i)[0]] / (classes[key(i)[0]] * counts[key(i)]) for i in set(pool)}


def _fit(
    model: MeanPoolClassifier,
    pool: list[int],
    label_ids: list[int],
    forward: Callable[[list[int]], torch.Tensor],
    config: TrainConfig,
    on_step: Callable[[int, int, float], None] | None,
    lengths: Sequence[int] | None,
    sources: Sequence[str],
    on_epoch: Callable[[int], None] | None = None,
) -> None:
    """The shared loop: seeded shuffles, AdamW, linear warm-up and decay, clipped gradients.

    ``on_epoch(epoch)`` runs after each full pass (the model in eval mode meanwhile): the
    research sweep measures validation there, so one run shows every epoch's figures.
    """
    device = torch.device(config.device)
    weights = None
    if config.class_balance:
        weights = example_weights(pool, label_ids, sources if config.balance_by_source else None)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {
            "params": [p for n, p in named if n.startswith("classifier.")],
            "lr": config.head_lr,
            "weight_decay": 0.0,
        },
        {
            "params": [p for n, p in named if not n.startswith("classifier.") and p.ndim > 1],
            "lr": config.lr,
            "weight_decay": config.weight_decay,
        },
        {
            "params": [p for n, p in named if not n.startswith("classifier.") and p.ndim <= 1],
            "lr": config.lr,
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]])
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    total = max(1, round(math.ceil(len(pool) / config.batch_size) * config.epochs))
    warmup = round(total * config.warmup)
    generator = torch.Generator().manual_seed(config.seed)
    params = [p for _, p in named]
    model.train()
    step = epoch = 0
    while step < total:
        for batch in batch_order(pool, config.batch_size, generator, lengths):
            if step >= total:
                break
            labels = torch.tensor([label_ids[i] for i in batch], device=device)
            weight = None if weights is None else torch.tensor([weights[i] for i in batch], device=device)
            for group, base_lr in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base_lr * _schedule(step, total, warmup)
            logits = forward(batch)
            losses = torch.nn.functional.cross_entropy(logits.float(), labels, reduction="none")
            loss = losses.mean() if weight is None else (losses * weight).sum() / weight.sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            step += 1
            if on_step is not None:
                on_step(step, total, float(loss.detach()))
        epoch += 1
        if on_epoch is not None:
            model.eval()  # type: ignore[no-untyped-call]
            on_epoch(epoch)
            model.train()
    model.eval()  # type: ignore[no-untyped-call]


def train_classifier(
    examples: Sequence[Example],
    base_dir: Path,
    config: TrainConfig,
    *,
    on_step: Callable[[int, int, float], None] | None = None,
    on_epoch: Callable[[int, MeanPoolClassifier], None] | None = None,
) -> tuple[MeanPoolClassifier, set[str]]:
    """Fine-tune the base encoder + head on tokenised ``examples`` (any variant; GPU-sized work).

    Seeded (Python and torch RNGs, shuffle order, head initialisation); on CUDA it trains under
    bf16 autocast, on CPU in fp32. ``on_step(step, total, loss)`` drives a progress bar;
    ``on_epoch(epoch, model)`` sees the model after each pass (validation, checkpoints).
    """
    if not examples:
        raise ValueError("no training examples")
    seed_everything(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    model = build_classifier(base_dir, seed=config.seed, pool_layers=config.pool_layers)
    trained = _trainable(model, config)
    device = torch.device(config.device)
    model.to(device)  # type: ignore[arg-type]
    label_ids = [LABELS.index(ex.label) for ex in examples]
    encoded = tokenizer([ex.text for ex in examples], truncation=True, max_length=config.max_length)["input_ids"]
    pad = int(tokenizer.pad_token_id or 0)

    def forward(batch: list[int]) -> torch.Tensor:
        width = max(len(encoded[i]) for i in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            input_ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
            mask[row, : len(encoded[i])] = 1
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits: torch.Tensor = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
        return logits

    lengths = [len(ids) for ids in encoded]
    sources = [ex.source for ex in examples]
    epoch_hook = None if on_epoch is None else (lambda epoch: on_epoch(epoch, model))
    _fit(model, expand(examples, config), label_ids, forward, config, on_step, lengths, sources, epoch_hook)
    return model, trained


def train_top_cached(
    model: MeanPoolClassifier,
    states: Sequence[torch.Tensor],
    label_ids: list[int],
    pool: list[int],
    config: TrainConfig,
    *,
    sources: Sequence[str],
    on_step: Callable[[int, int, float], None] | None = None,
) -> set[str]:
    """Train the top ``config.top_layers`` layers + head of ``model`` on cached lower states."""
    seed_everything(config.seed)
    n_layers = len(model.bert.encoder.layer)
    first = n_layers - config.top_layers
    trained = freeze_all_but_top(model, first, n_layers)

    def forward(batch: list[int]) -> torch.Tensor:
        return upper_logits(model, [states[i] for i in batch], first_layer=first)

    _fit(model, pool, label_ids, forward, config, on_step, [s.shape[0] for s in states], sources)
    return trained


def train_top(
    examples: Sequence[Example],
    base_dir: Path,
    config: TrainConfig,
    *,
    on_encode: Callable[[int], None] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> tuple[MeanPoolClassifier, set[str]]:
    """The default's CPU recipe: cache the frozen bottom layers' states, train top + head."""
    if not examples:
        raise ValueError("no training examples")
    seed_everything(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    model = build_classifier(base_dir, seed=config.seed)
    n_layers = len(model.bert.encoder.layer)
    states = encode_lower(
        model,
        tokenizer,
        [ex.text for ex in examples],
        layers=n_layers - config.top_layers,
        max_length=config.max_length,
        on_batch=on_encode,
    )
    label_ids = [LABELS.index(ex.label) for ex in examples]
    sources = [ex.source for ex in examples]
    trained = train_top_cached(
        model, states, label_ids, expand(examples, config), config, on_step=on_step, sources=sources
    )
    return model, trained


def pooled_features(
    model: MeanPoolClassifier,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int,
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """The frozen encoder's pooled features (the head's input) for each text, in input order."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    features = torch.empty(len(encoded), model.classifier.in_features)
    model.eval()  # type: ignore[no-untyped-call]
    with torch.inference_mode():
        for batch, ids, mask in padded_batches(encoded, batch_size, int(tokenizer.pad_token_id or 0)):
            features[batch] = model.pooled(torch.from_numpy(ids), torch.from_numpy(mask))
            if on_batch is not None:
                on_batch(len(batch))
    return features


def fit_head(
    model: MeanPoolClassifier,
    features: torch.Tensor,
    label_ids: list[int],
    pool: list[int],
    config: TrainConfig,
    *,
    sources: Sequence[str],
    on_step: Callable[[int, int, float], None] | None = None,
) -> set[str]:
    """Train only the head on precomputed pooled features (dropout on the features).

    Features are standardised with the training set's mean and spread while fitting (layers
    differ in scale), and the standardisation is folded into the head afterwards, so the
    model needs no extra step at inference.
    """
    seed_everything(config.seed)
    names: set[str] = set()
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith("classifier."))
        if param.requires_grad:
            names.add(name)
    used = features[sorted(set(pool))]
    mean, spread = used.mean(0), used.std(0).clamp(min=1e-6)
    scaled = (features - mean) / spread

    def forward(batch: list[int]) -> torch.Tensor:
        logits: torch.Tensor = model.classifier(model.dropout(scaled[batch]))
        return logits

    _fit(model, pool, label_ids, forward, config, on_step, None, sources)
    with torch.no_grad():
        weight = model.classifier.weight / spread
        model.classifier.bias.sub_(weight @ mean)
        model.classifier.weight.copy_(weight)
    return names


def train_head(
    examples: Sequence[Example],
    base_dir: Path,
    config: TrainConfig,
    *,
    on_encode: Callable[[int], None] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> tuple[MeanPoolClassifier, set[str]]:
    """The cheapest variant (head only): one frozen forward pass for the features, then a head fit."""
    if not examples:
        raise ValueError("no training examples")
    seed_everything(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    model = build_classifier(base_dir, seed=config.seed, pool_layers=config.pool_layers)
    features = pooled_features(
        model, tokenizer, [ex.text for ex in examples], max_length=config.max_length, on_batch=on_encode
    )
    label_ids = [LABELS.index(ex.label) for ex in examples]
    sources = [ex.source for ex in examples]
    trained = fit_head(model, features, label_ids, expand(examples, config), config, on_step=on_step, sources=sources)
    return model, trained
