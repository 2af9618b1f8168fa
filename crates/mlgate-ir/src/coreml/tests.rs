//! Tests against the committed models in `tests/data/coreml` (made by `generate.py` there)
//! and against hand-built and damaged inputs.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::*;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/coreml")
}

fn expected() -> Json {
    let text = std::fs::read_to_string(data_dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn read(path: &Path) -> Result<ModelInfo> {
    CoremlReader.inspect(path)
}

/// What a coremltools feature description (as `generate.py` records it) should become.
fn expected_tensor(f: &Json) -> (DType, Option<Vec<Dim>>) {
    let dims = |v: &Json| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_i64().unwrap())
            .collect()
    };
    match f["kind"].as_str().unwrap() {
        "multiArrayType" => {
            let dtype = match f["dtype"].as_str().unwrap() {
                "FLOAT32" => DType::F32,
                "FLOAT16" => DType::F16,
                "DOUBLE" => DType::F64,
                "INT32" => DType::I32,
                "INT8" => DType::I8,
                other => panic!("dtype {other} not in the fixtures"),
            };
            let default = dims(&f["shape"]);
            let shape = if let Some(ranges) = f.get("shape_range") {
                ranges
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        let r = dims(r);
                        if r[0] == r[1] {
                            Dim::Fixed(r[0] as u64)
                        } else {
                            Dim::Unknown
                        }
                    })
                    .collect()
            } else if let Some(shapes) = f.get("enumerated_shapes") {
                let shapes: Vec<Vec<i64>> = shapes.as_array().unwrap().iter().map(dims).collect();
                (0..default.len())
                    .map(|i| {
                        if shapes.iter().all(|s| s[i] == default[i]) {
                            Dim::Fixed(default[i] as u64)
                        } else {
                            Dim::Unknown
                        }
                    })
                    .collect()
            } else {
                default.iter().map(|&d| Dim::Fixed(d as u64)).collect()
            };
            (dtype, Some(shape))
        }
        "imageType" => {
            let color = f["color_space"].as_str().unwrap();
            let channels = if color.starts_with("GRAYSCALE") { 1 } else { 3 };
            let (w, h) = (f["width"].as_u64().unwrap(), f["height"].as_u64().unwrap());
            (
                DType::Other(format!("image({color})")),
                Some(vec![
                    Dim::Fixed(1),
                    Dim::Fixed(channels),
                    Dim::Fixed(h),
                    Dim::Fixed(w),
                ]),
            )
        }
        "stringType" => (DType::String, Some(vec![])),
        "int64Type" => (DType::I64, Some(vec![])),
        "doubleType" => (DType::F64, Some(vec![])),
        "dictionaryType" => {
            let key = match f["key_type"].as_str().unwrap() {
                "stringKeyType" => "string",
                _ => "int64",
            };
            (DType::Other(format!("dictionary<{key},double>")), None)
        }
        other => panic!("feature kind {other} not in the fixtures"),
    }
}

fn check_features(file: &str, ours: &[TensorInfo], theirs: &Json) {
    let theirs = theirs.as_array().unwrap();
    assert_eq!(ours.len(), theirs.len(), "{file}: feature count");
    for (o, t) in ours.iter().zip(theirs) {
        assert_eq!(o.name, t["name"].as_str().unwrap(), "{file}");
        let (dtype, shape) = expected_tensor(t);
        assert_eq!(o.dtype, dtype, "{file}: {} dtype", o.name);
        assert_eq!(o.shape, shape, "{file}: {} shape", o.name);
    }
}

#[test]
fn committed_models_match_coremltools() {
    let expected = expected();
    let models = expected.as_object().unwrap();
    assert_eq!(models.len(), 3);
    for (file, exp) in models {
        let path = data_dir().join(file);
        let info = read(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        // Detection must pick this reader too.
        assert_eq!(crate::inspect(&path).unwrap(), info, "{file}");

        let FormatDetails::Coreml {
            specification_version,
            model_type,
            is_package,
            author,
            short_description,
            version,
        } = &info.details
        else {
            panic!("{file}: not CoreML details");
        };
        assert_eq!(
            i64::from(*specification_version),
            exp["specification_version"].as_i64().unwrap()
        );
        assert_eq!(model_type, exp["model_type"].as_str().unwrap(), "{file}");
        assert_eq!(*is_package, exp["is_package"].as_bool().unwrap(), "{file}");
        assert_eq!(author, exp["author"].as_str().unwrap());
        assert_eq!(
            short_description,
            exp["short_description"].as_str().unwrap()
        );
        assert_eq!(version, exp["version"].as_str().unwrap());

        check_features(file, &info.inputs, &exp["inputs"]);
        check_features(file, &info.outputs, &exp["outputs"]);

        let ops: BTreeMap<String, u64> = exp["ops"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        assert_eq!(info.ops, ops, "{file}: op histogram");
        assert_eq!(
            info.param_count,
            exp["weight_elements"].as_u64().unwrap(),
            "{file}"
        );
        assert!(info.param_bytes > 0, "{file}");

        for (k, v) in exp["user_defined"].as_object().unwrap() {
            assert_eq!(
                info.metadata.get(k).map(String::as_str),
                v.as_str(),
                "{file}: {k}"
            );
        }
        let license = exp["license"].as_str().unwrap();
        assert_eq!(
            info.metadata.get("license").map(String::as_str),
            (!license.is_empty()).then_some(license)
        );
        assert_eq!(
            info.metadata.get("shortDescription"),
            Some(short_description)
        );
        assert!(
            !info.metadata.contains_key("coreml.weights"),
            "{file}: weights fell back"
        );

        assert_eq!(info.file_size, crate::path_size(&path).unwrap());
        assert_eq!(info.sha256, crate::content_hash(&path).unwrap());
        assert_eq!(info.format, ModelFormat::Coreml);
    }
}

#[test]
fn summaries_are_plausible() {
    let nn = read(&data_dir().join("conv_nn.mlmodel")).unwrap();
    assert_eq!(nn.producer.as_deref(), Some("coremltools 9.0"));
    // conv 3x3x3x4 + 4, batchnorm 4x4, innerProduct 4x5 + 5, all float32
    assert_eq!((nn.param_count, nn.param_bytes), (153, 153 * 4));
    assert_eq!(
        nn.metadata["coreml.input.input.enumerated_shapes"],
        "[1, 3, 8, 8], [1, 3, 16, 16]"
    );
    assert_eq!(
        nn.metadata["coreml.input.input.default_shape"],
        "[1, 3, 8, 8]"
    );
    assert_eq!(nn.inputs[0].shape_text(), "[1, 3, ?, ?]");

    let mil = read(&data_dir().join("mil_conv.mlpackage")).unwrap();
    assert_eq!(mil.producer.as_deref(), Some("coremltools 9.0"));
    for op in ["conv", "relu", "reduce_mean", "linear", "const", "cond"] {
        assert!(mil.ops.contains_key(op), "{op} missing from {:?}", mil.ops);
    }
    // `mul` only occurs inside the cond's true branch.
    assert_eq!(mil.ops.get("mul"), Some(&1));
    // Two float16 blobs: conv 4x3x3x3 and linear 5x4.
    assert_eq!((mil.param_count, mil.param_bytes), (128, 256));
    assert_eq!(mil.inputs[0].shape_text(), "[1, 3, ?, 8]");
    assert_eq!(
        mil.metadata["coreml.input.x.shape_range"],
        "[1, 3, 8..32, 8]"
    );
    assert_eq!(mil.metadata["coreml.package_format_version"], "1.0.0");

    let pipe = read(&data_dir().join("image_pipeline.mlmodel")).unwrap();
    assert_eq!(pipe.producer.as_deref(), Some("mlgate tests"));
    assert_eq!(pipe.inputs[0].shape_text(), "[1, 3, 16, 16]");
    assert_eq!(pipe.outputs[0].dtype, DType::String);
    assert!(pipe.ops.contains_key("convolution") && pipe.ops.contains_key("innerProduct"));
}

#[test]
fn sniffing() {
    let r = CoremlReader;
    assert_eq!(
        r.sniff(&data_dir().join("mil_conv.mlpackage"), None),
        Sniff::Yes
    );
    assert_eq!(r.sniff(&data_dir(), None), Sniff::No);
    for file in ["conv_nn.mlmodel", "image_pipeline.mlmodel"] {
        let bytes = std::fs::read(data_dir().join(file)).unwrap();
        assert_eq!(
            r.sniff(Path::new(file), Some(&bytes[..64])),
            Sniff::Maybe,
            "{file}"
        );
        // Short files and heads cut anywhere stay plausible.
        for n in 1..64 {
            assert_eq!(
                r.sniff(Path::new(file), Some(&bytes[..n])),
                Sniff::Maybe,
                "{file} {n}"
            );
        }
    }
    let spec =
        std::fs::read(data_dir().join("mil_conv.mlpackage/Data/com.apple.CoreML/model.mlmodel"));
    assert_eq!(
        r.sniff(Path::new("m"), Some(&spec.unwrap()[..64])),
        Sniff::Maybe
    );
    // ONNX: ir_version 8, then producer_name "pytorch".
    let onnx = b"\x08\x08\x12\x07pytorch\x1a\x052.1.0";
    assert_eq!(r.sniff(Path::new("m.onnx"), Some(onnx)), Sniff::No);
    assert_eq!(r.sniff(Path::new("m"), Some(b"TFL3\0\0\0\0")), Sniff::No);
    assert_eq!(r.sniff(Path::new("m"), Some(b"\x1c\0\0\0TFL3")), Sniff::No);
    assert_eq!(r.sniff(Path::new("m"), Some(b"{\"a\": 1}")), Sniff::No);
}

// ---- package hashing ----------------------------------------------------------------------

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(target).unwrap();
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn package_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("copy.mlpackage");
    copy_dir(&data_dir().join("mil_conv.mlpackage"), &pkg);
    (tmp, pkg)
}

const WEIGHTS: &str = "Data/com.apple.CoreML/weights/weight.bin";

#[test]
fn package_hash_is_stable_and_sees_weight_changes() {
    let original = read(&data_dir().join("mil_conv.mlpackage")).unwrap();
    let (_tmp, pkg) = package_copy();
    let copy = read(&pkg).unwrap();
    assert_eq!(copy.sha256, original.sha256, "hash depends on the location");
    assert_eq!(read(&pkg).unwrap().sha256, copy.sha256);
    assert_eq!(copy.file_size, original.file_size);

    let mut weights = std::fs::read(pkg.join(WEIGHTS)).unwrap();
    let last = weights.len() - 1;
    weights[last] ^= 0x01;
    std::fs::write(pkg.join(WEIGHTS), &weights).unwrap();
    let changed = read(&pkg).unwrap();
    assert_ne!(changed.sha256, original.sha256);
    assert_eq!(changed.param_count, original.param_count);
}

#[test]
fn truncated_weights_fall_back_to_file_sizes() {
    let (_tmp, pkg) = package_copy();
    let weights = std::fs::read(pkg.join(WEIGHTS)).unwrap();
    for cut in [0, 10, 64, 100, 300, weights.len() - 1] {
        std::fs::write(pkg.join(WEIGHTS), &weights[..cut]).unwrap();
        let info = read(&pkg).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let note = &info.metadata["coreml.weights"];
        assert!(note.contains("weight.bin"), "{note}");
        // The consts' declared types still give the element count.
        assert_eq!(info.param_count, 128, "cut at {cut}");
        assert_eq!(info.param_bytes, cut as u64);
    }
    std::fs::remove_file(pkg.join(WEIGHTS)).unwrap();
    let info = read(&pkg).unwrap();
    assert!(info.metadata["coreml.weights"].contains("not a file"));
    assert_eq!((info.param_count, info.param_bytes), (128, 0));
}

// ---- bad input ------------------------------------------------------------------------------

fn malformed_detail(r: Result<ModelInfo>) -> String {
    match r {
        Err(IrError::Malformed { format, detail, .. }) => {
            assert_eq!(format, "CoreML");
            detail
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn empty_truncated_and_random_files() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.mlmodel");
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(read(&path), Err(IrError::Empty { .. })));

    let specs = [
        data_dir().join("conv_nn.mlmodel"),
        data_dir().join("image_pipeline.mlmodel"),
        data_dir().join("mil_conv.mlpackage/Data/com.apple.CoreML/model.mlmodel"),
    ];
    for spec in &specs {
        let bytes = std::fs::read(spec).unwrap();
        assert!(analyze(&bytes).is_ok());
        // In memory: writing thousands of files is slow on some file systems.
        for n in 1..bytes.len() {
            assert!(
                analyze(&bytes[..n]).is_err(),
                "{}: prefix of {n} bytes",
                spec.display()
            );
        }
        for n in [1, 2, 3, 10, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..n]).unwrap();
            let err = read(&path).expect_err(&format!("{}: prefix of {n} bytes", spec.display()));
            assert!(err.to_string().contains("x.mlmodel"), "{err}");
        }
    }

    // Seeded: random bytes, and random bytes behind a valid-looking start.
    let mut rng = crate::rng::SplitMix64::new(0x9e37_79b9_7f4a_7c15);
    let mut next = move || rng.next_u64();
    for round in 0..2000 {
        let len = 1 + (next() % 600) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 2 == 0 {
            bytes.splice(0..0, [0x08, 0x04, 0x12]);
        }
        let _ = CoremlReader.sniff(&path, Some(&bytes[..bytes.len().min(64)]));
        let parsed = analyze(&bytes);
        if round % 100 == 0 {
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(read(&path).is_ok(), parsed.is_ok());
        }
    }
}

fn manifest(root_path: &str) -> String {
    format!(
        r#"{{"fileFormatVersion": "1.0.0",
            "itemInfoEntries": {{"ID": {{"author": "com.apple.CoreML", "description": "spec",
                                       "name": "model.mlmodel", "path": "{root_path}"}}}},
            "rootModelIdentifier": "ID"}}"#
    )
}

#[test]
fn broken_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("x.mlpackage");
    std::fs::create_dir(&pkg).unwrap();
    let detail = malformed_detail(read(&pkg));
    assert!(detail.contains("Manifest.json"), "{detail}");

    // Detection reports the same directory without reaching the reader.
    assert!(crate::inspect(&pkg).is_err());

    std::fs::write(pkg.join("Manifest.json"), "{not json").unwrap();
    let detail = malformed_detail(read(&pkg));
    assert!(detail.contains("not a valid package manifest"), "{detail}");

    std::fs::write(pkg.join("Manifest.json"), r#"{"itemInfoEntries": {}}"#).unwrap();
    let detail = malformed_detail(read(&pkg));
    assert!(detail.contains("rootModelIdentifier"), "{detail}");

    std::fs::write(
        pkg.join("Manifest.json"),
        r#"{"rootModelIdentifier": "nope"}"#,
    )
    .unwrap();
    let detail = malformed_detail(read(&pkg));
    assert!(detail.contains("\"nope\""), "{detail}");

    for escape in ["../../etc/passwd", "/etc/passwd"] {
        std::fs::write(pkg.join("Manifest.json"), manifest(escape)).unwrap();
        let detail = malformed_detail(read(&pkg));
        assert!(
            detail.contains("not a relative path inside the package"),
            "{detail}"
        );
    }

    std::fs::write(
        pkg.join("Manifest.json"),
        manifest("com.apple.CoreML/model.mlmodel"),
    )
    .unwrap();
    let detail = malformed_detail(read(&pkg));
    assert!(detail.contains("Data/com.apple.CoreML/model.mlmodel") && detail.contains("missing"));

    std::fs::create_dir_all(pkg.join("Data/com.apple.CoreML")).unwrap();
    std::fs::write(pkg.join("Data/com.apple.CoreML/model.mlmodel"), b"").unwrap();
    let detail = malformed_detail(read(&pkg));
    assert!(detail.contains("empty"), "{detail}");

    std::fs::write(
        pkg.join("Data/com.apple.CoreML/model.mlmodel"),
        b"\x08\x07\x12\xff",
    )
    .unwrap();
    let detail = malformed_detail(read(&pkg));
    assert!(
        detail.starts_with("Data/com.apple.CoreML/model.mlmodel: not a CoreML Model"),
        "{detail}"
    );
}

#[cfg(unix)]
#[test]
fn symlinked_root_model_must_stay_inside() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside.mlmodel");
    std::fs::copy(data_dir().join("conv_nn.mlmodel"), &outside).unwrap();
    let pkg = tmp.path().join("x.mlpackage");
    std::fs::create_dir_all(pkg.join("Data")).unwrap();
    std::os::unix::fs::symlink(&outside, pkg.join("Data/model.mlmodel")).unwrap();
    std::fs::write(pkg.join("Manifest.json"), manifest("model.mlmodel")).unwrap();
    let detail = malformed_detail(read(&pkg));
    assert!(detail.contains("outside the package"), "{detail}");
}

#[test]
fn compiled_models_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x.mlpackage");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("coremldata.bin"), b"\0\0\0\0").unwrap();
    assert_eq!(CoremlReader.sniff(&dir, None), Sniff::Maybe);
    for err in [read(&dir).unwrap_err(), crate::inspect(&dir).unwrap_err()] {
        assert!(matches!(err, IrError::Unsupported { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("compiled models are not supported"),
            "{err}"
        );
    }
}

// ---- hand-built specs -----------------------------------------------------------------------

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One length-delimited field, as raw protobuf.
fn field(number: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(number) << 3 | 2, &mut out);
    varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

fn feature(name: &str, kind: FeatureKind) -> FeatureDescription {
    FeatureDescription {
        name: name.into(),
        r#type: Some(proto::FeatureType {
            kind: Some(kind),
            is_optional: false,
        }),
        ..Default::default()
    }
}

/// A serialized `Model` with `description` and a model-type field `number` → `payload`.
fn model_bytes(
    spec: i32,
    description: proto::ModelDescription,
    number: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut bytes = proto::Model {
        specification_version: spec,
        description: Some(description),
        is_updatable: false,
    }
    .encode_to_vec();
    bytes.extend(field(number, payload));
    bytes
}

fn inspect_bytes(bytes: &[u8]) -> Result<ModelInfo> {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.mlmodel");
    std::fs::write(&path, bytes).unwrap();
    read(&path)
}

#[test]
fn every_feature_kind() {
    use proto::*;
    let e = Empty {};
    let description = ModelDescription {
        input: vec![
            feature("count", FeatureKind::Int64(e.clone())),
            feature("score", FeatureKind::Double(e.clone())),
            feature("text", FeatureKind::String(e.clone())),
            feature(
                "tokens",
                FeatureKind::Sequence(SequenceFeatureType {
                    element: Some(SequenceElement::String(e.clone())),
                    size_range: Some(SizeRange {
                        lower_bound: 0,
                        upper_bound: -1,
                    }),
                }),
            ),
            feature(
                "gray",
                FeatureKind::Image(ImageFeatureType {
                    width: 32,
                    height: 24,
                    color_space: COLOR_GRAYSCALE,
                    size_flexibility: Some(ImageSizeFlexibility::ImageSizeRange(ImageSizeRange {
                        width_range: Some(SizeRange {
                            lower_bound: 32,
                            upper_bound: 32,
                        }),
                        height_range: Some(SizeRange {
                            lower_bound: 16,
                            upper_bound: -1,
                        }),
                    })),
                }),
            ),
            feature(
                "half",
                FeatureKind::MultiArray(ArrayFeatureType {
                    shape: vec![1, 8],
                    data_type: ARRAY_FLOAT16,
                    shape_flexibility: Some(ShapeFlexibility::EnumeratedShapes(EnumeratedShapes {
                        shapes: vec![
                            Shape { shape: vec![1, 8] },
                            Shape {
                                shape: vec![1, 8, 2],
                            },
                        ],
                    })),
                }),
            ),
            feature(
                "ints",
                FeatureKind::MultiArray(ArrayFeatureType {
                    shape: vec![4],
                    data_type: ARRAY_INT32,
                    shape_flexibility: None,
                }),
            ),
        ],
        output: vec![
            feature(
                "by_id",
                FeatureKind::Dictionary(DictionaryFeatureType {
                    key_type: Some(DictionaryKey::Int64(e.clone())),
                }),
            ),
            feature(
                "q",
                FeatureKind::MultiArray(ArrayFeatureType {
                    data_type: ARRAY_INT8,
                    ..Default::default()
                }),
            ),
        ],
        metadata: Some(Metadata {
            author: "someone".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let bytes = model_bytes(5, description, 300, &[]); // glmRegressor, empty
    let info = inspect_bytes(&bytes).unwrap();
    let got: Vec<(String, String, String)> = info
        .inputs
        .iter()
        .chain(&info.outputs)
        .map(|t| (t.name.clone(), t.dtype.to_string(), t.shape_text()))
        .collect();
    let want = [
        ("count", "i64", "[]"),
        ("score", "f64", "[]"),
        ("text", "string", "[]"),
        ("tokens", "sequence<string>", "[?]"),
        ("gray", "image(GRAYSCALE)", "[1, 1, ?, 32]"),
        ("half", "f16", "?"),
        ("ints", "i32", "[4]"),
        ("by_id", "dictionary<int64,double>", "?"),
        ("q", "i8", "?"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        info.metadata["coreml.input.gray.size_range"],
        "width 32, height 16.."
    );
    assert_eq!(
        info.metadata["coreml.input.half.enumerated_shapes"],
        "[1, 8], [1, 8, 2]"
    );
    assert_eq!(info.ops, BTreeMap::from([("glmRegressor".to_string(), 1)]));
    assert_eq!(info.producer.as_deref(), Some("someone"));
    assert!(
        matches!(&info.details, FormatDetails::Coreml { model_type, .. } if model_type == "glmRegressor")
    );
}

fn layer(name: &str, type_number: u32, params: &[u8]) -> Vec<u8> {
    let mut bytes = proto::NeuralNetworkLayer {
        name: name.into(),
        ..Default::default()
    }
    .encode_to_vec();
    bytes.extend(field(type_number, params));
    bytes
}

fn network(layers: &[Vec<u8>]) -> Vec<u8> {
    layers
        .iter()
        .flat_map(|l| field(proto::NN_LAYERS_FIELD, l))
        .collect()
}

fn weights(w: proto::WeightParams) -> Vec<u8> {
    w.encode_to_vec()
}

#[test]
fn custom_branch_and_quantized_layers() {
    use proto::WeightParams;
    let half = weights(WeightParams {
        float16_value: vec![0; 4],
        ..Default::default()
    });
    let mut custom = proto::CustomLayerParams {
        class_name: "MyOp".into(),
        ..Default::default()
    }
    .encode_to_vec();
    custom.extend(field(20, &half));
    custom.extend(field(20, &half));
    let int8 = weights(WeightParams {
        int8_raw_value: vec![1; 6],
        ..Default::default()
    });
    let quantized = weights(WeightParams {
        raw_value: vec![0; 3],
        quantization: Some(proto::QuantizationParams { number_of_bits: 4 }),
        ..Default::default()
    });
    let inner_product = [field(20, &int8), field(21, &quantized)].concat();
    let if_branch = network(&[layer("dense", 140, &inner_product)]);
    let else_branch = network(&[layer("copy", 600, &[])]);
    let branch = [field(1, &if_branch), field(2, &else_branch)].concat();
    let nn = network(&[
        layer("custom", 500, &custom),
        layer("if", 605, &branch),
        layer("relu", 130, &[]),
    ]);
    let description = proto::ModelDescription::default();
    let info = inspect_bytes(&model_bytes(4, description, proto::MODEL_NN, &nn)).unwrap();
    let ops: Vec<(&str, u64)> = info.ops.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        ops,
        [
            ("MyOp", 1),
            ("activation", 1),
            ("branch", 1),
            ("copy", 1),
            ("innerProduct", 1)
        ]
    );
    // 2 + 2 float16, 6 int8, 3 bytes of 4-bit values
    assert_eq!(
        (info.param_count, info.param_bytes),
        (2 + 2 + 6 + 6, 4 + 4 + 6 + 3)
    );
}

#[test]
fn layer_without_type_and_deep_nesting_are_errors() {
    let nn = network(&[proto::NeuralNetworkLayer {
        name: "x".into(),
        ..Default::default()
    }
    .encode_to_vec()]);
    let bytes = model_bytes(4, Default::default(), proto::MODEL_NN, &nn);
    let detail = malformed_detail(inspect_bytes(&bytes));
    assert!(
        detail.contains("\"x\"") && detail.contains("no layer type"),
        "{detail}"
    );

    // 40 pipelines, each holding the next.
    let mut model = model_bytes(1, Default::default(), 600, &[]);
    for _ in 0..40 {
        let pipeline = field(proto::PIPELINE_MODELS_FIELD, &model);
        model = model_bytes(1, Default::default(), proto::MODEL_PIPELINE, &pipeline);
    }
    let detail = malformed_detail(inspect_bytes(&model));
    assert!(detail.contains("nested more than"), "{detail}");

    let no_type = proto::Model {
        specification_version: 4,
        description: Some(Default::default()),
        is_updatable: false,
    };
    let detail = malformed_detail(inspect_bytes(&no_type.encode_to_vec()));
    assert!(detail.contains("no model type"), "{detail}");
    let no_description = [vec![0x08, 0x04], field(500, &[])].concat();
    let detail = malformed_detail(inspect_bytes(&no_description));
    assert!(detail.contains("no description"), "{detail}");
}

#[test]
fn multi_function_description() {
    use proto::*;
    let array = |shape: Vec<i64>| {
        FeatureKind::MultiArray(ArrayFeatureType {
            shape,
            data_type: ARRAY_FLOAT32,
            ..Default::default()
        })
    };
    let function = |name: &str, width: i64| FunctionDescription {
        name: name.into(),
        input: vec![feature("x", array(vec![1, width]))],
        output: vec![feature("y", array(vec![1]))],
        ..Default::default()
    };
    let description = ModelDescription {
        functions: vec![function("small", 4), function("big", 16)],
        default_function_name: "big".into(),
        ..Default::default()
    };
    let info = inspect_bytes(&model_bytes(9, description, proto::MODEL_ML_PROGRAM, &[])).unwrap();
    assert_eq!(info.inputs[0].shape_text(), "[1, 16]");
    assert_eq!(info.metadata["coreml.functions"], "small, big");
    assert_eq!(info.metadata["coreml.function"], "big");
    assert!(info.ops.is_empty());
}
