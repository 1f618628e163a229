"""Top-layer training on cached lower-layer states: the recipe that fits a 2-core CPU.

The bottom encoder layers stay frozen, so their output for each training text never changes:
compute it once (``encode_lower``), then every epoch, fold and variant trains only the top
layers and the head on those cached states, about a third of the cost of a full step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from torch import nn

from sentiment.batching import padded_batches
from sentiment.network import MeanPoolClassifier


def _bidirectional_mask(config: Any, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor | None:
    """The attention mask the installed transformers' BERT layers expect for padded batches."""
    try:
        from transformers.masking_utils import create_bidirectional_mask
    except ImportError:  # transformers 4.x: additive [batch, 1, 1, seq] mask
        extended = mask[:, None, None, :].to(hidden.dtype)
        return (1.0 - extended) * torch.finfo(hidden.dtype).min
    result = create_bidirectional_mask(config=config, inputs_embeds=hidden, attention_mask=mask)
    return cast(torch.Tensor | None, result)


def encode_lower(
    model: MeanPoolClassifier,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    layers: int,
    max_length: int,
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
) -> list[torch.Tensor]:
    """States after the first ``layers`` encoder layers: one fp16 ``[tokens, hidden]`` per text."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    result: list[torch.Tensor] = [torch.empty(0)] * len(encoded)
    full_stack = model.bert.encoder.layer
    model.bert.encoder.layer = full_stack[:layers]
    try:
        with torch.inference_mode():
            for batch, ids, mask in padded_batches(encoded, batch_size, int(tokenizer.pad_token_id or 0)):
                hidden = model.bert(
                    input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
                ).last_hidden_state
                for row, i in enumerate(batch):
                    result[i] = hidden[row, : len(encoded[i])].to(torch.float16).clone()
                if on_batch is not None:
                    on_batch(len(batch))
    finally:
        model.bert.encoder.layer = full_stack
    return result


def upper_logits(model: MeanPoolClassifier, states: Sequence[torch.Tensor], *, first_layer: int) -> torch.Tensor:
    """Run layers ``first_layer..`` + mean pooling + head on a batch of cached states."""
    width = max(s.shape[0] for s in states)
    hidden = torch.zeros(len(states), width, states[0].shape[1])
    mask = torch.zeros(len(states), width, dtype=torch.long)
    for row, s in enumerate(states):
        hidden[row, : s.shape[0]] = s.float()
        mask[row, : s.shape[0]] = 1
    attention = _bidirectional_mask(model.config, hidden, mask)
    for layer in model.bert.encoder.layer[first_layer:]:
        out = layer(hidden, attention_mask=attention)
        hidden = out[0] if isinstance(out, tuple) else out
    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
    logits: torch.Tensor = model.classifier(model.dropout(pooled))
    return logits


def upper_probabilities(
    model: MeanPoolClassifier,
    states: Sequence[torch.Tensor],
    *,
    first_layer: int,
    batch_size: int = 128,
) -> torch.Tensor:
    """Class probabilities for cached states (length-sorted batches, input order kept)."""
    order = sorted(range(len(states)), key=lambda i: states[i].shape[0])
    out = torch.empty(len(states), int(model.config.num_labels or 3))
    model.eval()  # type: ignore[no-untyped-call]
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            logits = upper_logits(model, [states[i] for i in batch], first_layer=first_layer)
            out[batch] = torch.softmax(logits.float(), -1)
    return out


def freeze_all_but_top(model: nn.Module, first_layer: int, n_layers: int) -> set[str]:
    """Train layers ``first_layer..n_layers-1`` and the head; everything else frozen."""
    prefixes = tuple(f"bert.encoder.layer.{i}." for i in range(first_layer, n_layers))
    names: set[str] = set()
    for name, param in model.named_parameters():
        train = name.startswith("classifier.") or name.startswith(prefixes)
        param.requires_grad_(train)
        if train:
            names.add(name)
    return names
