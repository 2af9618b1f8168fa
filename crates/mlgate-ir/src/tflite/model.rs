//! A TFLite model as plain Rust values, built from a verified flatbuffer with every index the
//! file contains checked against what it points into.

use crate::{DType, Dim};

use super::names::{builtin_operator_label, tensor_type_to_dtype, CUSTOM};
use super::schema::{self, MAX_FLATBUFFER_SIZE, TENSOR_SPARSITY};

/// A parsed `.tflite` file. Weight bytes are not copied: [`Buffer`] says where they lie in the
/// file.
#[derive(Debug, Clone, PartialEq)]
pub struct TfliteModel {
    /// `Model.version`, the schema version (3 for every current file).
    pub version: u32,
    /// `Model.description`, e.g. `MLIR Converted.`; empty when absent.
    pub description: String,
    pub operator_codes: Vec<OperatorCode>,
    /// Subgraph 0 is the primary one, the graph the interpreter runs by default.
    pub subgraphs: Vec<Subgraph>,
    pub buffers: Vec<Buffer>,
    pub metadata: Vec<Metadata>,
    pub signature_defs: Vec<SignatureDef>,
    /// Length of the whole file, external weight data included.
    pub file_size: u64,
}

/// One entry of `Model.operator_codes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCode {
    /// The effective `BuiltinOperator`: the larger of `deprecated_builtin_code` and
    /// `builtin_code`, as the runtime reads it (old files set only the former, codes ≥ 127 live
    /// only in the latter).
    pub builtin_code: i32,
    /// `custom_code`; set for `CUSTOM` operators (and Flex ops, `Flex…`).
    pub custom_code: Option<String>,
    /// Operator version (default 1).
    pub version: i32,
}

impl OperatorCode {
    pub fn is_custom(&self) -> bool {
        self.builtin_code == CUSTOM
    }

    /// The op's name: the builtin's schema name (`CONV_2D`, or `BUILTIN_<n>` for a code this
    /// build does not know), or for a custom op its `custom_code` (`CUSTOM` when that is
    /// missing).
    pub fn name(&self) -> String {
        if self.is_custom() {
            match &self.custom_code {
                Some(c) if !c.is_empty() => c.clone(),
                _ => "CUSTOM".to_string(),
            }
        } else {
            builtin_operator_label(self.builtin_code)
        }
    }
}

/// One `SubGraph`. Tensor references are indices into [`Subgraph::tensors`], already checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Subgraph {
    pub name: String,
    pub tensors: Vec<Tensor>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    /// In execution order.
    pub operators: Vec<Operator>,
}

/// One `Tensor`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    /// The raw `TensorType` value; see [`super::tensor_type_name`].
    pub tensor_type: i8,
    pub dtype: DType,
    /// `shape`: the extents the model was converted with (dynamic dimensions appear as 1).
    pub shape: Vec<i32>,
    /// `shape_signature` when the file has a non-empty one: dynamic dimensions are -1.
    pub shape_signature: Option<Vec<i32>>,
    /// Index into [`TfliteModel::buffers`], checked; 0 (the empty sentinel) for tensors
    /// without constant data.
    pub buffer: u32,
    pub quantization: Option<QuantizationParams>,
    pub is_variable: bool,
    /// The tensor carries `SparsityParameters` (its buffer is stored compressed).
    pub is_sparse: bool,
    pub has_rank: bool,
}

impl Tensor {
    /// The shape with dynamic dimensions as [`Dim::Unknown`]: from `shape_signature` when
    /// present, as the runtime reports it, else from `shape`.
    pub fn dims(&self) -> Vec<Dim> {
        self.shape_signature
            .as_deref()
            .unwrap_or(&self.shape)
            .iter()
            .map(|&d| u64::try_from(d).map_or(Dim::Unknown, Dim::Fixed))
            .collect()
    }

    /// Elements by `shape` (1 for a scalar); `None` if a dimension is negative.
    pub fn element_count(&self) -> Option<u64> {
        self.shape.iter().try_fold(1u64, |acc, &d| {
            Some(acc.saturating_mul(u64::try_from(d).ok()?))
        })
    }
}

/// `QuantizationParameters`. Affine quantization means `real = scale * (q - zero_point)`,
/// per tensor (one scale) or per channel along `quantized_dimension`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizationParams {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: i32,
    /// The `details` union's type (0 none, 1 `CustomQuantization`, 2 `BlockwiseQuantization`,
    /// 3 `MultiAxisQuantization`); when set, the affine fields do not describe the tensor.
    pub details_type: u8,
}

impl QuantizationParams {
    /// Affine parameters are present (the runtime ignores them otherwise).
    pub fn is_affine(&self) -> bool {
        !self.scale.is_empty() && self.details_type == 0
    }
}

/// One `Operator`. `None` in `inputs`/`outputs` is an omitted optional tensor (-1 in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Index into [`TfliteModel::operator_codes`], checked.
    pub opcode_index: usize,
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<Option<usize>>,
    /// Tensors internal to the op (LSTM gates, …).
    pub intermediates: Vec<usize>,
}

/// Where a `Buffer`'s bytes lie in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    /// Absolute file offset of the first byte (0 when empty).
    pub offset: u64,
    pub len: u64,
    /// Stored after the flatbuffer (`Buffer.offset`/`size`, used by models over 2 GB) rather
    /// than inline in `Buffer.data`.
    pub external: bool,
}

impl Buffer {
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One `Metadata` entry: a name and the buffer holding its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    /// Index into [`TfliteModel::buffers`], checked.
    pub buffer: usize,
}

/// One `SignatureDef`: named entry points into a subgraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureDef {
    pub key: String,
    /// Index into [`TfliteModel::subgraphs`], checked.
    pub subgraph_index: usize,
    pub inputs: Vec<TensorMap>,
    pub outputs: Vec<TensorMap>,
}

/// A signature's name for a tensor of its subgraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorMap {
    pub name: String,
    /// Index into the signature's subgraph's tensors, checked.
    pub tensor_index: usize,
}

impl TfliteModel {
    /// The primary subgraph, the one the interpreter runs.
    pub fn primary_subgraph(&self) -> Option<&Subgraph> {
        self.subgraphs.first()
    }

    /// The signature a runtime runs by default — the first, LiteRT's signature 0 — when it
    /// is over the primary subgraph: its names for that subgraph's tensors.
    pub fn primary_signature(&self) -> Option<&SignatureDef> {
        self.signature_defs
            .first()
            .filter(|s| s.subgraph_index == 0)
    }

    /// What users call tensor `index` of the primary subgraph: its name in the primary
    /// signature when it has one there, else its own name.
    pub fn primary_name(&self, index: usize) -> Option<String> {
        let sg = self.primary_subgraph()?;
        let own = &sg.tensors.get(index)?.name;
        let named = self.primary_signature().and_then(|s| {
            s.inputs
                .iter()
                .chain(&s.outputs)
                .find(|m| m.tensor_index == index)
        });
        Some(named.map_or_else(|| own.clone(), |m| m.name.clone()))
    }

    /// The buffer holding a tensor's constant data, if it has any.
    pub fn tensor_buffer(&self, tensor: &Tensor) -> Option<&Buffer> {
        self.buffers
            .get(tensor.buffer as usize)
            .filter(|b| !b.is_empty())
    }

    /// The bytes of buffer `index` within `file`, the whole file's content; `None` when the
    /// index is out of range or `file` is shorter than this model's file.
    pub fn buffer_bytes<'d>(&self, file: &'d [u8], index: usize) -> Option<&'d [u8]> {
        let b = self.buffers.get(index)?;
        let start = usize::try_from(b.offset).ok()?;
        let end = start.checked_add(usize::try_from(b.len).ok()?)?;
        file.get(start..end)
    }
}

/// Parses `data`, the start of a file `file_len` bytes long (the flatbuffer can not reach past
/// 2 GB, so a longer file's tail, which holds only external weights, need not be loaded).
/// Errors are a description of what is wrong, for [`crate::IrError::Malformed`].
pub(super) fn parse(data: &[u8], file_len: u64) -> Result<TfliteModel, String> {
    if data.len() < 8 {
        return Err(format!(
            "{} bytes is too short for a TFLite flatbuffer (root offset and `TFL3` identifier)",
            data.len()
        ));
    }
    if &data[4..8] != b"TFL3" {
        return Err(format!(
            "bad file identifier {:?} at bytes 4..8, expected \"TFL3\"",
            String::from_utf8_lossy(&data[4..8])
        ));
    }
    let data = &data[..data.len().min(MAX_FLATBUFFER_SIZE)];
    let root =
        schema::verified_root(data).map_err(|e| format!("flatbuffer verification failed: {e}"))?;

    let operator_codes: Vec<OperatorCode> = root
        .operator_codes()
        .map(|v| {
            v.iter()
                .map(|c| OperatorCode {
                    builtin_code: c.builtin_code().max(i32::from(c.deprecated_builtin_code())),
                    custom_code: c.custom_code().map(|s| schema::string(Some(s))),
                    version: c.version(),
                })
                .collect()
        })
        .unwrap_or_default();

    let buffers: Vec<Buffer> = root
        .buffers()
        .map(|v| {
            v.iter()
                .enumerate()
                .map(|(i, b)| buffer(data, file_len, i, b))
                .collect::<Result<_, _>>()
        })
        .transpose()?
        .unwrap_or_default();

    let subgraphs = root
        .subgraphs()
        .map(|v| {
            v.iter()
                .enumerate()
                .map(|(i, sg)| subgraph(i, sg, operator_codes.len(), &buffers))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();

    let metadata = root
        .metadata()
        .map(|v| {
            v.iter()
                .map(|m| {
                    let name = schema::string(m.name());
                    let buffer = m.buffer() as usize;
                    if buffer >= buffers.len() {
                        return Err(format!(
                            "metadata {name:?}: buffer index {buffer} out of range ({} buffers)",
                            buffers.len()
                        ));
                    }
                    Ok(Metadata { name, buffer })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();

    let signature_defs = root
        .signature_defs()
        .map(|v| {
            v.iter()
                .map(|s| signature_def(s, &subgraphs))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();

    Ok(TfliteModel {
        version: root.version(),
        description: schema::string(root.description()),
        operator_codes,
        subgraphs,
        buffers,
        metadata,
        signature_defs,
        file_size: file_len,
    })
}

fn buffer(
    data: &[u8],
    file_len: u64,
    index: usize,
    b: schema::Buffer<'_>,
) -> Result<Buffer, String> {
    // The schema reserves offsets 0 and 1 to mean "no external data".
    if b.offset() > 1 {
        let (offset, len) = (b.offset(), b.size());
        return match offset.checked_add(len) {
            Some(end) if end <= file_len => Ok(Buffer { offset, len, external: true }),
            _ => Err(format!(
                "buffer {index}: external data at offset {offset} with size {len} lies beyond the end of the file ({file_len} bytes)"
            )),
        };
    }
    let bytes = schema::bytes(b.data());
    if bytes.is_empty() {
        return Ok(Buffer {
            offset: 0,
            len: 0,
            external: false,
        });
    }
    // The verifier proved `bytes` lies inside `data`, so this difference is its file offset.
    let offset = bytes.as_ptr().addr() - data.as_ptr().addr();
    Ok(Buffer {
        offset: offset as u64,
        len: bytes.len() as u64,
        external: false,
    })
}

fn subgraph(
    index: usize,
    sg: schema::SubGraph<'_>,
    opcode_count: usize,
    buffers: &[Buffer],
) -> Result<Subgraph, String> {
    let name = schema::string(sg.name());
    let tensors: Vec<Tensor> = sg
        .tensors()
        .map(|v| {
            v.iter()
                .enumerate()
                .map(|(t, tensor)| read_tensor(index, t, tensor, buffers))
                .collect::<Result<_, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let n = tensors.len();
    let check = |what: &str, raw: i32| -> Result<usize, String> {
        usize::try_from(raw).ok().filter(|&i| i < n).ok_or_else(|| {
            format!("subgraph {index}: {what} refers to tensor {raw}, out of range ({n} tensors)")
        })
    };
    let optional = |what: &str, raw: i32| -> Result<Option<usize>, String> {
        if raw == -1 {
            Ok(None)
        } else {
            check(what, raw).map(Some)
        }
    };

    let inputs = schema::to_vec(sg.inputs())
        .into_iter()
        .map(|i| check("an input", i))
        .collect::<Result<_, _>>()?;
    let outputs = schema::to_vec(sg.outputs())
        .into_iter()
        .map(|i| check("an output", i))
        .collect::<Result<_, _>>()?;

    let operators = sg
        .operators()
        .map(|v| {
            v.iter()
                .enumerate()
                .map(|(k, op)| {
                    let opcode_index = op.opcode_index() as usize;
                    if opcode_index >= opcode_count {
                        return Err(format!(
                            "subgraph {index}: operator {k} has opcode index {opcode_index}, out of range ({opcode_count} operator codes)"
                        ));
                    }
                    let what = format!("operator {k}");
                    Ok(Operator {
                        opcode_index,
                        inputs: schema::to_vec(op.inputs())
                            .into_iter()
                            .map(|i| optional(&what, i))
                            .collect::<Result<_, _>>()?,
                        outputs: schema::to_vec(op.outputs())
                            .into_iter()
                            .map(|i| optional(&what, i))
                            .collect::<Result<_, _>>()?,
                        intermediates: schema::to_vec(op.intermediates())
                            .into_iter()
                            .map(|i| check(&what, i))
                            .collect::<Result<_, _>>()?,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();

    Ok(Subgraph {
        name,
        tensors,
        inputs,
        outputs,
        operators,
    })
}

fn read_tensor(
    subgraph: usize,
    index: usize,
    t: schema::Tensor<'_>,
    buffers: &[Buffer],
) -> Result<Tensor, String> {
    let name = schema::string(t.name());
    let buffer = t.buffer();
    // Buffer 0 is the conventional empty sentinel; a file without buffers at all may still
    // leave every tensor at that default.
    if buffer as usize >= buffers.len() && !(buffer == 0 && buffers.is_empty()) {
        return Err(format!(
            "subgraph {subgraph}: tensor {index} ({name:?}) refers to buffer {buffer}, out of range ({} buffers)",
            buffers.len()
        ));
    }
    let shape_signature = Some(schema::to_vec(t.shape_signature())).filter(|s| !s.is_empty());
    let quantization = t.quantization().map(|q| QuantizationParams {
        min: schema::to_vec(q.min()),
        max: schema::to_vec(q.max()),
        scale: schema::to_vec(q.scale()),
        zero_point: schema::to_vec(q.zero_point()),
        quantized_dimension: q.quantized_dimension(),
        details_type: q.details_type(),
    });
    Ok(Tensor {
        name,
        tensor_type: t.tensor_type(),
        dtype: tensor_type_to_dtype(t.tensor_type()),
        shape: schema::to_vec(t.shape()),
        shape_signature,
        buffer,
        quantization,
        is_variable: t.is_variable(),
        is_sparse: t.has_field(TENSOR_SPARSITY),
        has_rank: t.has_rank(),
    })
}

fn signature_def(
    s: schema::SignatureDef<'_>,
    subgraphs: &[Subgraph],
) -> Result<SignatureDef, String> {
    let key = schema::string(s.signature_key());
    let subgraph_index = s.subgraph_index() as usize;
    let Some(sg) = subgraphs.get(subgraph_index) else {
        return Err(format!(
            "signature {key:?}: subgraph index {subgraph_index} out of range ({} subgraphs)",
            subgraphs.len()
        ));
    };
    let maps = |v: Option<
        flatbuffers::Vector<'_, flatbuffers::ForwardsUOffset<schema::TensorMap<'_>>>,
    >| {
        v.map(|v| {
            v.iter()
                .map(|m| {
                    let name = schema::string(m.name());
                    let tensor_index = m.tensor_index() as usize;
                    if tensor_index >= sg.tensors.len() {
                        return Err(format!(
                            "signature {key:?}: {name:?} refers to tensor {tensor_index}, out of range (subgraph {subgraph_index} has {} tensors)",
                            sg.tensors.len()
                        ));
                    }
                    Ok(TensorMap { name, tensor_index })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .map(Option::unwrap_or_default)
    };
    Ok(SignatureDef {
        inputs: maps(s.inputs())?,
        outputs: maps(s.outputs())?,
        key,
        subgraph_index,
    })
}
