#!/usr/bin/env python3
"""Regenerate the CoreML test models and expected.json in this folder.

    python3 -m venv /tmp/cmlvenv
    /tmp/cmlvenv/bin/pip install coremltools==9.0 numpy
    /tmp/cmlvenv/bin/python tests/data/coreml/generate.py

Runs on Linux: coremltools can build and save specs there, it just cannot run them.
Weights are tiny and seeded and specs are serialized deterministically, so a rerun
rewrites the same bytes; only the item ids in the package manifest change.

expected.json is what coremltools itself reads back from each saved file (via
`load_spec`), in coremltools' own vocabulary, so the Rust reader is checked against an
independent parser rather than against itself.
"""

import json
import os
import shutil
import sys

import numpy as np

import coremltools as ct
from coremltools.converters.mil import Builder as mb
from coremltools.converters.mil.mil import get_new_symbol
from coremltools.models import datatypes
from coremltools.models.neural_network import NeuralNetworkBuilder, flexible_shape_utils

HERE = os.path.dirname(os.path.abspath(__file__))


def rng(seed):
    return np.random.default_rng(seed)


def save_spec(spec, path):
    """Like `ct.utils.save_spec`, but with protobuf maps in a fixed order, so a rerun
    rewrites the same bytes (the package manifest's item ids still change)."""
    with open(path, "wb") as f:
        f.write(spec.SerializeToString(deterministic=True))


# -- (1) neuralNetwork: a small conv net on a 1x3x8x8 multiArray ------------------------------


def build_conv_nn(path):
    r = rng(1)
    builder = NeuralNetworkBuilder(
        [("input", datatypes.Array(1, 3, 8, 8))],
        [("logits", datatypes.Array(1, 5))],
        disable_rank5_shape_mapping=True,
    )
    builder.add_convolution(
        name="conv1",
        kernel_channels=3,
        output_channels=4,
        height=3,
        width=3,
        stride_height=1,
        stride_width=1,
        border_mode="same",
        groups=1,
        W=r.standard_normal((3, 3, 3, 4)).astype(np.float32) * 0.1,
        b=r.standard_normal(4).astype(np.float32) * 0.1,
        has_bias=True,
        input_name="input",
        output_name="conv1_out",
    )
    builder.add_activation("relu1", "RELU", "conv1_out", "relu1_out")
    builder.add_batchnorm(
        name="bn1",
        channels=4,
        gamma=np.ones(4, np.float32),
        beta=np.zeros(4, np.float32),
        mean=r.standard_normal(4).astype(np.float32) * 0.01,
        variance=np.ones(4, np.float32),
        input_name="relu1_out",
        output_name="bn1_out",
    )
    builder.add_reduce_mean(
        name="gap", input_name="bn1_out", output_name="gap_out", axes=[2, 3], keepdims=False
    )
    builder.add_inner_product(
        name="fc",
        W=r.standard_normal((5, 4)).astype(np.float32) * 0.1,
        b=r.standard_normal(5).astype(np.float32) * 0.1,
        input_channels=4,
        output_channels=5,
        has_bias=True,
        input_name="gap_out",
        output_name="fc_out",
    )
    builder.add_softmax_nd(name="softmax", input_name="fc_out", output_name="logits", axis=-1)
    spec = builder.spec
    # The builder declares DOUBLE everywhere; a float32 input is what converters emit.
    spec.description.input[0].type.multiArrayType.dataType = (
        ct.proto.FeatureTypes_pb2.ArrayFeatureType.FLOAT32
    )
    flexible_shape_utils.add_multiarray_ndshape_enumeration(
        spec, feature_name="input", enumerated_shapes=[(1, 3, 8, 8), (1, 3, 16, 16)]
    )
    spec.specificationVersion = 4
    spec.description.metadata.author = "mlgate tests"
    spec.description.metadata.shortDescription = "tiny conv net (neuralNetwork)"
    spec.description.metadata.license = "MIT"
    spec.description.metadata.versionString = "1.0"
    spec.description.metadata.userDefined["com.github.apple.coremltools.version"] = ct.__version__
    spec.description.metadata.userDefined["mlgate.fixture"] = "conv_nn"
    save_spec(spec, path)


# -- (2) mlProgram: conv + relu + reduce + linear, one flexible dim, a nested cond -------------


def build_mil_package(path):
    r = rng(2)
    conv_w = (r.standard_normal((4, 3, 3, 3)) * 0.1).astype(np.float32)
    conv_b = (r.standard_normal(4) * 0.1).astype(np.float32)
    lin_w = (r.standard_normal((5, 4)) * 0.1).astype(np.float32)
    lin_b = (r.standard_normal(5) * 0.1).astype(np.float32)

    @mb.program(
        input_specs=[
            mb.TensorSpec(shape=(1, 3, get_new_symbol(), 8)),
            mb.TensorSpec(shape=(1,)),
        ],
        opset_version=ct.target.iOS16,
    )
    def prog(x, gate):
        y = mb.conv(x=x, weight=conv_w, bias=conv_b, pad_type="same", name="conv")
        y = mb.relu(x=y, name="relu")
        y = mb.reduce_mean(x=y, axes=[2, 3], keep_dims=False, name="gap")
        pred = mb.greater(x=mb.reduce_sum(x=gate, axes=[0]), y=0.0, name="pred")
        y = mb.cond(
            pred=pred,
            _true_fn=lambda: mb.mul(x=y, y=2.0),
            _false_fn=lambda: mb.identity(x=y),
            name="gate_cond",
        )
        return mb.linear(x=y, weight=lin_w, bias=lin_b, name="scores")

    model = ct.convert(
        prog,
        convert_to="mlprogram",
        # The symbolic height becomes a bounded range in the saved description.
        inputs=[
            ct.TensorType(name="x", shape=(1, 3, ct.RangeDim(8, 32, default=8), 8)),
            ct.TensorType(name="gate", shape=(1,)),
        ],
        minimum_deployment_target=ct.target.iOS16,
        skip_model_load=True,
    )
    model.author = "mlgate tests"
    model.short_description = "tiny conv net (mlProgram)"
    model.version = "2.0"
    model.user_defined_metadata["mlgate.fixture"] = "mil_package"
    # A date would make every regeneration differ.
    del model.user_defined_metadata["com.github.apple.coremltools.conversion_date"]
    if os.path.exists(path):
        shutil.rmtree(path)
    model.save(path)
    spec_path = os.path.join(path, "Data", "com.apple.CoreML", "model.mlmodel")
    save_spec(ct.utils.load_spec(spec_path), spec_path)


# -- (3) pipelineClassifier: image → neuralNetwork features → neuralNetworkClassifier ---------


def build_image_pipeline(path):
    r = rng(3)
    feat = NeuralNetworkBuilder(
        [("image", datatypes.Array(3, 16, 16))],
        [("features", datatypes.Array(6))],
    )
    feat.add_convolution(
        name="conv",
        kernel_channels=3,
        output_channels=6,
        height=3,
        width=3,
        stride_height=2,
        stride_width=2,
        border_mode="valid",
        groups=1,
        W=r.standard_normal((3, 3, 3, 6)).astype(np.float32) * 0.1,
        b=None,
        has_bias=False,
        input_name="image",
        output_name="conv_out",
    )
    feat.add_activation("tanh", "TANH", "conv_out", "tanh_out")
    feat.add_pooling(
        name="pool",
        height=1,
        width=1,
        stride_height=1,
        stride_width=1,
        layer_type="AVERAGE",
        padding_type="VALID",
        input_name="tanh_out",
        output_name="pool_out",
        is_global=True,
    )
    feat.add_flatten(name="flatten", mode=0, input_name="pool_out", output_name="features")
    feat.set_pre_processing_parameters(
        image_input_names=["image"], is_bgr=False, image_scale=1.0 / 255.0
    )
    feat_spec = feat.spec
    feat_spec.specificationVersion = 1

    labels = ["cat", "dog", "fox"]
    clf = NeuralNetworkBuilder(
        [("features", datatypes.Array(6))],
        [("probs", None)],
        mode="classifier",
    )
    clf.add_inner_product(
        name="dense",
        W=r.standard_normal((3, 6)).astype(np.float32) * 0.1,
        b=np.zeros(3, np.float32),
        input_channels=6,
        output_channels=3,
        has_bias=True,
        input_name="features",
        output_name="dense_out",
    )
    clf.add_softmax(name="softmax", input_name="dense_out", output_name="probs")
    clf.set_class_labels(labels, predicted_feature_name="label", prediction_blob="probs")
    clf_spec = clf.spec
    clf_spec.specificationVersion = 1

    pipeline = ct.models.pipeline.PipelineClassifier(
        input_features=[("image", datatypes.Array(3, 16, 16))],
        class_labels=labels,
        output_features=["label", "probs"],
    )
    pipeline.add_model(feat_spec)
    pipeline.add_model(clf_spec)
    spec = pipeline.spec
    # The pipeline's own input has to match the first model's, which is now an image.
    spec.description.input[0].CopyFrom(feat_spec.description.input[0])
    spec.specificationVersion = 1
    spec.description.metadata.author = "mlgate tests"
    spec.description.metadata.shortDescription = "image pipeline classifier"
    save_spec(spec, path)


# -- what coremltools reads back ---------------------------------------------------------------


ARRAY_DTYPES = {
    v.number: v.name
    for v in ct.proto.FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.DESCRIPTOR.values
}
COLOR_SPACES = {
    v.number: v.name
    for v in ct.proto.FeatureTypes_pb2.ImageFeatureType.ColorSpace.DESCRIPTOR.values
}


def feature(fd):
    t = fd.type
    kind = t.WhichOneof("Type")
    out = {"name": fd.name, "kind": kind, "optional": t.isOptional}
    if kind == "multiArrayType":
        a = t.multiArrayType
        out["dtype"] = ARRAY_DTYPES[a.dataType]
        out["shape"] = list(a.shape)
        flex = a.WhichOneof("ShapeFlexibility")
        if flex == "shapeRange":
            out["shape_range"] = [[s.lowerBound, s.upperBound] for s in a.shapeRange.sizeRanges]
        elif flex == "enumeratedShapes":
            out["enumerated_shapes"] = [list(s.shape) for s in a.enumeratedShapes.shapes]
    elif kind == "imageType":
        i = t.imageType
        out["color_space"] = COLOR_SPACES[i.colorSpace]
        out["width"] = i.width
        out["height"] = i.height
    elif kind == "dictionaryType":
        out["key_type"] = t.dictionaryType.WhichOneof("KeyType")
    return out


def weight_elements(msg):
    """Elements in every WeightParams below `msg`, found through protobuf reflection."""
    if msg.DESCRIPTOR.name == "WeightParams":
        if len(msg.floatValue):
            return len(msg.floatValue)
        if len(msg.float16Value):
            return len(msg.float16Value) // 2
        if len(msg.int8RawValue):
            return len(msg.int8RawValue)
        return len(msg.rawValue) // 4
    total = 0
    for field, value in msg.ListFields():
        if field.message_type is None or field.message_type.name == "NeuralNetwork":
            continue
        for v in value if field.is_repeated else [value]:
            total += weight_elements(v)
    return total


def nn_layers(nn, hist, counts):
    for layer in nn.layers:
        kind = layer.WhichOneof("layer")
        hist[kind] = hist.get(kind, 0) + 1
        counts.append(weight_elements(getattr(layer, kind)))
        if kind == "branch":
            nn_layers(layer.branch.ifBranch, hist, counts)
            nn_layers(layer.branch.elseBranch, hist, counts)
        elif kind == "loop":
            nn_layers(layer.loop.conditionNetwork, hist, counts)
            nn_layers(layer.loop.bodyNetwork, hist, counts)


def mil_block(block, hist, blobs):
    for op in block.operations:
        hist[op.type] = hist.get(op.type, 0) + 1
        for value in op.attributes.values():
            if value.WhichOneof("value") == "blobFileValue":
                blobs.append((value.blobFileValue.fileName, value.blobFileValue.offset))
        for b in op.blocks:
            mil_block(b, hist, blobs)


def ops_of(spec, hist, blobs, counts):
    kind = spec.WhichOneof("Type")
    if kind in ("neuralNetwork", "neuralNetworkClassifier", "neuralNetworkRegressor"):
        nn_layers(getattr(spec, kind), hist, counts)
    elif kind == "mlProgram":
        for fn in spec.mlProgram.functions.values():
            for block in fn.block_specializations.values():
                mil_block(block, hist, blobs)
    elif kind in ("pipeline", "pipelineClassifier", "pipelineRegressor"):
        p = spec.pipeline if kind == "pipeline" else getattr(spec, kind).pipeline
        for m in p.models:
            ops_of(m, hist, blobs, counts)


def blob_elements(weights_path, offset, storage_reader):
    """Element count of one blob, read by coremltools' own MILBlob reader."""
    reader = storage_reader(weights_path)
    for read in (reader.read_fp16_data, reader.read_float_data, reader.read_int8_data,
                 reader.read_uint8_data):
        try:
            return int(len(read(offset)))
        except Exception:  # wrong dtype for this blob: try the next reader
            continue
    raise RuntimeError(f"cannot read blob at {offset} of {weights_path}")


def describe(path):
    spec = ct.utils.load_spec(path)
    hist, blobs, counts = {}, [], []
    ops_of(spec, hist, blobs, counts)
    sub_types = []
    kind = spec.WhichOneof("Type")
    if kind in ("pipeline", "pipelineClassifier", "pipelineRegressor"):
        p = spec.pipeline if kind == "pipeline" else getattr(spec, kind).pipeline
        sub_types = [m.WhichOneof("Type") for m in p.models]
    md = spec.description.metadata
    out = {
        "specification_version": spec.specificationVersion,
        "model_type": kind,
        "sub_model_types": sub_types,
        "is_package": os.path.isdir(path),
        "inputs": [feature(f) for f in spec.description.input],
        "outputs": [feature(f) for f in spec.description.output],
        "author": md.author,
        "short_description": md.shortDescription,
        "version": md.versionString,
        "license": md.license,
        "user_defined": dict(md.userDefined),
        "ops": dict(sorted(hist.items())),
    }
    if counts:
        out["weight_elements"] = sum(counts)
    if blobs:
        from coremltools.libmilstoragepython import _BlobStorageReader

        weights = os.path.join(path, "Data", "com.apple.CoreML", "weights", "weight.bin")
        uniq = sorted(set(blobs))
        out["weight_blobs"] = [
            {"file": f, "offset": o, "elements": blob_elements(weights, o, _BlobStorageReader)}
            for f, o in uniq
        ]
        out["weight_elements"] = sum(b["elements"] for b in out["weight_blobs"])
    return out


def main():
    files = {
        "conv_nn.mlmodel": build_conv_nn,
        "mil_conv.mlpackage": build_mil_package,
        "image_pipeline.mlmodel": build_image_pipeline,
    }
    # File name → facts, nothing else at the top level: other tests iterate it that way.
    expected = {}
    for name, build in files.items():
        path = os.path.join(HERE, name)
        build(path)
        expected[name] = describe(path)
        expected[name]["coremltools_version"] = ct.__version__
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")
    for name in files:
        path = os.path.join(HERE, name)
        size = (
            sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(path) for n in ns)
            if os.path.isdir(path)
            else os.path.getsize(path)
        )
        print(f"{name}: {size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
