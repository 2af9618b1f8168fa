use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The container format of a model file.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    Onnx,
    Tflite,
    Coreml,
    /// GGUF language models (llama.cpp, candle).
    Gguf,
}

impl ModelFormat {
    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::Onnx => "onnx",
            ModelFormat::Tflite => "tflite",
            ModelFormat::Coreml => "coreml",
            ModelFormat::Gguf => "gguf",
        }
    }
}

impl fmt::Display for ModelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Element type of a tensor, normalised across formats.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    F16,
    Bf16,
    F32,
    F64,
    I4,
    I8,
    I16,
    I32,
    I64,
    U4,
    U8,
    U16,
    U32,
    U64,
    Bool,
    String,
    Complex64,
    Complex128,
    /// A type this summary does not model (FP8 variants, sequences, maps, images, ...),
    /// described in the format's own words.
    Other(String),
}

impl DType {
    /// Bytes per element, where that is a whole number.
    pub fn size_bytes(&self) -> Option<u64> {
        Some(match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::F16 | DType::Bf16 | DType::I16 | DType::U16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 | DType::Complex64 => 8,
            DType::Complex128 => 16,
            DType::I4 | DType::U4 | DType::String | DType::Other(_) => return None,
        })
    }

    pub fn is_float(&self) -> bool {
        matches!(self, DType::F16 | DType::Bf16 | DType::F32 | DType::F64)
    }

    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            DType::I4
                | DType::I8
                | DType::I16
                | DType::I32
                | DType::I64
                | DType::U4
                | DType::U8
                | DType::U16
                | DType::U32
                | DType::U64
        )
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            DType::F16 => "f16",
            DType::Bf16 => "bf16",
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::I4 => "i4",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U4 => "u4",
            DType::U8 => "u8",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::Bool => "bool",
            DType::String => "string",
            DType::Complex64 => "complex64",
            DType::Complex128 => "complex128",
            DType::Other(s) => s,
        };
        f.write_str(s)
    }
}

/// One dimension of a tensor shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Dim {
    /// A known extent.
    Fixed(u64),
    /// A named dynamic extent (ONNX `dim_param`, e.g. `batch`).
    Symbolic(String),
    /// A dynamic extent without a name (ONNX dim with neither value nor param, TFLite -1).
    #[serde(serialize_with = "ser_unknown", deserialize_with = "de_unknown")]
    Unknown,
}

fn ser_unknown<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_none()
}

fn de_unknown<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    <Option<()> as Deserialize>::deserialize(d).map(|_| ())
}

impl Dim {
    pub fn fixed(&self) -> Option<u64> {
        match self {
            Dim::Fixed(n) => Some(*n),
            _ => None,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbolic(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// Affine quantization of a tensor (TFLite), summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    /// Axis for per-channel quantization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub axis: Option<i32>,
}

/// A graph input or output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TensorInfo {
    /// The name users and runtimes call it by: a TFLite model's signature name when it has
    /// a signature, else the tensor's own name.
    pub name: String,
    /// The tensor's own name in the graph when it differs from `name` (a TFLite signature
    /// calls `serving_default_input:0` `input`); accepted wherever an input is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensor_name: Option<String>,
    pub dtype: DType,
    /// `None` when the model does not declare a rank.
    pub shape: Option<Vec<Dim>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<Quantization>,
}

impl TensorInfo {
    /// Shape as text: `[1, 3, 224, 224]`, `[batch, seq]`, or `?` for unknown rank.
    pub fn shape_text(&self) -> String {
        match &self.shape {
            None => "?".to_string(),
            Some(dims) => {
                let parts: Vec<String> = dims.iter().map(Dim::to_string).collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }

    /// True when `name` is what this tensor is called: its name or its tensor name.
    pub fn is_called(&self, name: &str) -> bool {
        self.name == name || self.tensor_name.as_deref() == Some(name)
    }

    /// True when every dimension is known.
    pub fn is_static(&self) -> bool {
        self.shape
            .as_ref()
            .is_some_and(|d| d.iter().all(|d| matches!(d, Dim::Fixed(_))))
    }
}

/// Facts only one format has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "format", rename_all = "lowercase")]
pub enum FormatDetails {
    Onnx {
        ir_version: i64,
        /// Opset domain ("" = ai.onnx) → version.
        opsets: BTreeMap<String, i64>,
        producer_name: String,
        producer_version: String,
        graph_name: String,
        initializer_count: u64,
        initializer_bytes: u64,
        /// Files the model keeps its weights in, relative to the model file.
        external_data_files: Vec<String>,
    },
    Tflite {
        schema_version: u32,
        description: String,
        subgraph_count: u32,
        /// Signature keys (`serving_default`, ...).
        signatures: Vec<String>,
        /// Custom operators the runtime must provide.
        custom_ops: Vec<String>,
        buffer_count: u32,
    },
    Coreml {
        specification_version: i32,
        /// `neuralNetwork`, `mlProgram`, `pipeline`, ...
        model_type: String,
        is_package: bool,
        author: String,
        short_description: String,
        version: String,
    },
    Gguf {
        version: u32,
        /// `general.architecture` (`llama`, `qwen2`, ...).
        architecture: String,
        context_length: Option<u64>,
        vocab_size: Option<u64>,
        /// Transformer blocks (`<arch>.block_count`).
        layers: Option<u64>,
        embedding_length: Option<u64>,
        tensor_count: u64,
        /// ggml tensor type (`Q4_1`, `F32`, ...) → number of tensors.
        tensor_types: BTreeMap<String, u64>,
        alignment: u64,
    },
}

/// What mlgate knows about a model file, the same shape for every format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelInfo {
    /// Path as given by the user.
    pub path: String,
    pub format: ModelFormat,
    /// Who wrote the model, when the file says (`pytorch 2.1`, `TFLite converter`, ...).
    pub producer: Option<String>,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    /// Op type → number of uses, subgraphs included. Custom ops appear under their own name.
    pub ops: BTreeMap<String, u64>,
    /// Number of weight elements (initializers, constant buffers, weight blobs).
    pub param_count: u64,
    /// Bytes those weights take on disk.
    pub param_bytes: u64,
    /// Bytes on disk; a package or a model with external data sums its files.
    pub file_size: u64,
    /// sha256 of the content, hex; see [`crate::content_hash`].
    pub sha256: String,
    /// Free-form key/value metadata the model carries.
    pub metadata: BTreeMap<String, String>,
    pub details: FormatDetails,
}

impl ModelInfo {
    /// Total number of op instances.
    pub fn op_count(&self) -> u64 {
        self.ops.values().sum()
    }

    /// Op types by descending count, ties by name.
    pub fn top_ops(&self, n: usize) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.ops.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }
}
