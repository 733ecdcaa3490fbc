"""A tiny face-embedding model written as a real ONNX file, without the onnx package.

The ONNX format is a protocol-buffers message (onnx/onnx.proto); this writes the few fields
a graph of Flatten then Gemm needs, so that OpenCV's own ONNX importer loads it as it would
a studio's model. Field numbers are those of onnx.proto (IR version 8, opset 13).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

FLOAT = 1  # TensorProto.DataType.FLOAT


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _tensor(name: str, array: npt.NDArray[np.float32]) -> bytes:
    dims = b"".join(_field(1, d) for d in array.shape)
    return dims + _field(2, FLOAT) + _field(8, name) + _field(9, array.astype("<f4").tobytes())


def _value_info(name: str, shape: tuple[int, ...]) -> bytes:
    dims = b"".join(_field(1, _field(1, d)) for d in shape)
    tensor_type = _field(1, FLOAT) + _field(2, dims)
    return _field(1, name) + _field(2, _field(1, tensor_type))


def _node(op_type: str, inputs: list[str], outputs: list[str], attributes: bytes = b"") -> bytes:
    return b"".join(_field(1, i) for i in inputs) + b"".join(_field(2, o) for o in outputs) \
        + _field(3, f"{op_type}_0") + _field(4, op_type) + attributes


def write_embedding_model(path: Path, weights: npt.NDArray[np.float32], input_size: int) -> Path:
    """``path`` as an ONNX model: input (1, 3, size, size) -> flatten -> x @ weights.T (Gemm)."""
    trans_b = _field(5, _field(1, "transB") + _field(3, 1) + _field(20, 2))  # AttributeProto INT
    graph = (_field(1, _node("Flatten", ["input"], ["flat"]))
             + _field(1, _node("Gemm", ["flat", "W"], ["embedding"], trans_b))
             + _field(2, "tiny-face-embedding")
             + _field(5, _tensor("W", weights))
             + _field(11, _value_info("input", (1, 3, input_size, input_size)))
             + _field(12, _value_info("embedding", (1, weights.shape[0]))))
    model = _field(1, 8) + _field(2, "slate-tests") + _field(7, graph) + _field(8, _field(2, 13))
    path.write_bytes(model)
    return path
