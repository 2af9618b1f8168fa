//! ONNX `.onnx` models: a complete prost model of onnx.proto ([`proto`]) that decodes and
//! re-encodes without losing fields, atomic file I/O, and the [`ModelInfo`] summary.
//!
//! Weights may live in external files next to the model (`data_location: EXTERNAL`). Their
//! locations come from the file, so they are confined to the model's directory: an absolute
//! location or one with a `..` component is rejected rather than read.

pub mod proto;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use prost::Message;

use crate::detect::{FormatReader, Sniff};
use crate::{DType, Dim, FormatDetails, IrError, ModelFormat, ModelInfo, Result, TensorInfo};
use proto::tensor_proto::{DataLocation, DataType};
use proto::tensor_shape_proto::dimension;
use proto::type_proto;
use proto::{
    GraphProto, ModelProto, NodeProto, SparseTensorProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};

const FORMAT: &str = "ONNX";

/// Decodes a serialized `ModelProto`. Nesting is bounded by prost's recursion limit, and
/// every length by the input, so hostile input cannot exhaust the stack or memory.
pub fn decode(bytes: &[u8]) -> Result<ModelProto, prost::DecodeError> {
    ModelProto::decode(bytes)
}

/// Serializes a `ModelProto` the way protobuf's reference implementations do (fields in
/// number order), so a decoded model re-encodes to the same bytes.
pub fn encode(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}

/// Reads and decodes an ONNX model file; the model must have a graph.
pub fn read_model(path: &Path) -> Result<ModelProto> {
    load(path).map(|(model, _)| model)
}

/// Writes `model` to `path` atomically: the bytes go to a temporary file in the same
/// directory, which is then renamed over `path`, so a crash or a full disk never leaves a
/// half-written model behind.
pub fn write_model(path: &Path, model: &ModelProto) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let bytes = encode(model);
    let file_name = path.file_name().ok_or_else(|| {
        IrError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // A name no other writer uses: the pid separates processes, the counter threads.
    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".{}.{n}.tmp", std::process::id()));
        let tmp = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(IrError::io(&tmp, e)),
        }
    };
    let written = file
        .write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| IrError::io(&tmp, e));
    drop(file);
    let renamed =
        written.and_then(|()| std::fs::rename(&tmp, path).map_err(|e| IrError::io(path, e)));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

/// The model and the size of its file.
fn load(path: &Path) -> Result<(ModelProto, u64)> {
    let bytes = std::fs::read(path).map_err(|e| IrError::io(path, e))?;
    if bytes.is_empty() {
        return Err(IrError::Empty {
            path: path.to_owned(),
        });
    }
    let model = decode(&bytes).map_err(|e| {
        IrError::malformed(
            path,
            FORMAT,
            format!("cannot decode the ModelProto ({e}); the file may be truncated or not an ONNX model"),
        )
    })?;
    if model.graph.is_none() {
        return Err(IrError::malformed(
            path,
            FORMAT,
            "the ModelProto has no graph; the file may be truncated or not an ONNX model",
        ));
    }
    Ok((model, bytes.len() as u64))
}

/// The ONNX [`FormatReader`].
pub struct OnnxReader;

impl FormatReader for OnnxReader {
    fn format(&self) -> ModelFormat {
        ModelFormat::Onnx
    }

    fn display_name(&self) -> &'static str {
        FORMAT
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["onnx"]
    }

    fn sniff(&self, _path: &Path, head: Option<&[u8]>) -> Sniff {
        match head {
            Some(head) => sniff_head(head),
            None => Sniff::No,
        }
    }

    fn inspect(&self, path: &Path) -> Result<ModelInfo> {
        let (model, model_size) = load(path)?;
        summarize(path, &model, model_size)
    }
}

/// Protobuf has no magic number; the best quick test is that the file starts with the tag of
/// a ModelProto field carrying the wire type that field is declared with.
fn sniff_head(head: &[u8]) -> Sniff {
    let Some(key) = read_varint(head) else {
        return Sniff::No;
    };
    let field = key >> 3;
    let wire_type = key & 7;
    const VARINT: u64 = 0;
    const LEN: u64 = 2;
    let expected = match field {
        1 | 5 => VARINT,                                  // ir_version, model_version
        2 | 3 | 4 | 6 | 7 | 8 | 14 | 20 | 25 | 26 => LEN, // strings and messages
        _ => return Sniff::No,
    };
    if wire_type == expected {
        Sniff::Maybe
    } else {
        Sniff::No
    }
}

/// A base-128 varint at the start of `bytes`, if complete and at most 10 bytes long.
fn read_varint(bytes: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().take(10).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn summarize(path: &Path, model: &ModelProto, model_size: u64) -> Result<ModelInfo> {
    let Some(graph) = model.graph.as_ref() else {
        return Err(IrError::malformed(
            path,
            FORMAT,
            "the ModelProto has no graph",
        ));
    };
    let mut external = ExternalFiles::new(path);

    // Every referenced external file is validated and hashed, including those of tensors that
    // are not weights of the inference graph (Constant attributes, training graphs, functions).
    for tensor in all_tensors(model) {
        if is_external(tensor) {
            external.tensor_bytes(tensor)?;
        }
    }

    let graphs = graphs_below(vec![graph]);
    let mut ops: BTreeMap<String, u64> = BTreeMap::new();
    for g in &graphs {
        for node in &g.node {
            *ops.entry(op_key(node)).or_default() += 1;
        }
    }

    let mut param_count = 0u64;
    let mut param_bytes = 0u64;
    let mut initializer_count = 0u64;
    let mut initializer_bytes = 0u64;
    for (i, g) in graphs.iter().enumerate() {
        let (count, bytes) = graph_params(g, &mut external)?;
        param_count = param_count.saturating_add(count);
        param_bytes = param_bytes.saturating_add(bytes);
        if i == 0 {
            initializer_count = (g.initializer.len() + g.sparse_initializer.len()) as u64;
            initializer_bytes = bytes;
        }
    }

    let initializer_names: BTreeSet<&str> = graph
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .chain(
            graph
                .sparse_initializer
                .iter()
                .filter_map(|s| s.values.as_ref()?.name.as_deref()),
        )
        .collect();
    let inputs = graph
        .input
        .iter()
        .filter(|v| !initializer_names.contains(v.name.as_deref().unwrap_or("")))
        .map(tensor_info)
        .collect();
    let outputs = graph.output.iter().map(tensor_info).collect();

    let mut opsets = BTreeMap::new();
    for opset in &model.opset_import {
        let domain = match opset.domain.as_deref().unwrap_or("") {
            "ai.onnx" => "",
            d => d,
        };
        let version = opset.version.unwrap_or(0);
        let entry = opsets.entry(domain.to_string()).or_insert(version);
        *entry = (*entry).max(version);
    }

    let metadata = model
        .metadata_props
        .iter()
        .map(|p| {
            (
                p.key.clone().unwrap_or_default(),
                p.value.clone().unwrap_or_default(),
            )
        })
        .collect();

    let producer_name = model.producer_name.clone().unwrap_or_default();
    let producer_version = model.producer_version.clone().unwrap_or_default();
    let producer = match (producer_name.trim(), producer_version.trim()) {
        ("", _) => None,
        (name, "") => Some(name.to_string()),
        (name, version) => Some(format!("{name} {version}")),
    };

    let (file_size, sha256, external_data_files) = if external.files.is_empty() {
        (model_size, crate::content_hash(path)?, Vec::new())
    } else {
        let model_name =
            path.file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| IrError::Unsupported {
                    path: path.to_owned(),
                    detail: "a model with external data needs a UTF-8 file name".into(),
                })?;
        let mut size = model_size;
        let mut names = vec![model_name.to_string()];
        for (rel, len) in &external.files {
            if rel != model_name {
                size = size.saturating_add(*len);
                names.push(rel.clone());
            }
        }
        let hash = crate::hash::hash_file_set(path, &names)?;
        (size, hash, external.files.keys().cloned().collect())
    };

    Ok(ModelInfo {
        path: path.display().to_string(),
        format: ModelFormat::Onnx,
        producer,
        inputs,
        outputs,
        ops,
        param_count,
        param_bytes,
        file_size,
        sha256,
        metadata,
        details: FormatDetails::Onnx {
            ir_version: model.ir_version.unwrap_or(0),
            opsets,
            producer_name,
            producer_version,
            graph_name: graph.name.clone().unwrap_or_default(),
            initializer_count,
            initializer_bytes,
            external_data_files,
        },
    })
}

/// Histogram key: the bare op type for the default domain, `domain:op_type` otherwise, so
/// custom ops stand out.
fn op_key(node: &NodeProto) -> String {
    let op_type = node.op_type.as_deref().unwrap_or("");
    match node.domain.as_deref().unwrap_or("") {
        "" | "ai.onnx" => op_type.to_string(),
        domain => format!("{domain}:{op_type}"),
    }
}

/// Subgraphs held by a node's GRAPH and GRAPHS attributes (If branches, Loop and Scan bodies).
fn node_subgraphs(node: &NodeProto) -> impl Iterator<Item = &GraphProto> {
    node.attribute
        .iter()
        .flat_map(|a| a.g.iter().chain(&a.graphs))
}

/// `roots` and every graph nested below them, roots first. Iterative, so the depth of nesting
/// is not limited by the stack.
fn graphs_below(roots: Vec<&GraphProto>) -> Vec<&GraphProto> {
    let mut out = Vec::new();
    let mut stack = roots;
    stack.reverse();
    while let Some(g) = stack.pop() {
        out.push(g);
        let children: Vec<&GraphProto> = g.node.iter().flat_map(node_subgraphs).collect();
        stack.extend(children.into_iter().rev());
    }
    out
}

/// Tensors held directly by a node's attributes (Constant values and the like).
fn node_tensors(node: &NodeProto) -> impl Iterator<Item = &TensorProto> {
    node.attribute.iter().flat_map(|a| {
        a.t.iter()
            .chain(&a.tensors)
            .chain(a.sparse_tensor.iter().flat_map(sparse_parts))
            .chain(a.sparse_tensors.iter().flat_map(sparse_parts))
    })
}

fn sparse_parts(s: &SparseTensorProto) -> impl Iterator<Item = &TensorProto> {
    s.values.iter().chain(&s.indices)
}

/// Every tensor stored anywhere in the model.
fn all_tensors(model: &ModelProto) -> Vec<&TensorProto> {
    let mut roots: Vec<&GraphProto> = model.graph.iter().collect();
    for info in &model.training_info {
        roots.extend(info.initialization.iter().chain(&info.algorithm));
    }
    for function in &model.functions {
        roots.extend(function.node.iter().flat_map(node_subgraphs));
    }
    let mut out = Vec::new();
    for g in graphs_below(roots) {
        out.extend(&g.initializer);
        out.extend(g.sparse_initializer.iter().flat_map(sparse_parts));
        out.extend(g.node.iter().flat_map(node_tensors));
    }
    for function in &model.functions {
        out.extend(function.node.iter().flat_map(node_tensors));
    }
    out
}

/// Element count and stored bytes of a graph's own initializers (dense and sparse).
fn graph_params(g: &GraphProto, external: &mut ExternalFiles) -> Result<(u64, u64)> {
    let mut count = 0u64;
    let mut bytes = 0u64;
    for t in &g.initializer {
        count = count.saturating_add(element_count(&t.dims));
        bytes = bytes.saturating_add(tensor_bytes(t, external)?);
    }
    for s in &g.sparse_initializer {
        // The dense element count: the parameters the tensor stands for.
        count = count.saturating_add(element_count(&s.dims));
        for part in sparse_parts(s) {
            bytes = bytes.saturating_add(tensor_bytes(part, external)?);
        }
    }
    Ok((count, bytes))
}

/// Product of the dims; a scalar has one element. Negative dims (invalid) count as zero.
fn element_count(dims: &[i64]) -> u64 {
    dims.iter()
        .map(|&d| u64::try_from(d).unwrap_or(0))
        .fold(1u64, u64::saturating_mul)
}

fn is_external(t: &TensorProto) -> bool {
    t.data_location == Some(DataLocation::External as i32)
}

fn tensor_bytes(t: &TensorProto, external: &mut ExternalFiles) -> Result<u64> {
    if is_external(t) {
        external.tensor_bytes(t)
    } else {
        Ok(inline_bytes(t))
    }
}

/// Bytes a tensor's inline data takes: `raw_data` as stored, typed fields at the width of the
/// element type (only one of them is meant to be set; summing is robust to bad files).
fn inline_bytes(t: &TensorProto) -> u64 {
    let dtype = t.data_type.and_then(|d| DataType::try_from(d).ok());
    let len = |n: usize| n as u64;
    let uint64_width = if dtype == Some(DataType::Uint32) {
        4
    } else {
        8
    };
    let int32_bits = match dtype {
        Some(DataType::Int16 | DataType::Uint16 | DataType::Float16 | DataType::Bfloat16) => 16,
        // Sub-byte types pack two or four elements into each int32_data entry's low byte.
        Some(
            DataType::Int8
            | DataType::Uint8
            | DataType::Bool
            | DataType::Float8e4m3fn
            | DataType::Float8e4m3fnuz
            | DataType::Float8e5m2
            | DataType::Float8e5m2fnuz
            | DataType::Float8e8m0
            | DataType::Int4
            | DataType::Uint4
            | DataType::Float4e2m1
            | DataType::Int2
            | DataType::Uint2,
        ) => 8,
        Some(DataType::Float6e2m3 | DataType::Float6e3m2) => 6,
        _ => 32,
    };
    let strings = t
        .string_data
        .iter()
        .fold(0u64, |acc, s| acc.saturating_add(len(s.len())));
    [
        len(t.raw_data.as_ref().map_or(0, Vec::len)),
        len(t.float_data.len()).saturating_mul(4),
        len(t.double_data.len()).saturating_mul(8),
        len(t.int64_data.len()).saturating_mul(8),
        len(t.uint64_data.len()).saturating_mul(uint64_width),
        len(t.int32_data.len())
            .saturating_mul(int32_bits)
            .div_ceil(8),
        strings,
    ]
    .into_iter()
    .fold(0u64, u64::saturating_add)
}

/// External data files of one model, checked once each.
struct ExternalFiles {
    model: PathBuf,
    dir: PathBuf,
    /// Normalised location (`/`-separated, relative to `dir`) → file size.
    files: BTreeMap<String, u64>,
}

impl ExternalFiles {
    fn new(model: &Path) -> Self {
        let dir = match model.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        ExternalFiles {
            model: model.to_path_buf(),
            dir,
            files: BTreeMap::new(),
        }
    }

    fn malformed(&self, detail: String) -> IrError {
        IrError::malformed(&self.model, FORMAT, detail)
    }

    /// Validates an external tensor's location and extent; returns the bytes it occupies.
    fn tensor_bytes(&mut self, t: &TensorProto) -> Result<u64> {
        let name = t.name.as_deref().unwrap_or("");
        let (mut location, mut offset, mut length) = (None, None, None);
        for entry in &t.external_data {
            let value = entry.value.as_deref().unwrap_or("");
            match entry.key.as_deref().unwrap_or("") {
                "location" => location = Some(value),
                "offset" => offset = Some(self.parse_u64(name, "offset", value)?),
                "length" => length = Some(self.parse_u64(name, "length", value)?),
                _ => {}
            }
        }
        let Some(location) = location else {
            return Err(self.malformed(format!(
                "tensor '{name}' is stored externally but names no location"
            )));
        };
        let rel = normalize_location(location).map_err(|why| {
            self.malformed(format!(
                "tensor '{name}' has external data location '{location}', which {why}"
            ))
        })?;
        let size = match self.files.get(&rel) {
            Some(size) => *size,
            None => {
                let full = self.dir.join(&rel);
                let meta = match std::fs::metadata(&full) {
                    Ok(meta) => meta,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(self.malformed(format!(
                            "tensor '{name}' keeps its data in {}, which does not exist; copy it next to the model",
                            full.display()
                        )));
                    }
                    Err(e) => return Err(IrError::io(&full, e)),
                };
                if !meta.is_file() {
                    return Err(self.malformed(format!(
                        "tensor '{name}' keeps its data in {}, which is not a regular file",
                        full.display()
                    )));
                }
                self.files.insert(rel.clone(), meta.len());
                meta.len()
            }
        };
        let offset = offset.unwrap_or(0);
        // Without a length the data runs to the end of the file.
        let end = match length {
            Some(length) => offset.checked_add(length),
            None => Some(size.max(offset)),
        };
        match end {
            Some(end) if end <= size => Ok(end - offset),
            _ => Err(self.malformed(format!(
                "tensor '{name}' needs bytes {offset}..{} of {rel}, which has only {size}; the file may be truncated",
                end.map_or_else(|| "2^64".to_string(), |e| e.to_string()),
            ))),
        }
    }

    fn parse_u64(&self, name: &str, key: &str, value: &str) -> Result<u64> {
        value.trim().parse().map_err(|_| {
            self.malformed(format!(
                "tensor '{name}' has external data {key} '{value}', which is not a byte count"
            ))
        })
    }
}

/// `location` as a `/`-separated path inside the model's directory, or why it is not one.
fn normalize_location(location: &str) -> std::result::Result<String, &'static str> {
    let bytes = location.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if location.starts_with(['/', '\\']) || drive || Path::new(location).is_absolute() {
        return Err("is absolute; it must be relative to the model's directory");
    }
    let mut parts = Vec::new();
    for part in location.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err("leaves the model's directory (`..`)"),
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err("names no file");
    }
    Ok(parts.join("/"))
}

fn tensor_info(v: &ValueInfoProto) -> TensorInfo {
    let ty = v.r#type.as_ref();
    let (dtype, shape) = match ty.and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => {
            (elem_dtype(t.elem_type), t.shape.as_ref().map(shape_dims))
        }
        Some(type_proto::Value::SparseTensorType(t)) => (
            DType::Other(describe_type(ty, 0)),
            t.shape.as_ref().map(shape_dims),
        ),
        _ => (DType::Other(describe_type(ty, 0)), None),
    };
    TensorInfo {
        tensor_name: None,
        name: v.name.clone().unwrap_or_default(),
        dtype,
        shape,
        quantization: None,
    }
}

fn shape_dims(shape: &TensorShapeProto) -> Vec<Dim> {
    shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(dimension::Value::DimValue(v)) if *v >= 0 => Dim::Fixed(*v as u64),
            Some(dimension::Value::DimParam(p)) if !p.is_empty() => Dim::Symbolic(p.clone()),
            _ => Dim::Unknown,
        })
        .collect()
}

fn elem_dtype(elem_type: Option<i32>) -> DType {
    let Some(dt) = elem_type.and_then(|v| DataType::try_from(v).ok()) else {
        return DType::Other(elem_name(elem_type));
    };
    match dt {
        DataType::Float => DType::F32,
        DataType::Uint8 => DType::U8,
        DataType::Int8 => DType::I8,
        DataType::Uint16 => DType::U16,
        DataType::Int16 => DType::I16,
        DataType::Int32 => DType::I32,
        DataType::Int64 => DType::I64,
        DataType::String => DType::String,
        DataType::Bool => DType::Bool,
        DataType::Float16 => DType::F16,
        DataType::Double => DType::F64,
        DataType::Uint32 => DType::U32,
        DataType::Uint64 => DType::U64,
        DataType::Complex64 => DType::Complex64,
        DataType::Complex128 => DType::Complex128,
        DataType::Bfloat16 => DType::Bf16,
        DataType::Uint4 => DType::U4,
        DataType::Int4 => DType::I4,
        DataType::Undefined
        | DataType::Float8e4m3fn
        | DataType::Float8e4m3fnuz
        | DataType::Float8e5m2
        | DataType::Float8e5m2fnuz
        | DataType::Float4e2m1
        | DataType::Float8e8m0
        | DataType::Uint2
        | DataType::Int2
        | DataType::Float6e2m3
        | DataType::Float6e3m2 => DType::Other(elem_name(elem_type)),
    }
}

/// An element type in ONNX's own spelling (`float`, `float8e4m3fn`, ...).
fn elem_name(elem_type: Option<i32>) -> String {
    match elem_type {
        None => "undefined".to_string(),
        Some(v) => match DataType::try_from(v) {
            Ok(dt) => dt.as_str_name().to_ascii_lowercase(),
            Err(_) => format!("data_type {v}"),
        },
    }
}

/// A type in ONNX's notation: `tensor(float)`, `seq(tensor(int64))`,
/// `map(string,tensor(float))`, `optional(...)`, `sparse_tensor(float)`.
fn describe_type(ty: Option<&TypeProto>, depth: usize) -> String {
    // Decoding already bounds nesting; this keeps the text short for pathological types.
    if depth > 16 {
        return "...".to_string();
    }
    let inner = |t: &Option<Box<TypeProto>>| describe_type(t.as_deref(), depth + 1);
    match ty.and_then(|t| t.value.as_ref()) {
        None => "undefined".to_string(),
        Some(type_proto::Value::TensorType(t)) => format!("tensor({})", elem_name(t.elem_type)),
        Some(type_proto::Value::SequenceType(s)) => format!("seq({})", inner(&s.elem_type)),
        Some(type_proto::Value::MapType(m)) => {
            format!("map({},{})", elem_name(m.key_type), inner(&m.value_type))
        }
        Some(type_proto::Value::OptionalType(o)) => format!("optional({})", inner(&o.elem_type)),
        Some(type_proto::Value::SparseTensorType(t)) => {
            format!("sparse_tensor({})", elem_name(t.elem_type))
        }
        Some(type_proto::Value::OpaqueType(o)) => format!(
            "opaque({},{})",
            o.domain.as_deref().unwrap_or(""),
            o.name.as_deref().unwrap_or("")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::proto::attribute_proto::AttributeType;
    use super::proto::tensor_shape_proto::Dimension;
    use super::proto::{
        AttributeProto, OperatorSetIdProto, StringStringEntryProto, TensorShapeProto,
    };
    use super::*;

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    enum D {
        V(i64),
        P(&'static str),
        None,
    }

    fn tensor_type(elem: DataType, dims: Option<&[D]>) -> TypeProto {
        let shape = dims.map(|dims| TensorShapeProto {
            dim: dims
                .iter()
                .map(|d| Dimension {
                    denotation: None,
                    value: match d {
                        D::V(v) => Some(dimension::Value::DimValue(*v)),
                        D::P(p) => Some(dimension::Value::DimParam(p.to_string())),
                        D::None => None,
                    },
                })
                .collect(),
        });
        TypeProto {
            denotation: None,
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem as i32),
                shape,
            })),
        }
    }

    fn value_info(name: &str, ty: TypeProto) -> ValueInfoProto {
        ValueInfoProto {
            name: s(name),
            r#type: Some(ty),
            ..Default::default()
        }
    }

    fn node(op: &str, domain: Option<&str>, inputs: &[&str], outputs: &[&str]) -> NodeProto {
        NodeProto {
            input: inputs.iter().map(|i| i.to_string()).collect(),
            output: outputs.iter().map(|o| o.to_string()).collect(),
            name: s(&format!("{op}_0")),
            op_type: s(op),
            domain: domain.map(str::to_string),
            ..Default::default()
        }
    }

    fn graph_attr(name: &str, g: GraphProto) -> AttributeProto {
        AttributeProto {
            name: s(name),
            r#type: Some(AttributeType::Graph as i32),
            g: Some(g),
            ..Default::default()
        }
    }

    fn float_tensor(name: &str, dims: &[i64], raw_len: usize) -> TensorProto {
        TensorProto {
            dims: dims.to_vec(),
            data_type: Some(DataType::Float as i32),
            name: s(name),
            raw_data: Some((0..raw_len).map(|i| i as u8).collect()),
            ..Default::default()
        }
    }

    /// X[batch,3,8,8] → Conv(W, B) → Relu → If(cond){ Add(one) } else { com.microsoft:Gelu }.
    fn fixture() -> ModelProto {
        let conv = NodeProto {
            attribute: vec![AttributeProto {
                name: s("kernel_shape"),
                r#type: Some(AttributeType::Ints as i32),
                ints: vec![3, 3],
                ..Default::default()
            }],
            ..node("Conv", None, &["X", "W", "B"], &["C"])
        };
        let then_branch = GraphProto {
            name: s("then"),
            node: vec![node("Add", Some("ai.onnx"), &["R", "one"], &["then_out"])],
            initializer: vec![float_tensor("one", &[1], 4)],
            output: vec![value_info("then_out", tensor_type(DataType::Float, None))],
            ..Default::default()
        };
        let else_branch = GraphProto {
            name: s("else"),
            node: vec![node("Gelu", Some("com.microsoft"), &["R"], &["else_out"])],
            output: vec![value_info("else_out", tensor_type(DataType::Float, None))],
            ..Default::default()
        };
        let if_node = NodeProto {
            attribute: vec![
                graph_attr("then_branch", then_branch),
                graph_attr("else_branch", else_branch),
            ],
            ..node("If", Some(""), &["cond"], &["Y"])
        };
        let graph = GraphProto {
            name: s("conv_relu"),
            node: vec![conv, node("Relu", None, &["C"], &["R"]), if_node],
            initializer: vec![
                float_tensor("W", &[4, 3, 3, 3], 4 * 3 * 3 * 3 * 4),
                TensorProto {
                    dims: vec![4],
                    data_type: Some(DataType::Float as i32),
                    name: s("B"),
                    float_data: vec![0.5, 1.5, -2.0, 0.0],
                    ..Default::default()
                },
            ],
            input: vec![
                value_info(
                    "X",
                    tensor_type(
                        DataType::Float,
                        Some(&[D::P("batch"), D::V(3), D::V(8), D::V(8)]),
                    ),
                ),
                // Pre-IR-4 style: an initializer also listed as an input is not a real input.
                value_info(
                    "W",
                    tensor_type(DataType::Float, Some(&[D::V(4), D::V(3), D::V(3), D::V(3)])),
                ),
                value_info("cond", tensor_type(DataType::Bool, Some(&[]))),
            ],
            output: vec![value_info(
                "Y",
                tensor_type(
                    DataType::Float,
                    Some(&[D::P("batch"), D::V(4), D::None, D::V(-1)]),
                ),
            )],
            ..Default::default()
        };
        ModelProto {
            ir_version: Some(10),
            opset_import: vec![
                OperatorSetIdProto {
                    domain: s(""),
                    version: Some(17),
                },
                OperatorSetIdProto {
                    domain: s("com.microsoft"),
                    version: Some(1),
                },
            ],
            producer_name: s("mlgate-test"),
            producer_version: s("1.0"),
            graph: Some(graph),
            metadata_props: vec![StringStringEntryProto {
                key: s("author"),
                value: s("mlgate"),
            }],
            ..Default::default()
        }
    }

    fn write(dir: &Path, name: &str, model: &ModelProto) -> PathBuf {
        let path = dir.join(name);
        write_model(&path, model).unwrap();
        path
    }

    #[test]
    fn fixture_round_trips_exactly() {
        let model = fixture();
        let bytes = encode(&model);
        let back = decode(&bytes).unwrap();
        assert_eq!(back, model);
        assert_eq!(encode(&back), bytes);
    }

    #[test]
    fn inspect_reports_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "m.onnx", &fixture());
        let info = OnnxReader.inspect(&path).unwrap();

        assert_eq!(info.path, path.display().to_string());
        assert_eq!(info.format, ModelFormat::Onnx);
        assert_eq!(info.producer.as_deref(), Some("mlgate-test 1.0"));
        let x = TensorInfo {
            tensor_name: None,
            name: "X".into(),
            dtype: DType::F32,
            shape: Some(vec![
                Dim::Symbolic("batch".into()),
                Dim::Fixed(3),
                Dim::Fixed(8),
                Dim::Fixed(8),
            ]),
            quantization: None,
        };
        let cond = TensorInfo {
            tensor_name: None,
            name: "cond".into(),
            dtype: DType::Bool,
            shape: Some(vec![]),
            quantization: None,
        };
        assert_eq!(info.inputs, vec![x, cond]);
        let y = TensorInfo {
            tensor_name: None,
            name: "Y".into(),
            dtype: DType::F32,
            shape: Some(vec![
                Dim::Symbolic("batch".into()),
                Dim::Fixed(4),
                Dim::Unknown,
                Dim::Unknown,
            ]),
            quantization: None,
        };
        assert_eq!(info.outputs, vec![y]);
        let ops: Vec<(&str, u64)> = info.ops.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            ops,
            [
                ("Add", 1),
                ("Conv", 1),
                ("If", 1),
                ("Relu", 1),
                ("com.microsoft:Gelu", 1)
            ]
        );
        assert_eq!(info.param_count, 108 + 4 + 1);
        assert_eq!(info.param_bytes, 432 + 16 + 4);
        let len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(info.file_size, len);
        assert_eq!(info.sha256, crate::content_hash(&path).unwrap());
        assert_eq!(
            info.metadata,
            BTreeMap::from([("author".to_string(), "mlgate".to_string())])
        );
        assert_eq!(
            info.details,
            FormatDetails::Onnx {
                ir_version: 10,
                opsets: BTreeMap::from([("".to_string(), 17), ("com.microsoft".to_string(), 1)]),
                producer_name: "mlgate-test".into(),
                producer_version: "1.0".into(),
                graph_name: "conv_relu".into(),
                initializer_count: 2,
                initializer_bytes: 432 + 16,
                external_data_files: vec![],
            }
        );
    }

    #[test]
    fn types_without_a_dtype_variant_are_described() {
        let seq = TypeProto {
            denotation: None,
            value: Some(type_proto::Value::SequenceType(Box::new(
                type_proto::Sequence {
                    elem_type: Some(Box::new(tensor_type(DataType::Float, None))),
                },
            ))),
        };
        let map = TypeProto {
            denotation: None,
            value: Some(type_proto::Value::MapType(Box::new(type_proto::Map {
                key_type: Some(DataType::String as i32),
                value_type: Some(Box::new(tensor_type(DataType::Int64, None))),
            }))),
        };
        let optional = TypeProto {
            denotation: None,
            value: Some(type_proto::Value::OptionalType(Box::new(
                type_proto::Optional {
                    elem_type: Some(Box::new(seq.clone())),
                },
            ))),
        };
        let sparse = TypeProto {
            denotation: None,
            value: Some(type_proto::Value::SparseTensorType(
                type_proto::SparseTensor {
                    elem_type: Some(DataType::Float as i32),
                    shape: Some(TensorShapeProto { dim: vec![] }),
                },
            )),
        };
        let cases = [
            (
                tensor_type(DataType::Float8e4m3fn, None),
                DType::Other("float8e4m3fn".into()),
                None,
            ),
            (
                tensor_type(DataType::Float4e2m1, Some(&[D::V(2)])),
                DType::Other("float4e2m1".into()),
                Some(vec![Dim::Fixed(2)]),
            ),
            (tensor_type(DataType::Int4, None), DType::I4, None),
            (tensor_type(DataType::Bfloat16, None), DType::Bf16, None),
            (seq, DType::Other("seq(tensor(float))".into()), None),
            (map, DType::Other("map(string,tensor(int64))".into()), None),
            (
                optional,
                DType::Other("optional(seq(tensor(float)))".into()),
                None,
            ),
            (
                sparse,
                DType::Other("sparse_tensor(float)".into()),
                Some(vec![]),
            ),
            (TypeProto::default(), DType::Other("undefined".into()), None),
        ];
        for (ty, dtype, shape) in cases {
            let info = tensor_info(&value_info("v", ty));
            assert_eq!((info.dtype, info.shape), (dtype, shape));
        }
        let mut unknown = tensor_type(DataType::Float, None);
        if let Some(type_proto::Value::TensorType(t)) = &mut unknown.value {
            t.elem_type = Some(99);
        }
        assert_eq!(
            tensor_info(&value_info("v", unknown)).dtype,
            DType::Other("data_type 99".into())
        );
    }

    #[test]
    fn typed_data_counts_at_element_width() {
        let t = |dt: DataType, int32: usize| TensorProto {
            data_type: Some(dt as i32),
            int32_data: vec![1; int32],
            ..Default::default()
        };
        assert_eq!(inline_bytes(&t(DataType::Int32, 3)), 12);
        assert_eq!(inline_bytes(&t(DataType::Float16, 3)), 6);
        assert_eq!(inline_bytes(&t(DataType::Int4, 3)), 3);
        assert_eq!(inline_bytes(&t(DataType::Float6e2m3, 4)), 3);
        let strings = TensorProto {
            string_data: vec![b"ab".to_vec(), b"c".to_vec()],
            ..Default::default()
        };
        assert_eq!(inline_bytes(&strings), 3);
        assert_eq!(element_count(&[]), 1);
        assert_eq!(element_count(&[2, -1]), 0);
        assert_eq!(element_count(&[i64::MAX, i64::MAX, 4]), u64::MAX);
    }

    fn err_text(r: Result<ModelInfo>) -> (IrError, String) {
        let e = r.expect_err("expected an error");
        let text = e.to_string();
        (e, text)
    }

    #[test]
    fn empty_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.onnx");
        std::fs::write(&path, b"").unwrap();
        assert!(matches!(
            OnnxReader.inspect(&path),
            Err(IrError::Empty { .. })
        ));
        assert!(matches!(read_model(&path), Err(IrError::Empty { .. })));
    }

    #[test]
    fn truncated_model_is_malformed_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = encode(&fixture());
        let path = dir.path().join("t.onnx");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let (e, text) = err_text(OnnxReader.inspect(&path));
        assert!(
            matches!(e, IrError::Malformed { format: "ONNX", .. }),
            "{e:?}"
        );
        assert!(
            text.contains("truncated") && text.contains("t.onnx"),
            "{text}"
        );
    }

    #[test]
    fn model_without_graph_is_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let model = ModelProto {
            ir_version: Some(8),
            ..Default::default()
        };
        let path = write(dir.path(), "g.onnx", &model);
        let (e, text) = err_text(OnnxReader.inspect(&path));
        assert!(matches!(e, IrError::Malformed { .. }));
        assert!(text.contains("no graph"), "{text}");
    }

    #[test]
    fn random_and_mangled_input_never_panics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.onnx");
        let valid = encode(&fixture());
        let mut rng = crate::rng::SplitMix64::new(0x9e37_79b9_7f4a_7c15);
        for round in 0..600 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                let len = (rng.next_u64() % 512) as usize;
                (0..len).map(|_| rng.next_u64() as u8).collect()
            } else {
                let mut b = valid.clone();
                for _ in 0..1 + rng.next_u64() % 4 {
                    let i = (rng.next_u64() % b.len() as u64) as usize;
                    b[i] = rng.next_u64() as u8;
                }
                b.truncate((rng.next_u64() % (b.len() as u64 + 1)) as usize);
                b
            };
            std::fs::write(&path, &bytes).unwrap();
            let _ = OnnxReader.inspect(&path);
            let _ = OnnxReader.sniff(&path, Some(&bytes[..bytes.len().min(64)]));
        }
        for cut in 0..valid.len() {
            std::fs::write(&path, &valid[..cut]).unwrap();
            let _ = OnnxReader.inspect(&path);
        }
    }

    /// The fixture with `W` moved to an external file.
    fn external_fixture(location: &str, offset: Option<u64>, length: Option<u64>) -> ModelProto {
        let mut model = fixture();
        let w = &mut model.graph.as_mut().unwrap().initializer[0];
        w.raw_data = None;
        w.data_location = Some(DataLocation::External as i32);
        let entry = |k: &str, v: String| StringStringEntryProto {
            key: s(k),
            value: Some(v),
        };
        w.external_data
            .push(entry("location", location.to_string()));
        if let Some(o) = offset {
            w.external_data.push(entry("offset", o.to_string()));
        }
        if let Some(l) = length {
            w.external_data.push(entry("length", l.to_string()));
        }
        model
    }

    #[test]
    fn external_data_is_counted_sized_and_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let weights = dir.path().join("weights.bin");
        std::fs::write(&weights, vec![7u8; 4096 + 432]).unwrap();
        let path = write(
            dir.path(),
            "x.onnx",
            &external_fixture("./weights.bin", Some(4096), Some(432)),
        );
        let info = OnnxReader.inspect(&path).unwrap();
        let model_len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(info.param_count, 113);
        assert_eq!(info.param_bytes, 432 + 16 + 4);
        assert_eq!(info.file_size, model_len + 4096 + 432);
        let FormatDetails::Onnx {
            external_data_files,
            initializer_bytes,
            ..
        } = &info.details
        else {
            panic!("not ONNX details");
        };
        assert_eq!(external_data_files, &["weights.bin".to_string()]);
        assert_eq!(*initializer_bytes, 432 + 16);
        let expected =
            crate::hash::hash_file_set(&path, &["x.onnx".into(), "weights.bin".into()]).unwrap();
        assert_eq!(info.sha256, expected);
        assert_ne!(info.sha256, crate::content_hash(&path).unwrap());

        // Same size, different content: the hash must notice.
        std::fs::write(&weights, vec![8u8; 4096 + 432]).unwrap();
        let changed = OnnxReader.inspect(&path).unwrap();
        assert_ne!(changed.sha256, info.sha256);
        assert_eq!(changed.file_size, info.file_size);

        // Without a length the data runs to the end of the file.
        write(
            dir.path(),
            "x.onnx",
            &external_fixture("weights.bin", Some(4096), None),
        );
        assert_eq!(OnnxReader.inspect(&path).unwrap().param_bytes, 432 + 16 + 4);
    }

    #[test]
    fn external_data_past_the_end_is_reported_as_truncated() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.bin"), vec![0u8; 100]).unwrap();
        let path = write(
            dir.path(),
            "m.onnx",
            &external_fixture("w.bin", Some(0), Some(432)),
        );
        let (e, text) = err_text(OnnxReader.inspect(&path));
        assert!(matches!(e, IrError::Malformed { .. }));
        assert!(
            text.contains("truncated") && text.contains("w.bin"),
            "{text}"
        );
        let path = write(
            dir.path(),
            "m.onnx",
            &external_fixture("w.bin", Some(u64::MAX), Some(2)),
        );
        assert!(matches!(
            OnnxReader.inspect(&path),
            Err(IrError::Malformed { .. })
        ));
        let path = write(
            dir.path(),
            "m.onnx",
            &external_fixture("w.bin", Some(200), None),
        );
        assert!(matches!(
            OnnxReader.inspect(&path),
            Err(IrError::Malformed { .. })
        ));
    }

    #[test]
    fn missing_external_file_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "m.onnx",
            &external_fixture("gone.bin", None, None),
        );
        let (e, text) = err_text(OnnxReader.inspect(&path));
        assert!(matches!(e, IrError::Malformed { .. }));
        assert!(
            text.contains("m.onnx") && text.contains("gone.bin"),
            "{text}"
        );
    }

    #[test]
    fn external_locations_outside_the_model_directory_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        // The escape target exists, so only the location check can stop it.
        std::fs::write(dir.path().join("escape.bin"), vec![0u8; 432]).unwrap();
        for location in [
            "../escape.bin",
            "a/../../escape.bin",
            "..\\escape.bin",
            "/etc/passwd",
            "C:\\w.bin",
            "",
            "./",
        ] {
            let path = write(&inner, "m.onnx", &external_fixture(location, None, None));
            let (e, text) = err_text(OnnxReader.inspect(&path));
            assert!(matches!(e, IrError::Malformed { .. }), "{location}: {e:?}");
            assert!(text.contains(&format!("'{location}'")), "{text}");
        }
    }

    #[test]
    fn bad_external_offset_is_malformed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.bin"), vec![0u8; 432]).unwrap();
        let mut model = external_fixture("w.bin", None, None);
        model.graph.as_mut().unwrap().initializer[0]
            .external_data
            .push(StringStringEntryProto {
                key: s("offset"),
                value: s("-5"),
            });
        let path = write(dir.path(), "m.onnx", &model);
        let (_, text) = err_text(OnnxReader.inspect(&path));
        assert!(text.contains("offset '-5'"), "{text}");
    }

    #[test]
    fn write_model_replaces_atomically_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.onnx");
        std::fs::write(&path, b"old").unwrap();
        let model = fixture();
        write_model(&path, &model).unwrap();
        assert_eq!(read_model(&path).unwrap(), model);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["w.onnx"]);
        let missing_dir = dir.path().join("no/such/dir/w.onnx");
        assert!(write_model(&missing_dir, &model).is_err());
    }

    #[test]
    fn sniff_accepts_model_field_tags_only() {
        let head = encode(&fixture());
        let p = Path::new("x");
        assert_eq!(OnnxReader.sniff(p, Some(&head[..64])), Sniff::Maybe);
        assert_eq!(OnnxReader.sniff(p, Some(&[0x3a, 0x05])), Sniff::Maybe); // graph first
        assert_eq!(OnnxReader.sniff(p, None), Sniff::No);
        assert_eq!(OnnxReader.sniff(p, Some(&[])), Sniff::No);
        // A TFLite file starts with a root table offset, e.g. 0x1c: field 3, wire type 4.
        assert_eq!(
            OnnxReader.sniff(p, Some(&[0x1c, 0, 0, 0, b'T', b'F', b'L', b'3'])),
            Sniff::No
        );
        assert_eq!(OnnxReader.sniff(p, Some(&[0x0a])), Sniff::No); // field 1 as a string
        assert_eq!(OnnxReader.sniff(p, Some(&[0x80, 0x80])), Sniff::No); // incomplete varint
        assert_eq!(OnnxReader.sniff(p, Some(b"PK\x03\x04")), Sniff::No);
    }
}
