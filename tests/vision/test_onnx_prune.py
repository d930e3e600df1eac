"""Cutting an ONNX model down to some outputs on the protobuf wire: the same values, fewer nodes, clear refusals."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from vision.onnx_prune import onnx_outputs_keep


def two_branch_model() -> bytes:
    """x -> (x + 1) -> `kept`; x -> (x * 2) -> (.. * 3) -> `dropped`, with a weight only the dropped branch reads."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 3]) for name in ("kept", "dropped")]
    weights = [helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0]),
               helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0])]
    nodes = [helper.make_node("Add", ["x", "one"], ["kept"], name="add"),
             helper.make_node("Mul", ["x", "two"], ["twice"], name="double"),
             helper.make_node("Mul", ["twice", "twice"], ["dropped"], name="square")]
    graph = helper.make_graph(nodes, "g", [x], outputs, initializer=weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_a_pruned_model_keeps_the_asked_outputs_values_and_drops_the_nodes_only_others_needed():
    pruned = onnx_outputs_keep(two_branch_model(), ["kept"])
    graph = onnx.load_from_string(pruned).graph
    assert [o.name for o in graph.output] == ["kept"] and [n.name for n in graph.node] == ["add"]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    session = ort.InferenceSession(pruned, providers=["CPUExecutionProvider"])
    full = ort.InferenceSession(two_branch_model(), providers=["CPUExecutionProvider"])
    assert np.array_equal(session.run(None, {"x": x})[0], full.run(["kept"], {"x": x})[0])


def test_keeping_every_output_gives_the_same_bytes():
    model = two_branch_model()
    assert onnx_outputs_keep(model, ["kept", "dropped"]) == model


def test_an_output_the_graph_does_not_have_is_refused_by_name():
    with pytest.raises(ValueError, match="not outputs of the graph: masks"):
        onnx_outputs_keep(two_branch_model(), ["kept", "masks"])


def test_a_graph_with_control_flow_is_not_pruned():
    x = helper.make_tensor_value_info("x", TensorProto.BOOL, [])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    branch = helper.make_graph([helper.make_node("Constant", [], ["c"], value_float=1.0)], "b", [],
                               [helper.make_tensor_value_info("c", TensorProto.FLOAT, [])])
    node = helper.make_node("If", ["x"], ["y"], then_branch=branch, else_branch=branch)
    model = helper.make_model(helper.make_graph([node], "g", [x], [y])).SerializeToString()
    with pytest.raises(ValueError, match="control-flow"):
        onnx_outputs_keep(model, ["y"])
