"""Texts to class probabilities in length-sorted batches, in numpy.

The scoring path's arithmetic without torch: importing torch alone costs a scoring process
about 220 MB, and an ONNX graph needs only numpy arrays. Torch networks (training, fp32, bf16)
run through the same batching with a ``logits`` function that converts at the edge
(``sentiment.network.torch_logits``), so there is one rule for how texts are batched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: ``[texts, classes]`` float32 probabilities, each row summing to 1.
Probabilities = NDArray[np.float32]

#: ``(input_ids, attention_mask) -> logits``: one padded batch through a network.
LogitsFn = Callable[[NDArray[np.int64], NDArray[np.int64]], NDArray[np.float32]]


def softmax(logits: NDArray[np.floating[Any]]) -> Probabilities:
    """Row-wise softmax, shifted by each row's maximum so large logits cannot overflow."""
    shifted = np.asarray(logits, dtype=np.float32)
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=-1, keepdims=True), dtype=np.float32)


def padded_batches(
    ids: Sequence[Sequence[int]], batch_size: int, pad: int
) -> Iterator[tuple[list[int], NDArray[np.int64], NDArray[np.int64]]]:
    """``(rows, input_ids, attention_mask)`` per batch of ``ids``, shortest texts first.

    ``rows`` are the batch's indices into ``ids``; each batch pads to its own longest text, so
    sorting by length leaves almost no padding. Every batched pass over texts (scoring,
    training features, cached lower layers) goes through here.
    """
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = len(ids[rows[-1]])
        input_ids = np.full((len(rows), width), pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, i in enumerate(rows):
            input_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
        yield rows, input_ids, mask


def batched_probabilities(
    logits: LogitsFn,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    batch_size: int,
    max_length: int,
    classes: int = 3,
) -> Probabilities:
    """Class probabilities for ``texts`` (in input order), computed in length-sorted batches.

    ``tokenizer`` is called like a transformers tokenizer (``sentiment.tokenizer.FileTokenizer``
    or ``AutoTokenizer``).
    """
    if not texts:
        return np.empty((0, classes), dtype=np.float32)
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, add_special_tokens=True)
    out: Probabilities | None = None
    for rows, input_ids, mask in padded_batches(encoded["input_ids"], batch_size, int(tokenizer.pad_token_id or 0)):
        probs = softmax(logits(input_ids, mask))
        if out is None:  # as many columns as the network has classes
            out = np.empty((len(texts), probs.shape[1]), dtype=np.float32)
        out[rows] = probs
    assert out is not None  # texts is not empty, so one batch ran
    return out
