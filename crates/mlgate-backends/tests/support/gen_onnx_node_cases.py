"""Write the ONNX backend node test cases (model.onnx + test_data_set_N/*.pb) to a directory.

The onnx wheels and sdists no longer ship `onnx/backend/test/data/node`; they ship the
generators instead, and `backend-test-tools generate-data` writes only the model cases.
Usage: python gen_onnx_node_cases.py OUT_DIR   (needs `pip install onnx==1.23.2`)
"""

import os
import sys

from onnx import TensorProto, numpy_helper
from onnx.backend.test.case import node


def main() -> None:
    out = sys.argv[1]
    written = 0
    for case in node.collect_testcases(None):
        case_dir = os.path.join(out, case.name)
        os.makedirs(case_dir, exist_ok=True)
        with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            data_dir = os.path.join(case_dir, f"test_data_set_{i}")
            os.makedirs(data_dir, exist_ok=True)
            for kind, values, infos in (
                ("input", inputs, case.model.graph.input),
                ("output", outputs, case.model.graph.output),
            ):
                for j, value in enumerate(values):
                    info = infos[j]
                    # Sequences, maps and optionals are not TensorProto; the Rust runner
                    # counts such cases as errors, so they are skipped here.
                    if not info.type.HasField("tensor_type"):
                        continue
                    proto = value if isinstance(value, TensorProto) else numpy_helper.from_array(value, info.name)
                    with open(os.path.join(data_dir, f"{kind}_{j}.pb"), "wb") as f:
                        f.write(proto.SerializeToString())
        written += 1
    print(f"{written} node cases written to {out}")


if __name__ == "__main__":
    main()
