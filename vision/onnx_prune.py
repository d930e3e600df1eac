"""An ONNX model cut down to some of its outputs, edited on the protobuf wire (no `onnx` package at run time).

onnxruntime runs every node of a graph whatever outputs a call asks for. SAM's decoder ends with
mask post-processing that upsamples all four masks to 1024x1024 and then to the image's size
(a third of a refinement click's decoder time); AI Cut upsamples only the mask it keeps itself.

Only what the pruning needs is parsed: ModelProto.graph (7), GraphProto.node (1) and .output (12),
NodeProto.input (1) and .output (2), ValueInfoProto.name (1). Every other field (weights, opsets,
metadata) is copied byte for byte, in order.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

MODEL_GRAPH, GRAPH_NODE, GRAPH_OUTPUT = 7, 1, 12
NODE_INPUT, NODE_OUTPUT, NODE_OP_TYPE = 1, 2, 4
VALUE_INFO_NAME = 1
SUBGRAPH_OPS = {b"If", b"Loop", b"Scan"}  # their bodies read outer names this scan does not see


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(buf: memoryview) -> Iterator[tuple[int, memoryview, memoryview | None]]:
    """(field number, the field's raw bytes, its payload when length-delimited) for each field of a message."""
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _varint(buf, pos)
        wire, payload = key & 7, None
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            payload = buf[pos:pos + length]
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield key >> 3, buf[start:pos], payload


def _strings(message: memoryview, number: int) -> list[bytes]:
    return [bytes(payload) for field, _, payload in _fields(message) if field == number and payload is not None]


def onnx_outputs_keep(model: bytes, keep: Iterable[str]) -> bytes:
    """The serialised `model` with only the graph outputs in `keep` and the nodes they need.

    Raises ValueError when a kept output is not an output of the graph, or when the graph has control-flow
    nodes (their subgraphs may read names this pruning cannot see).
    """
    keep_names = {name.encode() for name in keep}
    buf = memoryview(model)
    model_fields = list(_fields(buf))
    graphs = [payload for number, _, payload in model_fields if number == MODEL_GRAPH]
    if len(graphs) != 1:
        raise ValueError("not an ONNX model: no single graph")
    graph_fields = list(_fields(graphs[0]))
    outputs = {name for number, _, payload in graph_fields if number == GRAPH_OUTPUT
               for name in _strings(payload, VALUE_INFO_NAME)}
    if not keep_names <= outputs:
        missing = ", ".join(sorted(name.decode() for name in keep_names - outputs))
        raise ValueError(f"not outputs of the graph: {missing}")
    nodes = [(index, payload) for index, (number, _, payload) in enumerate(graph_fields) if number == GRAPH_NODE]
    if any(op in SUBGRAPH_OPS for _, payload in nodes for op in _strings(payload, NODE_OP_TYPE)):
        raise ValueError("the graph has control-flow nodes: not pruned")
    # Walk back from the kept outputs: a node stays when something needed reads one of its outputs.
    needed, kept_nodes = set(keep_names), set()
    for index, payload in reversed(nodes):
        if needed.intersection(_strings(payload, NODE_OUTPUT)):
            kept_nodes.add(index)
            needed.update(_strings(payload, NODE_INPUT))
    graph = bytearray()
    for index, (number, raw, payload) in enumerate(graph_fields):
        if number == GRAPH_NODE and index not in kept_nodes:
            continue
        if number == GRAPH_OUTPUT and not keep_names.intersection(_strings(payload, VALUE_INFO_NAME)):
            continue
        graph += raw
    out = bytearray()
    for number, raw, _ in model_fields:
        if number == MODEL_GRAPH:
            out += _varint_bytes(MODEL_GRAPH << 3 | 2) + _varint_bytes(len(graph)) + graph
        else:
            out += raw
    return bytes(out)
