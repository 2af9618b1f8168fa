"""Record what the reference runtimes report about each test model's inputs and outputs.

Run by `cargo xtask record-expectations` inside a venv with onnxruntime and ai-edge-litert.
The output, tests/expected/io.json, is committed; mlgate's own parsers are tested against
it, so a parser bug shows up as a disagreement with the runtime users actually ship.

Usage: record_expectations.py TESTDATA_DIR OUTPUT_JSON
"""
import json
import pathlib
import sys

ORT_DTYPES = {
    "tensor(float)": "f32", "tensor(float16)": "f16", "tensor(bfloat16)": "bf16",
    "tensor(double)": "f64", "tensor(int8)": "i8", "tensor(int16)": "i16",
    "tensor(int32)": "i32", "tensor(int64)": "i64", "tensor(uint8)": "u8",
    "tensor(uint16)": "u16", "tensor(uint32)": "u32", "tensor(uint64)": "u64",
    "tensor(bool)": "bool", "tensor(string)": "string",
}


def ort_dim(d):
    if isinstance(d, int):
        return d
    if isinstance(d, str) and d:
        return d
    return None


def ort_entry(path):
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def describe(args):
        return [{"name": a.name, "dtype": ORT_DTYPES.get(a.type, a.type),
                 "shape": [ort_dim(d) for d in a.shape]} for a in args]

    return {"source": f"onnxruntime {ort.__version__}",
            "inputs": describe(sess.get_inputs()), "outputs": describe(sess.get_outputs())}


def litert_entry(path):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=str(path))

    def dtype(t):
        return {np.float32: "f32", np.float16: "f16", np.int8: "i8", np.uint8: "u8",
                np.int16: "i16", np.int32: "i32", np.int64: "i64", np.bool_: "bool"}.get(t, str(t))

    def describe(details):
        out = []
        for d in details:
            sig = d.get("shape_signature")
            dims = sig if sig is not None and len(sig) == len(d["shape"]) else d["shape"]
            out.append({"name": d["name"], "dtype": dtype(d["dtype"]),
                        "shape": [int(x) if x >= 0 else None for x in dims]})
        return out

    return {"source": "ai-edge-litert 2.3.0",
            "inputs": describe(interp.get_input_details()),
            "outputs": describe(interp.get_output_details())}


def main():
    root = pathlib.Path(sys.argv[1])
    out = pathlib.Path(sys.argv[2])
    entries = {}
    for group in ["fixtures", "onnx-light", "silero-vad"]:
        for p in sorted((root / group).glob("*.onnx")):
            try:
                entries[f"{group}/{p.name}"] = ort_entry(p)
            except Exception as e:  # recorded so the test knows the runtime refused it
                entries[f"{group}/{p.name}"] = {"source": "onnxruntime", "error": str(e)[:200]}
    for p in sorted((root / "mediapipe").rglob("*.tflite")):
        rel = p.relative_to(root).as_posix()
        try:
            entries[rel] = litert_entry(p)
        except Exception as e:
            entries[rel] = {"source": "ai-edge-litert 2.3.0", "error": str(e)[:200]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(entries)} models -> {out}")


if __name__ == "__main__":
    main()
