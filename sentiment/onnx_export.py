"""Export a torch classifier to ONNX and write its row-wise int8 graph (``sentiment.int8_rowwise``).

Needs torch and the network's weights: it runs once per network, in a child process for the
shipped models (``sentiment.onnx_build``), so the scoring process (``sentiment.onnx_backend``)
never imports torch.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    import onnx


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
