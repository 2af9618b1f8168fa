//! TFLite (LiteRT) `.tflite` models: a verified, bounds-checked flatbuffer reader and its
//! [`ModelInfo`] summary.
//!
//! The file is checked by the `flatbuffers` verifier before any field is read, and every index
//! it contains (tensors, operator codes, buffers, subgraphs) is checked against what it points
//! into, so any input yields a model or an [`IrError::Malformed`], never a panic.

mod model;
mod names;
mod schema;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::detect::{FormatReader, Sniff};
use crate::{
    content_hash, path_size, FormatDetails, IrError, ModelFormat, ModelInfo, Quantization, Result,
    TensorInfo,
};

pub use model::{
    Buffer, Metadata, Operator, OperatorCode, QuantizationParams, SignatureDef, Subgraph, Tensor,
    TensorMap, TfliteModel,
};
pub use names::{
    builtin_operator_label, builtin_operator_name, tensor_type_name, tensor_type_to_dtype, CUSTOM,
};

const FORMAT: &str = "TFLite";

/// Metadata longer than this is summarised as `<N bytes>`: long entries are binary blobs
/// (`TFLITE_METADATA`, `CONVERSION_METADATA`), not text worth showing.
const METADATA_TEXT_MAX: usize = 256;

/// The TFLite format: `.tflite` files, recognised by the `TFL3` flatbuffer identifier.
pub struct TfliteReader;

impl FormatReader for TfliteReader {
    fn format(&self) -> ModelFormat {
        ModelFormat::Tflite
    }

    fn display_name(&self) -> &'static str {
        FORMAT
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["tflite"]
    }

    fn sniff(&self, _path: &Path, head: Option<&[u8]>) -> Sniff {
        match head {
            Some(h) if h.get(4..8) == Some(b"TFL3") => Sniff::Yes,
            _ => Sniff::No,
        }
    }

    fn inspect(&self, path: &Path) -> Result<ModelInfo> {
        let (data, file_len) = read_flatbuffer(path)?;
        let model =
            model::parse(&data, file_len).map_err(|d| IrError::malformed(path, FORMAT, d))?;
        summarize(path, &data, &model, path_size(path)?, content_hash(path)?)
    }
}

/// Reads and parses a `.tflite` file.
pub fn read_model(path: &Path) -> Result<TfliteModel> {
    let (data, file_len) = read_flatbuffer(path)?;
    model::parse(&data, file_len).map_err(|d| IrError::malformed(path, FORMAT, d))
}

/// Parses the complete content of a `.tflite` file held in memory; `path` only names it in
/// errors.
pub fn parse_model(path: &Path, data: &[u8]) -> Result<TfliteModel> {
    if data.is_empty() {
        return Err(IrError::Empty {
            path: path.to_owned(),
        });
    }
    model::parse(data, data.len() as u64).map_err(|d| IrError::malformed(path, FORMAT, d))
}

/// The file's first bytes, up to the largest possible flatbuffer, and the file's length.
/// Anything past 2 GB can only be external weight data, which inspection does not need.
fn read_flatbuffer(path: &Path) -> Result<(Vec<u8>, u64)> {
    let meta = std::fs::metadata(path).map_err(|e| IrError::io(path, e))?;
    if meta.is_dir() {
        return Err(IrError::malformed(
            path,
            FORMAT,
            "a directory, not a .tflite file",
        ));
    }
    let file = File::open(path).map_err(|e| IrError::io(path, e))?;
    let limit = meta.len().min(schema::MAX_FLATBUFFER_SIZE as u64);
    let mut data = Vec::with_capacity(limit as usize);
    file.take(limit)
        .read_to_end(&mut data)
        .map_err(|e| IrError::io(path, e))?;
    if data.is_empty() {
        return Err(IrError::Empty {
            path: path.to_owned(),
        });
    }
    // The file may have changed length since `metadata`; trust what was read if it is shorter.
    let file_len = if (data.len() as u64) < limit {
        data.len() as u64
    } else {
        meta.len()
    };
    Ok((data, file_len))
}

fn summarize(
    path: &Path,
    data: &[u8],
    model: &TfliteModel,
    file_size: u64,
    sha256: String,
) -> Result<ModelInfo> {
    let Some(primary) = model.primary_subgraph() else {
        return Err(IrError::malformed(
            path,
            FORMAT,
            "the model has no subgraphs",
        ));
    };
    // Users, LiteRT and Python's signature runners call inputs by their signature names;
    // the tensor names stay as aliases.
    let io = |indices: &[usize]| -> Vec<TensorInfo> {
        indices
            .iter()
            .map(|&i| {
                let mut info = tensor_info(&primary.tensors[i]);
                if let Some(name) = model.primary_name(i).filter(|n| *n != info.name) {
                    info.tensor_name = Some(std::mem::replace(&mut info.name, name));
                }
                info
            })
            .collect()
    };
    let (inputs, outputs) = (io(&primary.inputs), io(&primary.outputs));

    let mut ops = BTreeMap::new();
    for op in model.subgraphs.iter().flat_map(|sg| &sg.operators) {
        *ops.entry(model.operator_codes[op.opcode_index].name())
            .or_insert(0u64) += 1;
    }

    let (param_count, param_bytes) = weights(model);

    let mut metadata = BTreeMap::new();
    for m in &model.metadata {
        metadata.insert(
            m.name.clone(),
            metadata_text(path, data, &model.buffers[m.buffer])?,
        );
    }

    let mut custom_ops: Vec<String> = model
        .operator_codes
        .iter()
        .filter(|c| c.is_custom())
        .map(OperatorCode::name)
        .collect();
    custom_ops.sort();
    custom_ops.dedup();

    Ok(ModelInfo {
        path: path.display().to_string(),
        format: ModelFormat::Tflite,
        producer: Some(model.description.clone()).filter(|d| !d.is_empty()),
        inputs,
        outputs,
        ops,
        param_count,
        param_bytes,
        file_size,
        sha256,
        metadata,
        details: FormatDetails::Tflite {
            schema_version: model.version,
            description: model.description.clone(),
            subgraph_count: count_u32(model.subgraphs.len()),
            signatures: model.signature_defs.iter().map(|s| s.key.clone()).collect(),
            custom_ops,
            buffer_count: count_u32(model.buffers.len()),
        },
    })
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn tensor_info(t: &Tensor) -> TensorInfo {
    TensorInfo {
        tensor_name: None,
        name: t.name.clone(),
        dtype: t.dtype.clone(),
        // The runtime treats an empty shape as a scalar whatever `has_rank` says (old
        // converters never set it), so mlgate does too.
        shape: Some(t.dims()),
        quantization: t
            .quantization
            .as_ref()
            .filter(|q| !q.scale.is_empty())
            .map(|q| Quantization {
                scale: q.scale.clone(),
                zero_point: q.zero_point.clone(),
                axis: (q.scale.len() > 1).then_some(q.quantized_dimension),
            }),
    }
}

/// Elements and bytes of constant data, each buffer counted once however many tensors (in
/// however many subgraphs) share it.
fn weights(model: &TfliteModel) -> (u64, u64) {
    let mut seen = vec![false; model.buffers.len()];
    let (mut count, mut bytes) = (0u64, 0u64);
    for t in model.subgraphs.iter().flat_map(|sg| &sg.tensors) {
        let i = t.buffer as usize;
        let Some(buf) = model.buffers.get(i).filter(|b| !b.is_empty()) else {
            continue;
        };
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        bytes = bytes.saturating_add(buf.len);
        let elements = t
            .element_count()
            .unwrap_or_else(|| match t.dtype.size_bytes() {
                Some(size) => buf.len / size,
                None => 0,
            });
        count = count.saturating_add(elements);
    }
    (count, bytes)
}

/// A metadata buffer as text when it is short, printable UTF-8 (trailing NUL padding, as in
/// `min_runtime_version`, dropped), else `<N bytes>`.
fn metadata_text(path: &Path, data: &[u8], buf: &Buffer) -> Result<String> {
    let summary = || format!("<{} bytes>", buf.len);
    if buf.len > METADATA_TEXT_MAX as u64 {
        return Ok(summary());
    }
    let len = buf.len as usize;
    let loaded = usize::try_from(buf.offset)
        .ok()
        .and_then(|start| data.get(start..start.checked_add(len)?));
    let bytes = match loaded {
        Some(b) => b.to_vec(),
        // Only external data past the 2 GB prefix is not already loaded.
        None => read_range(path, buf.offset, len)?,
    };
    let trimmed = match bytes.iter().rposition(|&b| b != 0) {
        Some(last) => &bytes[..=last],
        None => &bytes[..0],
    };
    Ok(match std::str::from_utf8(trimmed) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_string(),
        _ => summary(),
    })
}

fn read_range(path: &Path, offset: u64, len: usize) -> Result<Vec<u8>> {
    let mut f = File::open(path).map_err(|e| IrError::io(path, e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| IrError::io(path, e))?;
    let mut out = vec![0u8; len];
    f.read_exact(&mut out).map_err(|e| IrError::io(path, e))?;
    Ok(out)
}
