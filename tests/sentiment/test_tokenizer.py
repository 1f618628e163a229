"""The shipped models' tokenizer, read from ``tokenizer.json`` without transformers, gives
transformers' ids on real tweets of every language (so dropping ``AutoTokenizer`` from the
scoring path changes no score)."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from sentiment.data import read_airline_tweets
from sentiment.inputs import model_input
from sentiment.model import DEFAULT_NAME_KEY, MULTILINGUAL_KEY, shipped_base_dir
from sentiment.tokenizer import FileTokenizer

EDGES = ["", " ", "a" * 3000, "😀 " * 200, "&amp; @user http://t.co/x #Hashtag ÄÖÜß çãõ ¿qué? «non»"]


def _tweets(shared: Path) -> list[str]:
    """Training and validation tweets (never test splits) of UMSAB's languages and TweetEval,
    and the customer tweets to airlines."""
    data = shared / "data"
    files = sorted(data.glob("umsab/*/train_text.txt")) + sorted(data.glob("umsab/*/val_text.txt"))
    files.append(data / "tweeteval" / "sentiment" / "val_text.txt")
    texts = [line for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    texts += [r.text for r in read_airline_tweets(data / "airline-tweets" / "tweets.csv")]
    return texts + EDGES


@pytest.mark.parametrize(("kind", "spell_emoji"), [(DEFAULT_NAME_KEY, True), (MULTILINGUAL_KEY, False)])
def test_file_tokenizer_gives_transformers_ids(shared: Path, kind: str, spell_emoji: bool) -> None:
    folder = shipped_base_dir(kind)
    reference, ours = AutoTokenizer.from_pretrained(str(folder)), FileTokenizer(folder)
    texts = [model_input(t, spell_emoji=spell_emoji) for t in _tweets(shared)]
    assert len(texts) > 25_000
    for max_length in (96, 128):
        expected = reference(texts, truncation=True, max_length=max_length, add_special_tokens=True)["input_ids"]
        got = ours(texts, truncation=True, max_length=max_length)["input_ids"]
        assert [i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b] == []
        assert max(map(len, got)) == max_length
    assert ours.pad_token_id == reference.pad_token_id


def test_file_tokenizer_ignores_the_padding_stored_in_the_file() -> None:
    """all-MiniLM-L6-v2's tokenizer.json pads to 128; batching pads each batch itself."""
    ours = FileTokenizer(shipped_base_dir(DEFAULT_NAME_KEY))
    ids = ours(["short", "a slightly longer text"], truncation=True, max_length=128)["input_ids"]
    assert [len(row) for row in ids] == [3, 6]
    assert ours(["short"], truncation=False)["input_ids"] == ids[:1]
