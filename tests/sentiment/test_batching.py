"""Length-sorted, per-batch padding: every text once, in input order after scoring."""

from __future__ import annotations

import numpy as np

from sentiment.batching import batched_probabilities, padded_batches, softmax


def test_padded_batches_sort_by_length_and_pad_each_batch_to_its_longest() -> None:
    ids = [[5, 6, 7, 8], [1], [2, 3], [4, 4, 4], [9, 9]]
    batches = list(padded_batches(ids, 2, pad=0))
    assert [rows for rows, _, _ in batches] == [[1, 2], [4, 3], [0]]
    _, input_ids, mask = batches[1]
    assert input_ids.tolist() == [[9, 9, 0], [4, 4, 4]] and mask.tolist() == [[1, 1, 0], [1, 1, 1]]
    assert input_ids.dtype == np.int64 and mask.dtype == np.int64


class _Tokenizer:
    """Each word one id (its length), as a transformers tokenizer answers."""

    pad_token_id = 0

    def __call__(self, texts: list[str], **_: object) -> dict[str, list[list[int]]]:
        return {"input_ids": [[len(word) for word in text.split()] for text in texts]}


def test_probabilities_come_back_in_input_order_whatever_the_batches() -> None:
    def logits(input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        words = mask.sum(axis=1).astype(np.float32)  # a "network" that counts the words
        return np.stack([words, np.zeros_like(words), -words], axis=1)

    texts = ["a b c d", "a", "a b", "a b c"]
    expected = softmax(np.array([[n, 0, -n] for n in (4, 1, 2, 3)], dtype=np.float32))
    for batch_size in (1, 2, 3, 10):
        probs = batched_probabilities(logits, _Tokenizer(), texts, batch_size=batch_size, max_length=8)
        assert np.allclose(probs, expected)
    assert batched_probabilities(logits, _Tokenizer(), [], batch_size=2, max_length=8).shape == (0, 3)
    assert np.allclose(softmax(np.array([[1000.0, 0.0, 0.0]])), [[1.0, 0.0, 0.0]])
