"""The row-wise int8 rewrite: close to fp32, and each row's result independent of the others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from sentiment.int8_rowwise import quantise_rowwise


def _graph(weight: np.ndarray, table: np.ndarray) -> onnx.ModelProto:
    """ids -> embedding rows (Gather) -> x @ W (MatMul): the two shapes the rewrite handles."""
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["x"], name="embed", axis=0),
        helper.make_node("MatMul", ["x", "weight"], ["y"], name="dense"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", weight.shape[1]])],
        [numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(table, "table")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, path: Path, ids: np.ndarray) -> np.ndarray:
    onnx.save(model, str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(["y"], {"ids": ids})
    return np.asarray(out)


def test_rowwise_int8_is_close_to_fp32_and_rows_do_not_move_each_other(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    weight = rng.normal(0, 0.05, size=(64, 32)).astype(np.float32)
    table = rng.normal(0, 1.0, size=(100, 64)).astype(np.float32)
    table[3] *= 40  # one token with outlier activations, as transformers have
    ids = rng.integers(0, 100, size=(4, 9))
    ids[0, 0] = 3
    exact = _run(_graph(weight, table), tmp_path / "fp32.onnx", ids)
    quantised = quantise_rowwise(_graph(weight, table), ["dense"], ["embed"])
    assert {n.op_type for n in quantised.graph.node} >= {"MatMulIntegerToFloat", "QuantizeLinear"}
    assert "weight" not in {i.name for i in quantised.graph.initializer}
    batched = _run(quantised, tmp_path / "int8.onnx", ids)
    scale = np.abs(exact).max(axis=-1, keepdims=True)
    assert np.all(np.abs(batched - exact) <= 0.03 * scale)
    # every text alone, and the outlier token's text removed: the others' numbers do not change
    for row in range(4):
        alone = _run(quantised, tmp_path / "int8.onnx", ids[row : row + 1])
        assert np.array_equal(alone[0], batched[row])
    without_outlier = _run(quantised, tmp_path / "int8.onnx", ids[1:])
    assert np.array_equal(without_outlier, batched[1:])


def test_matmuls_reading_one_activation_share_its_quantisation(tmp_path: Path) -> None:
    """Attention's query, key and value read the same activation: it is quantised once, and each
    product is still close to fp32 with its own weight."""
    rng = np.random.default_rng(11)
    weights = [rng.normal(0, 0.05, size=(48, width)).astype(np.float32) for width in (16, 24, 16)]
    nodes = [helper.make_node("MatMul", ["x", f"w{i}"], [f"y{i}"], name=f"dense{i}") for i in range(3)]
    graph = helper.make_graph(
        nodes,
        "shared",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", 48])],
        [helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, None) for i in range(3)],
        [numpy_helper.from_array(w, f"w{i}") for i, w in enumerate(weights)],
    )
    model = quantise_rowwise(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), ["dense0", "dense1", "dense2"]
    )
    assert [n.op_type for n in model.graph.node].count("QuantizeLinear") == 1
    assert [n.op_type for n in model.graph.node].count("MatMulIntegerToFloat") == 3
    path = tmp_path / "shared.onnx"
    onnx.save(model, str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = rng.normal(0, 1, size=(3, 5, 48)).astype(np.float32)
    outputs = session.run([f"y{i}" for i in range(3)], {"x": x})
    for weight, out in zip(weights, outputs, strict=True):
        exact = x @ weight
        assert out.shape == exact.shape
        error = np.abs(out - exact)
        assert error.max() <= 0.03 * np.abs(exact).max()
        assert error.mean() <= 0.02 * np.abs(exact).mean()
