"""Run a loaded classifier in ONNX Runtime with int8 weights: the fast path on a plain CPU.

ONNX Runtime's int8 kernels (MatMulInteger on the encoder's Linear layers, per-column weight
scales) beat PyTorch's dynamic int8 on every CPU measured: about 4x its fp32 where the CPU has
VNNI (PyTorch: about 3x) and 3x on an AVX2-only CPU (PyTorch: 1.3x). Inputs are quantised with
one scale per row (``sentiment.int8_rowwise``), so a text scores the same in any batch. The
graph is built once per network (export + rewrite, ~20 s) and cached on disk, so later loads
take a second.

Only MatMuls with a stored weight (the encoder's Linear layers) are quantised: attention's
activation-by-activation products and the classifier head stay fp32 (quantising the head
changed the labels of most texts in testing).
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/engagebot/onnx`` (``~/.cache/engagebot/onnx``)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "engagebot" / "onnx"


def onnxruntime_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class _Logits(nn.Module):
    """``(input_ids, attention_mask) -> logits``: the two-input graph that gets exported."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.network(input_ids=input_ids, attention_mask=attention_mask).logits
        return logits


def _export(network: nn.Module, path: Path) -> None:
    ids = torch.ones(2, 16, dtype=torch.long)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Logits(network).eval(),
            (ids, torch.ones_like(ids)),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )


def _weight_nodes(graph: onnx.GraphProto) -> tuple[list[str], list[str]]:
    """The names of the MatMuls whose second input is a stored weight (the encoder's Linear
    layers) and of the Gathers whose first input is one (the word-embedding look-up).

    The embedding matrix of multilingual-e5-small is 96M of its 118M parameters, so int8 rows
    shrink its graph from ~470 MB to ~120 MB and the memory it takes with it.
    """
    weights = {init.name for init in graph.initializer}
    matmuls = [node.name for node in graph.node if node.op_type == "MatMul" and node.input[1] in weights]
    gathers = [node.name for node in graph.node if node.op_type == "Gather" and node.input[0] in weights]
    return matmuls, gathers


def build_int8(network: nn.Module, target: Path, *, embeddings: bool = False) -> Path:
    """Export ``network`` to ONNX and write its row-wise int8 graph to ``target`` (atomic).

    ``embeddings``: the word-embedding rows are int8 too (see ``_weight_nodes``).
    """
    import onnx

    from sentiment.int8_rowwise import quantise_rowwise

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        _export(network, fp32)
        model = onnx.load(str(fp32))
        matmuls, gathers = _weight_nodes(model.graph)
        int8 = Path(scratch) / "int8.onnx"
        onnx.save(quantise_rowwise(model, matmuls, gathers if embeddings else []), str(int8))
        int8.replace(target)
    return target


class OnnxClassifier:
    """Called like the torch network (``input_ids=``, ``attention_mask=`` -> ``.logits``)."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, *, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SequenceClassifierOutput:
        (logits,) = self.session.run(
            ["logits"], {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        )
        return SequenceClassifierOutput(logits=torch.from_numpy(logits))


#: Part of every cached graph's file name: a new way of quantising builds new graphs rather
#: than reusing ones made the old way.
INT8_FORMAT = "int8-rowwise-w7"


def int8_path(model_id: str, cache_dir: Path | None) -> Path:
    """Where the int8 graph of ``model_id`` is cached."""
    safe = "".join(c if c.isalnum() or c in "-_.@+" else "_" for c in model_id)
    return (cache_dir or default_cache_dir()) / f"{safe}.{INT8_FORMAT}.onnx"


def load_int8(
    model_id: str, cache_dir: Path | None, threads: int, *, build: Callable[[Path], object]
) -> OnnxClassifier:
    """The cached int8 graph of ``model_id``; ``build(path)`` writes it the first time."""
    path = int8_path(model_id, cache_dir)
    if not path.is_file():
        log.info("building the int8 ONNX graph of %s at %s (once per model)", model_id, path)
        build(path)
    return OnnxClassifier(path, threads)
