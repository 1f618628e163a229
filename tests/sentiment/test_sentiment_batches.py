"""Training batches: seeded, every example once per epoch, length-bucketed when asked; loss weights."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import torch

from sentiment.data import read_airline_tweets, read_tweeteval
from sentiment.labels import LABELS
from sentiment.train import Example, TrainConfig, batch_order, example_weights, expand


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


def _totals(pool: list[int], weights: dict[int, float], key: Callable[[int], object]) -> dict[object, float]:
    totals: dict[object, float] = defaultdict(float)
    for i in pool:
        totals[key(i)] += weights[i]
    return dict(totals)


def test_class_balance_within_each_source_on_the_real_training_labels(shared: Path) -> None:
    general = read_tweeteval(shared / "data/tweet-sentiment-train", "train")[:10_000]
    airline = read_airline_tweets(shared / "data/airline-tweets/tweets.csv")
    examples = [Example(r.text, r.label, "general") for r in general]
    examples += [Example(r.text, r.label, "airline") for r in airline]
    labels = [LABELS.index(ex.label) for ex in examples]
    sources = [ex.source for ex in examples]
    pool = expand(examples, TrainConfig(repeats={"general": 1, "airline": 2}))

    by_source = example_weights(pool, labels, sources)
    per_class = _totals(pool, by_source, lambda i: (sources[i], labels[i]))
    for source, size in (("general", len(general)), ("airline", 2 * len(airline))):
        shares = [per_class[(source, c)] for c in range(len(LABELS))]
        assert max(shares) - min(shares) < 1e-6 * size  # each class weighs the same in its source
        assert abs(sum(shares) - size) < 1e-6 * size  # and the source keeps its share of the pool
    negative = LABELS.index("negative")
    general_negative = next(i for i in pool if sources[i] == "general" and labels[i] == negative)
    airline_negative = next(i for i in pool if sources[i] == "airline" and labels[i] == negative)
    # Airline complaints are 63% of their source, general negatives about 15% of theirs.
    assert by_source[general_negative] > 3 * by_source[airline_negative]

    pooled = example_weights(pool, labels, None)
    totals = _totals(pool, pooled, lambda i: labels[i])
    assert max(totals.values()) - min(totals.values()) < 1e-6 * len(pool)
    assert pooled[general_negative] == pooled[airline_negative]
