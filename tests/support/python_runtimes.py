"""Runs models on the Python runtimes mlgate is checked against, on inputs mlgate saved.

usage: python_runtimes.py JOBS.json RESULTS.json

JOBS.json is a list of {"model": PATH, "runtime": "onnxruntime" | "litert",
"inputs": IN.npz, "output": OUT.npz}. Each model runs once on its inputs, through the
runtime's ordinary Python API: an onnxruntime InferenceSession (CPU), or an ai-edge-litert
Interpreter — its signature runner when the model has a signature (inputs and outputs by
signature name), else the tensor API (by tensor name, open dimensions resized to the
inputs' shapes). The outputs go to OUT.npz by the names that API gives them.

Writes RESULTS.json, one object: {"versions": {PACKAGE: VERSION}, "results": [...]}, a
result per job in their order, {"ok": true, "outputs": [NAMES]} or {"ok": false, "error":
MESSAGE}. A model the runtime refuses is a result, not a failure of this script.
"""

import importlib.metadata
import json
import sys

import numpy as np


def run_onnxruntime(model, inputs):
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))


def run_litert(model, inputs):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=model)
    signatures = interpreter.get_signature_list()
    if signatures:
        if len(signatures) != 1:
            raise ValueError(f"{len(signatures)} signatures: {sorted(signatures)}")
        runner = interpreter.get_signature_runner(next(iter(signatures)))
        return dict(runner(**inputs))
    details = interpreter.get_input_details()
    for d in details:
        value = inputs[d["name"]]
        if list(d["shape"]) != list(value.shape):
            interpreter.resize_tensor_input(d["index"], list(value.shape))
    interpreter.allocate_tensors()
    for d in details:
        interpreter.set_tensor(d["index"], inputs[d["name"]])
    interpreter.invoke()
    return {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}


RUNTIMES = {"onnxruntime": run_onnxruntime, "litert": run_litert}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        jobs = json.load(f)
    results = []
    for job in jobs:
        inputs = dict(np.load(job["inputs"]))
        try:
            outputs = RUNTIMES[job["runtime"]](job["model"], inputs)
        except Exception as e:  # the runtime's refusal is the result
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}"[:500]})
            continue
        np.savez(job["output"], **{k: np.asarray(v) for k, v in outputs.items()})
        results.append({"ok": True, "outputs": sorted(outputs)})
    versions = {p: importlib.metadata.version(p) for p in ("onnxruntime", "ai-edge-litert")}
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump({"versions": versions, "results": results}, f)


if __name__ == "__main__":
    main()
