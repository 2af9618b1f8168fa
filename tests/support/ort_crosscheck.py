"""Cross-checks a model mlgate wrote with the Python reference implementations.

usage: ort_crosscheck.py MODEL INPUTS.npz OUTPUTS.npz

1. onnx.checker.check_model(full_check=True): the model is valid ONNX, shapes infer strictly.
2. Python ONNX Runtime runs it on INPUTS and its outputs are compared with OUTPUTS (what
   mlgate's ONNX Runtime produced on the same inputs).

Prints one JSON object: {"checker": "ok", "outputs": N, "max_rel_l2": X}.
"""

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main() -> None:
    model_path, inputs_path, outputs_path = sys.argv[1:4]
    onnx.checker.check_model(onnx.load(model_path), full_check=True)
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    inputs = dict(np.load(inputs_path))
    expected = dict(np.load(outputs_path))
    names = [o.name for o in session.get_outputs()]
    got = session.run(names, inputs)
    worst = 0.0
    for name, value in zip(names, got):
        want = expected[name].astype(np.float64)
        value = np.asarray(value).astype(np.float64)
        denom = max(np.linalg.norm(want), 1e-30)
        worst = max(worst, float(np.linalg.norm(value - want) / denom))
    print(json.dumps({"checker": "ok", "outputs": len(names), "max_rel_l2": worst}))


if __name__ == "__main__":
    main()
