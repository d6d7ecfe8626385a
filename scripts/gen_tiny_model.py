#!/usr/bin/env python3
"""Generates the tiny ONNX test model and its expected outputs (deterministic).

    y = Relu(x @ W1 + b1) @ W2 + b2,  x: float32 [N, 4], hidden 8, y: float32 [N, 3]

Weights come from a seeded numpy RNG rounded to 2 decimals. Writes
tests/fixtures/models/tiny/{model.onnx,model.toml} and tests/fixtures/tiny_expected.json.
Needs numpy and onnx only: `scripts/setup.sh --python-venv` then
`.cache/venv/bin/python scripts/gen_tiny_model.py`.
"""

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "tests" / "fixtures" / "models" / "tiny"
EXPECTED = ROOT / "tests" / "fixtures" / "tiny_expected.json"
SEED = 20240613
D_IN, D_HIDDEN, D_OUT = 4, 8, 3


def weights():
    rng = np.random.default_rng(SEED)
    def draw(*shape):
        return np.round(rng.uniform(-1.0, 1.0, size=shape), 2).astype(np.float32)
    return draw(D_IN, D_HIDDEN), draw(D_HIDDEN), draw(D_HIDDEN, D_OUT), draw(D_OUT)


def build(w1, b1, w2, b2):
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="gemm1"),
        helper.make_node("Relu", ["h"], ["a"], name="relu"),
        helper.make_node("Gemm", ["a", "w2", "b2"], ["y"], name="gemm2"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", D_IN])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", D_OUT])],
        initializer=[
            numpy_helper.from_array(w1, "w1"),
            numpy_helper.from_array(b1, "b1"),
            numpy_helper.from_array(w2, "w2"),
            numpy_helper.from_array(b2, "b2"),
        ],
    )
    model = helper.make_model(
        graph,
        producer_name="smart-routing/scripts/gen_tiny_model.py",
        opset_imports=[helper.make_opsetid("", 13)],
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    w1, b1, w2, b2 = weights()
    model = build(w1, b1, w2, b2)
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    (MODEL_DIR / "model.onnx").write_bytes(model.SerializeToString())
    (MODEL_DIR / "model.toml").write_text(
        "# Tiny Gemm-Relu-Gemm test model (x: [N, 4] -> y: [N, 3]); "
        "written by scripts/gen_tiny_model.py.\n"
        'task_types = ["infer"]\n'
        "max_batch_size = 8\n"
    )

    inputs = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],
            [1.0, 2.0, 3.0, 4.0],
            [-1.0, 0.5, -0.25, 2.0],
            [0.5, -1.5, 1.0, -0.75],
            [3.0, -2.0, 0.25, 1.0],
        ],
        dtype=np.float32,
    )
    hidden = np.maximum(inputs @ w1 + b1, np.float32(0.0))
    outputs = (hidden @ w2 + b2).astype(np.float32)
    def rows(matrix):
        return ",\n    ".join(json.dumps([float(v) for v in row]) for row in matrix)

    EXPECTED.write_text(
        '{\n  "model": "tests/fixtures/models/tiny",\n'
        f'  "inputs": [\n    {rows(inputs)}\n  ],\n'
        f'  "outputs": [\n    {rows(outputs)}\n  ]\n}}\n'
    )
    print(f"wrote {MODEL_DIR / 'model.onnx'}, {MODEL_DIR / 'model.toml'}, {EXPECTED}")
    print("outputs:", outputs.tolist())


if __name__ == "__main__":
    main()
