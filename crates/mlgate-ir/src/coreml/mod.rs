//! CoreML: `.mlmodel` files (one protobuf `Model`) and `.mlpackage` directories (a manifest,
//! the model spec and MIL weight blobs), summarised as a [`ModelInfo`].
//!
//! Op histograms use the spec's own names: layer types (`convolution`, `innerProduct`) for
//! neural networks, MIL op types (`conv`, `linear`, `const`, nested blocks included) for ML
//! programs, the sub-models' ops for pipelines, and the model type itself (`glmRegressor`,
//! `treeEnsembleClassifier`, ...) for models that are not graphs.

mod blob;
mod package;
mod proto;
#[cfg(test)]
mod tests;
mod wire;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;

use crate::detect::{FormatReader, Sniff};
use crate::{DType, Dim, FormatDetails, IrError, ModelFormat, ModelInfo, Result, TensorInfo};

use proto::{FeatureDescription, FeatureKind};

pub(crate) const FORMAT: &str = "CoreML";

/// Nesting allowed for pipelines inside pipelines and for networks inside branch / loop
/// layers. Real models use two or three levels; each level is decoded separately, so prost's
/// own recursion limit does not bound it.
const MAX_DEPTH: usize = 32;

/// Reads `.mlmodel` and `.mlpackage` models. Compiled `.mlmodelc` directories are refused.
pub struct CoremlReader;

impl FormatReader for CoremlReader {
    fn format(&self) -> ModelFormat {
        ModelFormat::Coreml
    }

    fn display_name(&self) -> &'static str {
        FORMAT
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["mlmodel", "mlpackage"]
    }

    fn sniff(&self, path: &Path, head: Option<&[u8]>) -> Sniff {
        match head {
            None if path.join(package::MANIFEST).is_file() => Sniff::Yes,
            // Compiled: claiming it lets `inspect` say why it is refused.
            None if path.join(package::COMPILED_MARKER).is_file() => Sniff::Maybe,
            None => Sniff::No,
            Some(head) if plausible_model_prefix(head) => Sniff::Maybe,
            Some(_) => Sniff::No,
        }
    }

    fn inspect(&self, path: &Path) -> Result<ModelInfo> {
        inspect(path)
    }
}

/// Whether `head` can start a serialized `Model`. coremltools writes fields in number order:
/// `specificationVersion` (1, a small varint), then `description` (2), whose first field is
/// one of `ModelDescription`'s. ONNX also opens with field 1 as a varint, then a producer
/// name string in field 2, which this tells apart by the first description byte.
fn plausible_model_prefix(head: &[u8]) -> bool {
    // A varint that runs off the end of `head` was cut by the head length: still plausible.
    let mut buf = head;
    let Ok(mut key) = wire::read_varint(&mut buf) else {
        return buf.is_empty();
    };
    if key == 0x08 {
        match wire::read_varint(&mut buf) {
            Ok(v) if (1..=255).contains(&v) => {}
            Ok(_) => return false,
            Err(_) => return buf.is_empty(),
        }
        if buf.is_empty() {
            return true;
        }
        key = match wire::read_varint(&mut buf) {
            Ok(k) => k,
            Err(_) => return buf.is_empty(),
        };
    }
    let number = key >> 3;
    let wire_type = key & 7;
    match (number, wire_type) {
        (2, 2) => {
            let Ok(len) = wire::read_varint(&mut buf) else {
                return buf.is_empty();
            };
            match buf.first() {
                None => true,
                _ if len == 0 => true,
                // input (1), output (10), predicted names (11, 12), state (13), and the
                // first byte of functions (20), defaultFunctionName (21),
                // trainingInput (50), metadata (100).
                Some(b) => [0x0a, 0x52, 0x5a, 0x62, 0x6a, 0xa2, 0xaa, 0x92].contains(b),
            }
        }
        (10, 0) => true,
        (n, 2) => n >= u64::from(proto::FIRST_MODEL_TYPE_FIELD) && n < 4000,
        _ => false,
    }
}

fn inspect(path: &Path) -> Result<ModelInfo> {
    let meta = std::fs::metadata(path).map_err(|e| IrError::io(path, e))?;
    // Facts mlgate derives, under `coreml.`; they win over the model's own metadata.
    let mut derived = BTreeMap::new();
    let (model_file, shown, package_root) = if meta.is_dir() {
        let root = package::root_model(path)?;
        if let Some(v) = &root.file_format_version {
            derived.insert("coreml.package_format_version".to_string(), v.clone());
        }
        (root.file, Some(root.relative), path.to_owned())
    } else {
        (path.to_owned(), None, parent_dir(path))
    };
    // `detail` for errors about the spec file: inside a package, say which file.
    let in_file = |d: String| match &shown {
        Some(rel) => format!("{rel}: {d}"),
        None => d,
    };
    let bytes = std::fs::read(&model_file).map_err(|e| IrError::io(&model_file, e))?;
    if bytes.is_empty() {
        return Err(match &shown {
            None => IrError::Empty {
                path: path.to_owned(),
            },
            Some(_) => IrError::malformed(path, FORMAT, in_file("the model spec is empty".into())),
        });
    }
    let malformed = |d: String| IrError::malformed(path, FORMAT, in_file(d));

    let Spec {
        model,
        description,
        type_number,
        walk,
    } = analyze(&bytes).map_err(malformed)?;

    let mut param_count = walk.nn_params;
    let mut param_bytes = walk.nn_param_bytes;
    if !walk.blob_refs.is_empty() {
        let blobs = blob_params(&walk.blob_refs, &parent_dir(&model_file), &package_root);
        param_count += blobs.count;
        param_bytes += blobs.bytes;
        if let Some(note) = blobs.note {
            derived.insert("coreml.weights".to_string(), note);
        }
    }

    let (inputs, outputs, states) = io_features(&description, &mut derived);
    let md = description.metadata.unwrap_or_default();
    let producer = match md.user_defined.get("com.github.apple.coremltools.version") {
        Some(v) if !v.is_empty() => Some(format!("coremltools {v}")),
        _ if !md.author.is_empty() => Some(md.author.clone()),
        _ => None,
    };
    if !states.is_empty() {
        derived.insert("coreml.states".to_string(), states.join(", "));
    }
    let mut metadata = md.user_defined;
    if !md.short_description.is_empty() {
        metadata.insert("shortDescription".to_string(), md.short_description.clone());
    }
    if !md.license.is_empty() {
        metadata.insert("license".to_string(), md.license);
    }
    metadata.extend(derived);

    Ok(ModelInfo {
        path: path.display().to_string(),
        format: ModelFormat::Coreml,
        producer,
        inputs,
        outputs,
        ops: walk.ops,
        param_count,
        param_bytes,
        file_size: crate::path_size(path)?,
        sha256: crate::content_hash(path)?,
        metadata,
        details: FormatDetails::Coreml {
            specification_version: model.specification_version,
            model_type: model_type_name(type_number),
            is_package: meta.is_dir(),
            author: md.author,
            short_description: md.short_description,
            version: md.version_string,
        },
    })
}

/// The directory a relative file name is resolved against (`.` for a bare file name).
fn parent_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

// ---- model walk -------------------------------------------------------------------------------

/// What the spec file says, before weight files and I/O are looked at.
struct Spec {
    model: proto::Model,
    description: proto::ModelDescription,
    type_number: u32,
    walk: Walk,
}

fn analyze(bytes: &[u8]) -> Result<Spec, String> {
    let (mut model, model_type) = decode_model(bytes)?;
    let description = model
        .description
        .take()
        .ok_or_else(|| "the model has no description (inputs, outputs)".to_string())?;
    let (type_number, type_payload) = model_type.ok_or_else(|| {
        "the model sets no model type (neuralNetwork, mlProgram, ...)".to_string()
    })?;
    let mut walk = Walk::default();
    walk_type(type_number, type_payload, 0, &mut walk)?;
    Ok(Spec {
        model,
        description,
        type_number,
        walk,
    })
}

#[derive(Default)]
struct Walk {
    ops: BTreeMap<String, u64>,
    /// Weights stored inside the spec (neural-network `WeightParams`).
    nn_params: u64,
    nn_param_bytes: u64,
    /// MIL weight blobs, (file name, offset) → elements its const's type declares.
    blob_refs: BTreeMap<(String, u64), u64>,
}

impl Walk {
    fn count_op(&mut self, name: &str) {
        *self.ops.entry(name.to_string()).or_default() += 1;
    }
}

type ModelType<'a> = Option<(u32, &'a [u8])>;

/// The `Model` message and its type field (number, payload).
fn decode_model(bytes: &[u8]) -> Result<(proto::Model, ModelType<'_>), String> {
    let model =
        proto::Model::decode(bytes).map_err(|e| format!("not a CoreML Model protobuf: {e}"))?;
    let fields = wire::fields(bytes).map_err(|e| format!("not a CoreML Model protobuf: {e}"))?;
    // A oneof set twice keeps the last value, as protobuf parsers do.
    let model_type = fields
        .iter()
        .rev()
        .find(|f| f.number >= proto::FIRST_MODEL_TYPE_FIELD && f.wire_type == wire::WIRE_LEN)
        .map(|f| (f.number, f.payload));
    Ok((model, model_type))
}

fn model_type_name(number: u32) -> String {
    match proto::name_of(proto::MODEL_TYPES, number) {
        Some(name) => name.to_string(),
        None => format!("unknownModelType{number}"),
    }
}

fn walk_type(number: u32, payload: &[u8], depth: usize, w: &mut Walk) -> Result<(), String> {
    use proto::*;
    match number {
        MODEL_PIPELINE_CLASSIFIER | MODEL_PIPELINE_REGRESSOR => {
            let fields = wire::fields(payload).map_err(|e| format!("pipeline: {e}"))?;
            for pipeline in wire::len_fields(&fields, PIPELINE_FIELD) {
                walk_pipeline(pipeline, depth, w)?;
            }
            Ok(())
        }
        MODEL_PIPELINE => walk_pipeline(payload, depth, w),
        MODEL_NN | MODEL_NN_CLASSIFIER | MODEL_NN_REGRESSOR => walk_network(payload, depth, w),
        MODEL_ML_PROGRAM => walk_program(payload, w),
        other => {
            w.count_op(&model_type_name(other));
            Ok(())
        }
    }
}

fn walk_pipeline(payload: &[u8], depth: usize, w: &mut Walk) -> Result<(), String> {
    if depth >= MAX_DEPTH {
        return Err(format!("pipelines nested more than {MAX_DEPTH} deep"));
    }
    let fields = wire::fields(payload).map_err(|e| format!("pipeline: {e}"))?;
    for (i, sub) in wire::len_fields(&fields, proto::PIPELINE_MODELS_FIELD).enumerate() {
        let at = |e: String| format!("pipeline model {i}: {e}");
        let (_, model_type) = decode_model(sub).map_err(at)?;
        let (number, payload) = model_type.ok_or_else(|| at("sets no model type".into()))?;
        walk_type(number, payload, depth + 1, w).map_err(at)?;
    }
    Ok(())
}

fn walk_network(payload: &[u8], depth: usize, w: &mut Walk) -> Result<(), String> {
    if depth >= MAX_DEPTH {
        return Err(format!("networks nested more than {MAX_DEPTH} deep"));
    }
    let fields = wire::fields(payload).map_err(|e| format!("neural network: {e}"))?;
    for (i, layer) in wire::len_fields(&fields, proto::NN_LAYERS_FIELD).enumerate() {
        walk_layer(i, layer, depth, w)?;
    }
    Ok(())
}

fn walk_layer(index: usize, bytes: &[u8], depth: usize, w: &mut Walk) -> Result<(), String> {
    let head = proto::NeuralNetworkLayer::decode(bytes)
        .map_err(|e| format!("layer {index}: not a NeuralNetworkLayer: {e}"))?;
    let label = if head.name.is_empty() {
        format!("layer {index}")
    } else {
        format!("layer {index} ({:?})", head.name)
    };
    let at = |e: String| format!("{label}: {e}");
    let fields = wire::fields(bytes).map_err(at)?;
    let kind = fields
        .iter()
        .rev()
        .find(|f| f.number >= proto::FIRST_LAYER_TYPE_FIELD && f.wire_type == wire::WIRE_LEN)
        .ok_or_else(|| at("sets no layer type".into()))?;
    let name = match kind.number {
        proto::LAYER_CUSTOM => {
            // A custom layer is its own op, named by the class that implements it.
            let params = proto::CustomLayerParams::decode(kind.payload)
                .map_err(|e| at(format!("custom layer parameters: {e}")))?;
            if params.class_name.is_empty() {
                "custom".to_string()
            } else {
                params.class_name
            }
        }
        n => match proto::name_of(proto::LAYER_TYPES, n) {
            Some(name) => name.to_string(),
            None => format!("unknownLayer{n}"),
        },
    };
    w.count_op(&name);
    for path in proto::weight_paths(kind.number) {
        count_weights(kind.payload, path, w).map_err(at)?;
    }
    let nested = proto::nested_networks(kind.number);
    if !nested.is_empty() {
        let params = wire::fields(kind.payload).map_err(at)?;
        for &field in nested {
            for network in wire::len_fields(&params, field) {
                walk_network(network, depth + 1, w).map_err(at)?;
            }
        }
    }
    Ok(())
}

/// Adds the `WeightParams` found along `path` (field numbers) inside `buf`.
fn count_weights(buf: &[u8], path: &[u32], w: &mut Walk) -> Result<(), String> {
    let Some((&first, rest)) = path.split_first() else {
        return Ok(());
    };
    let fields = wire::fields(buf)?;
    for payload in wire::len_fields(&fields, first) {
        if rest.is_empty() {
            let weights = proto::WeightParams::decode(payload)
                .map_err(|e| format!("weights in field {first}: {e}"))?;
            let (count, bytes) = weight_size(&weights);
            w.nn_params += count;
            w.nn_param_bytes += bytes;
        } else {
            count_weights(payload, rest, w)?;
        }
    }
    Ok(())
}

/// Elements and bytes of one `WeightParams`. Only one representation is set in a valid
/// model; summing them keeps an invalid one from hiding weights.
fn weight_size(w: &proto::WeightParams) -> (u64, u64) {
    let floats = w.float_value.len() as u64;
    let half = w.float16_value.len() as u64;
    let int8 = w.int8_raw_value.len() as u64;
    let raw = w.raw_value.len() as u64;
    // rawValue holds quantized weights packed at numberOfBits each; without quantization
    // parameters it can only be float32.
    let raw_elements = match w.quantization.as_ref().map(|q| q.number_of_bits) {
        Some(bits @ 1..=64) => raw.saturating_mul(8) / bits,
        _ => raw / 4,
    };
    (
        floats + half / 2 + int8 + raw_elements,
        floats * 4 + half + int8 + raw,
    )
}

fn walk_program(payload: &[u8], w: &mut Walk) -> Result<(), String> {
    let program = proto::Program::decode(payload)
        .map_err(|e| format!("mlProgram: not a MIL Program: {e}"))?;
    for function in program.functions.values() {
        // A function may carry one body per opset; the one for its own opset is what runs.
        let block = function
            .block_specializations
            .get(&function.opset)
            .or_else(|| function.block_specializations.values().next());
        if let Some(block) = block {
            walk_block(block, w);
        }
    }
    Ok(())
}

/// Prost's recursion limit (100 nested messages) already bounds how deep blocks can nest.
fn walk_block(block: &proto::Block, w: &mut Walk) {
    for op in &block.operations {
        w.count_op(&op.r#type);
        for value in op.attributes.values() {
            if let Some(blob) = &value.blob_file_value {
                let declared = declared_elements(value);
                w.blob_refs
                    .insert((blob.file_name.clone(), blob.offset), declared);
            }
        }
        for nested in &op.blocks {
            walk_block(nested, w);
        }
    }
}

/// Elements of a MIL value's tensor type, 0 when unknown.
fn declared_elements(value: &proto::Value) -> u64 {
    let Some(t) = value.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()) else {
        return 0;
    };
    t.dimensions
        .iter()
        .try_fold(1u64, |acc, d| match &d.kind {
            Some(proto::DimensionKind::Constant(c)) => acc.checked_mul(c.size),
            _ => None,
        })
        .unwrap_or(0)
}

// ---- MIL weight blobs -------------------------------------------------------------------------

struct BlobParams {
    count: u64,
    bytes: u64,
    /// Set when the blob files could not be parsed and the numbers are estimates.
    note: Option<String>,
}

/// Parameters in the weight files an ML program references. Blob file names are relative
/// to the model file's directory (`@model_path/weights/weight.bin`) and must stay inside
/// `root` (the package, or the directory of a bare `.mlmodel`).
fn blob_params(refs: &BTreeMap<(String, u64), u64>, model_dir: &Path, root: &Path) -> BlobParams {
    let mut problems = Vec::new();
    // Resolved path → the name the program uses, so two spellings of one file count once.
    let mut files: BTreeMap<PathBuf, &str> = BTreeMap::new();
    let names: std::collections::BTreeSet<&str> = refs.keys().map(|(n, _)| n.as_str()).collect();
    for name in names {
        match resolve_blob_file(name, model_dir, root) {
            Some(file) => {
                files.entry(file).or_insert(name);
            }
            None => problems.push(format!("{name}: not a file inside the package")),
        }
    }
    let mut parsed = blob::BlobStats::default();
    let mut file_bytes = 0;
    for (file, name) in &files {
        file_bytes += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        match blob::read_stats(file) {
            Ok(s) => {
                parsed.elements += s.elements;
                parsed.bytes += s.bytes;
            }
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    if problems.is_empty() {
        return BlobParams {
            count: parsed.elements,
            bytes: parsed.bytes,
            note: None,
        };
    }
    BlobParams {
        // Declared shapes are not bounded by any file size: saturate rather than overflow.
        count: refs.values().fold(0u64, |acc, n| acc.saturating_add(*n)),
        bytes: file_bytes,
        note: Some(format!(
            "weight blobs could not be read ({}); param_bytes is the size of the weight files \
             and param_count the element count declared by the program's constants",
            problems.join("; ")
        )),
    }
}

/// The weight file `name` refers to, canonical, or `None` if it is missing or outside `root`.
fn resolve_blob_file(name: &str, model_dir: &Path, root: &Path) -> Option<PathBuf> {
    let relative = package::safe_relative(name.strip_prefix("@model_path/").unwrap_or(name))?;
    let file = model_dir.join(relative);
    if !file.is_file() || package::check_inside(root, &file).is_err() {
        return None;
    }
    file.canonicalize().ok()
}

// ---- inputs and outputs -------------------------------------------------------------------------

/// Inputs, outputs and state names. A multi-function model (spec 9) may describe its I/O
/// only per function: then the default function's are used and the functions listed.
fn io_features(
    d: &proto::ModelDescription,
    metadata: &mut BTreeMap<String, String>,
) -> (Vec<TensorInfo>, Vec<TensorInfo>, Vec<String>) {
    let (mut inputs, mut outputs, mut states) = (&d.input, &d.output, &d.state);
    if !d.functions.is_empty() {
        let names: Vec<&str> = d.functions.iter().map(|f| f.name.as_str()).collect();
        metadata.insert("coreml.functions".to_string(), names.join(", "));
        if inputs.is_empty() && outputs.is_empty() {
            let f = d
                .functions
                .iter()
                .find(|f| f.name == d.default_function_name)
                .unwrap_or(&d.functions[0]);
            metadata.insert("coreml.function".to_string(), f.name.clone());
            (inputs, outputs, states) = (&f.input, &f.output, &f.state);
        }
    }
    let ins = inputs
        .iter()
        .map(|f| feature_info(f, "input", metadata))
        .collect();
    let outs = outputs
        .iter()
        .map(|f| feature_info(f, "output", metadata))
        .collect();
    let states = states
        .iter()
        .map(|f| {
            let t = feature_info(f, "state", metadata);
            format!("{} {} {}", t.name, t.dtype, t.shape_text())
        })
        .collect();
    (ins, outs, states)
}

/// Shape facts a [`TensorInfo`] cannot hold, kept as metadata: the default shape of a
/// flexible input and the shapes it accepts.
type Extras = Vec<(&'static str, String)>;

fn feature_info(
    f: &FeatureDescription,
    role: &str,
    metadata: &mut BTreeMap<String, String>,
) -> TensorInfo {
    let mut extras = Extras::new();
    let (dtype, shape) = match f.r#type.as_ref().and_then(|t| t.kind.as_ref()) {
        None => (DType::Other("unset".into()), None),
        Some(FeatureKind::Int64(_)) => (DType::I64, Some(vec![])),
        Some(FeatureKind::Double(_)) => (DType::F64, Some(vec![])),
        Some(FeatureKind::String(_)) => (DType::String, Some(vec![])),
        Some(FeatureKind::Image(i)) => image_info(i, &mut extras),
        Some(FeatureKind::MultiArray(a)) => array_info(a, &mut extras),
        Some(FeatureKind::State(s)) => match &s.array_type {
            Some(a) => array_info(a, &mut extras),
            None => (DType::Other("state".into()), None),
        },
        Some(FeatureKind::Dictionary(d)) => {
            let key = match d.key_type {
                Some(proto::DictionaryKey::Int64(_)) => "int64",
                Some(proto::DictionaryKey::String(_)) => "string",
                None => "?",
            };
            // Dictionary values are always doubles in CoreML.
            (DType::Other(format!("dictionary<{key},double>")), None)
        }
        Some(FeatureKind::Sequence(s)) => {
            let element = match s.element {
                Some(proto::SequenceElement::Int64(_)) => "int64",
                Some(proto::SequenceElement::String(_)) => "string",
                None => "?",
            };
            let len = s.size_range.as_ref().map_or(Dim::Unknown, range_dim);
            (
                DType::Other(format!("sequence<{element}>")),
                Some(vec![len]),
            )
        }
    };
    for (what, text) in extras {
        metadata.insert(format!("coreml.{role}.{}.{what}", f.name), text);
    }
    TensorInfo {
        tensor_name: None,
        name: f.name.clone(),
        dtype,
        shape,
        quantization: None,
    }
}

fn array_dtype(data_type: i32) -> DType {
    match data_type {
        proto::ARRAY_FLOAT32 => DType::F32,
        proto::ARRAY_FLOAT16 => DType::F16,
        proto::ARRAY_DOUBLE => DType::F64,
        proto::ARRAY_INT32 => DType::I32,
        proto::ARRAY_INT8 => DType::I8,
        0 => DType::Other("unspecified".into()),
        other => DType::Other(format!("ArrayDataType({other})")),
    }
}

fn fixed_dim(v: i64) -> Dim {
    match u64::try_from(v) {
        Ok(n) if n > 0 => Dim::Fixed(n),
        _ => Dim::Unknown,
    }
}

fn range_dim(r: &proto::SizeRange) -> Dim {
    if i64::try_from(r.lower_bound).is_ok_and(|lo| lo == r.upper_bound) {
        fixed_dim(r.upper_bound)
    } else {
        Dim::Unknown
    }
}

/// The extent every value agrees on, or unknown.
fn agreed(mut values: impl Iterator<Item = i64>) -> Dim {
    let Some(first) = values.next() else {
        return Dim::Unknown;
    };
    if values.all(|v| v == first) {
        fixed_dim(first)
    } else {
        Dim::Unknown
    }
}

fn range_text(r: &proto::SizeRange) -> String {
    match r.upper_bound {
        u if u < 0 => format!("{}..", r.lower_bound),
        u if i64::try_from(r.lower_bound).is_ok_and(|lo| lo == u) => u.to_string(),
        u => format!("{}..{u}", r.lower_bound),
    }
}

fn list_text<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    let parts: Vec<String> = items.into_iter().map(|t| t.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

fn array_info(a: &proto::ArrayFeatureType, extras: &mut Extras) -> (DType, Option<Vec<Dim>>) {
    let default = &a.shape;
    let default_shape =
        || (!default.is_empty()).then(|| default.iter().map(|&d| fixed_dim(d)).collect());
    let shape = match &a.shape_flexibility {
        Some(proto::ShapeFlexibility::ShapeRange(r)) if !r.size_ranges.is_empty() => {
            extras.push((
                "shape_range",
                list_text(r.size_ranges.iter().map(range_text)),
            ));
            Some(r.size_ranges.iter().map(range_dim).collect())
        }
        Some(proto::ShapeFlexibility::EnumeratedShapes(e)) if !e.shapes.is_empty() => {
            let texts: Vec<String> = e.shapes.iter().map(|s| list_text(&s.shape)).collect();
            extras.push(("enumerated_shapes", texts.join(", ")));
            let mut all: Vec<&[i64]> = e.shapes.iter().map(|s| s.shape.as_slice()).collect();
            if !default.is_empty() {
                all.push(default);
            }
            let rank = all[0].len();
            // Shapes of different ranks leave even the rank open.
            all.iter().all(|s| s.len() == rank).then(|| {
                (0..rank)
                    .map(|i| agreed(all.iter().map(|s| s[i])))
                    .collect()
            })
        }
        _ => default_shape(),
    };
    if a.shape_flexibility.is_some() && !default.is_empty() {
        extras.push(("default_shape", list_text(default)));
    }
    (array_dtype(a.data_type), shape)
}

/// An image is a `[1, C, H, W]` tensor to the model; C follows from the color space.
fn image_info(i: &proto::ImageFeatureType, extras: &mut Extras) -> (DType, Option<Vec<Dim>>) {
    let color = match proto::color_space_name(i.color_space) {
        Some(name) => name.to_string(),
        None => format!("colorSpace {}", i.color_space),
    };
    let channels = match i.color_space {
        proto::COLOR_GRAYSCALE | proto::COLOR_GRAYSCALE_FLOAT16 => Dim::Fixed(1),
        proto::COLOR_RGB | proto::COLOR_BGR => Dim::Fixed(3),
        _ => Dim::Unknown,
    };
    let (mut height, mut width) = (fixed_dim(i.height), fixed_dim(i.width));
    match &i.size_flexibility {
        Some(proto::ImageSizeFlexibility::EnumeratedSizes(e)) if !e.sizes.is_empty() => {
            let as_i64 = |v: u64| i64::try_from(v).unwrap_or(-1);
            let defaults = |d: i64| (d > 0).then_some(d);
            height = agreed(
                e.sizes
                    .iter()
                    .map(|s| as_i64(s.height))
                    .chain(defaults(i.height)),
            );
            width = agreed(
                e.sizes
                    .iter()
                    .map(|s| as_i64(s.width))
                    .chain(defaults(i.width)),
            );
            let sizes: Vec<String> = e
                .sizes
                .iter()
                .map(|s| format!("{}x{}", s.width, s.height))
                .collect();
            extras.push(("enumerated_sizes", sizes.join(", ")));
        }
        Some(proto::ImageSizeFlexibility::ImageSizeRange(r)) => {
            let (w, h) = (r.width_range.as_ref(), r.height_range.as_ref());
            if let Some(w) = w {
                width = range_dim(w);
            }
            if let Some(h) = h {
                height = range_dim(h);
            }
            let text = |r: Option<&proto::SizeRange>| r.map_or("?".to_string(), range_text);
            extras.push((
                "size_range",
                format!("width {}, height {}", text(w), text(h)),
            ));
        }
        _ => {}
    }
    if i.size_flexibility.is_some() {
        extras.push(("default_size", format!("{}x{}", i.width, i.height)));
    }
    (
        DType::Other(format!("image({color})")),
        Some(vec![Dim::Fixed(1), channels, height, width]),
    )
}
