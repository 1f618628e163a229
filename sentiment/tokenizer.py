"""A model folder's ``tokenizer.json``, read with the ``tokenizers`` library alone.

Loading the same file through transformers' ``AutoTokenizer`` imports torch (about 220 MB of a
scoring process that otherwise needs only ONNX Runtime), and gives the same ids: the shipped
models' tokenizers are the Rust ones either way (checked on every UMSAB train and validation
tweet, TweetEval's validation tweets and the airline tweets in ``tests/sentiment/test_tokenizer.py``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer


class FileTokenizer:
    """``tokenizer(texts, truncation=True, max_length=N)["input_ids"]``, as transformers does it.

    Padding is left to the caller (``sentiment.batching`` pads each length-sorted batch to its
    own longest text), so any padding stored in the file is switched off.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self.pad_token_id = self._special_id(folder, "pad_token")

    def _special_id(self, folder: Path, name: str) -> int | None:
        """The id of a special token named in ``tokenizer_config.json`` (e.g. ``pad_token``)."""
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        token = config.get(name)
        if isinstance(token, dict):
            token = token.get("content")
        return None if token is None else self._tokenizer.token_to_id(str(token))

    def __call__(
        self,
        texts: Sequence[str],
        *,
        truncation: bool = True,
        max_length: int | None = None,
        add_special_tokens: bool = True,
    ) -> dict[str, list[list[int]]]:
        """``{"input_ids": [...]}``: each text's ids, special tokens included, cut at ``max_length``."""
        if truncation and max_length:
            if (self._tokenizer.truncation or {}).get("max_length") != max_length:
                self._tokenizer.enable_truncation(max_length)
        elif self._tokenizer.truncation is not None:
            self._tokenizer.no_truncation()
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        return {"input_ids": [encoding.ids for encoding in encodings]}
