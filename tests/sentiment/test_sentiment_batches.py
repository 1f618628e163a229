"""Training batches: seeded, every example once per epoch, and length-bucketed when asked."""

from __future__ import annotations

import random

import torch

from sentiment.train import batch_order


def _pool_and_lengths(n: int) -> tuple[list[int], list[int]]:
    rng = random.Random(3)
    lengths = [rng.randint(5, 90) for _ in range(n)]
    pool = [i for i in range(n) for _ in range(1 + i % 2)]  # some examples repeated, as airline x2
    return pool, lengths


def test_every_pool_entry_appears_once_per_epoch_and_the_order_is_seeded() -> None:
    pool, lengths = _pool_and_lengths(5000)
    first = batch_order(pool, 32, torch.Generator().manual_seed(13), lengths)
    again = batch_order(pool, 32, torch.Generator().manual_seed(13), lengths)
    other = batch_order(pool, 32, torch.Generator().manual_seed(14), lengths)
    assert first == again and first != other
    assert sorted(i for batch in first for i in batch) == sorted(pool)
    assert all(1 <= len(batch) <= 32 for batch in first)


def test_length_buckets_cut_padding_without_sorting_the_whole_epoch() -> None:
    pool, lengths = _pool_and_lengths(5000)

    def padded_tokens(batches: list[list[int]]) -> int:
        return sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)

    plain = batch_order(pool, 32, torch.Generator().manual_seed(13))
    bucketed = batch_order(pool, 32, torch.Generator().manual_seed(13), lengths)
    assert padded_tokens(bucketed) < 0.7 * padded_tokens(plain)
    # batches are shuffled after bucketing: the epoch does not run short-to-long
    widths = [max(lengths[i] for i in batch) for batch in bucketed]
    assert widths != sorted(widths)
    assert any(widths[k] > widths[k + 1] for k in range(len(widths) - 1))


def test_without_lengths_batches_are_plain_seeded_shuffles() -> None:
    pool = list(range(100))
    batches = batch_order(pool, 10, torch.Generator().manual_seed(5))
    expected = torch.randperm(100, generator=torch.Generator().manual_seed(5)).tolist()
    assert [i for batch in batches for i in batch] == expected
