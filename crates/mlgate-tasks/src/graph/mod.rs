//! What a model's graph shows about its inputs, the same shape for every format.
//!
//! Op names alone come from [`ModelInfo`]; some questions need the graph itself (is this
//! Conv 1-D or 2-D? does this Gather read an embedding table, and how many rows has it?), so
//! ONNX and TFLite files are read again and walked. CoreML has no graph walk: its facts come
//! from op names and declared inputs.

mod onnx;
mod tflite;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use mlgate_ir::{ModelFormat, ModelInfo};

/// Op kinds that say something about the task. Op names differ by format (`Conv`, `CONV_2D`,
/// `convolution`, `conv`), so each is classified once here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum OpClass {
    Conv,
    /// Windowed pooling; global pooling says nothing about the rank and is left out.
    Pool,
    Resize,
    /// A dedicated embedding op (TFLite `EMBEDDING_LOOKUP`, CoreML `embedding`).
    Embedding,
    Gather,
    MatMul,
    Dense,
    Softmax,
    LayerNorm,
    /// Fused attention and embedding ops of ONNX Runtime's contrib domain or CoreML.
    Attention,
    /// STFT, DFT, mel matrices, audio front ends.
    Spectral,
    Recurrent,
    /// ai.onnx.ml: trees, linear models, scalers, encoders.
    ClassicMl,
}

pub(crate) fn op_class(op: &str) -> Option<OpClass> {
    // ONNX histogram keys carry the domain of contrib ops: `com.microsoft:Attention`.
    let bare = op.rsplit(':').next().unwrap_or(op);
    Some(match bare {
        "Conv"
        | "ConvInteger"
        | "QLinearConv"
        | "ConvTranspose"
        | "NhwcConv"
        | "FusedConv"
        | "CONV_2D"
        | "DEPTHWISE_CONV_2D"
        | "TRANSPOSE_CONV"
        | "CONV_3D"
        | "CONV_3D_TRANSPOSE"
        | "Convolution2DTransposeBias"
        | "convolution"
        | "conv"
        | "conv_transpose"
        | "conv_quantized" => OpClass::Conv,
        "MaxPool"
        | "AveragePool"
        | "LpPool"
        | "QLinearAveragePool"
        | "MAX_POOL_2D"
        | "AVERAGE_POOL_2D"
        | "L2_POOL_2D"
        | "MaxPoolingWithArgmax2D"
        | "pooling"
        | "max_pool"
        | "avg_pool"
        | "l2_pool" => OpClass::Pool,
        "Resize"
        | "Upsample"
        | "RESIZE_BILINEAR"
        | "RESIZE_NEAREST_NEIGHBOR"
        | "upsample"
        | "resizeBilinear"
        | "cropResize"
        | "upsample_bilinear"
        | "upsample_nearest_neighbor"
        | "resize_bilinear"
        | "resize_nearest_neighbor"
        | "crop_resize" => OpClass::Resize,
        "EMBEDDING_LOOKUP" | "embedding" | "embeddingND" => OpClass::Embedding,
        "Gather" | "GATHER" | "gather" => OpClass::Gather,
        "MatMul" | "MatMulInteger" | "QLinearMatMul" | "MatMulNBits" | "BATCH_MATMUL"
        | "batchedMatmul" | "matmul" => OpClass::MatMul,
        "Gemm" | "FULLY_CONNECTED" | "innerProduct" | "linear" => OpClass::Dense,
        "Softmax" | "SOFTMAX" | "softmax" | "softmaxND" => OpClass::Softmax,
        "LayerNormalization"
        | "SimplifiedLayerNormalization"
        | "SkipLayerNormalization"
        | "SkipSimplifiedLayerNormalization"
        | "layerNormalization"
        | "layer_norm" => OpClass::LayerNorm,
        "Attention"
        | "MultiHeadAttention"
        | "GroupQueryAttention"
        | "PackedAttention"
        | "PackedMultiHeadAttention"
        | "DecoderMaskedMultiHeadAttention"
        | "EmbedLayerNormalization"
        | "RotaryEmbedding"
        | "scaled_dot_product_attention" => OpClass::Attention,
        "STFT" | "DFT" | "MelWeightMatrix" | "HannWindow" | "HammingWindow" | "BlackmanWindow"
        | "RFFT2D" | "AudioSpectrogram" | "Mfcc" | "AudioMicrofrontend" | "stft" => {
            OpClass::Spectral
        }
        "LSTM"
        | "GRU"
        | "RNN"
        | "UNIDIRECTIONAL_SEQUENCE_LSTM"
        | "BIDIRECTIONAL_SEQUENCE_LSTM"
        | "UNIDIRECTIONAL_SEQUENCE_RNN"
        | "BIDIRECTIONAL_SEQUENCE_RNN"
        | "uniDirectionalLSTM"
        | "biDirectionalLSTM"
        | "gru"
        | "simpleRecurrent"
        | "lstm"
        | "rnn" => OpClass::Recurrent,
        "TreeEnsembleClassifier"
        | "TreeEnsembleRegressor"
        | "TreeEnsemble"
        | "LinearClassifier"
        | "LinearRegressor"
        | "SVMClassifier"
        | "SVMRegressor"
        | "Scaler"
        | "Normalizer"
        | "OneHotEncoder"
        | "LabelEncoder"
        | "Imputer"
        | "Binarizer"
        | "ZipMap"
        | "ArrayFeatureExtractor"
        | "CategoryMapper"
        | "DictVectorizer"
        | "FeatureVectorizer" => OpClass::ClassicMl,
        _ => return None,
    })
}

/// Ops that carry no task signal and may appear in any small dense network.
pub(crate) fn is_plain_dense_op(op: &str) -> bool {
    let bare = op.rsplit(':').next().unwrap_or(op);
    matches!(op_class(bare), Some(OpClass::Dense | OpClass::MatMul))
        || matches!(
            bare,
            "Relu"
                | "LeakyRelu"
                | "Sigmoid"
                | "Tanh"
                | "Gelu"
                | "Elu"
                | "Selu"
                | "HardSigmoid"
                | "Softplus"
                | "Add"
                | "Mul"
                | "Sub"
                | "Div"
                | "Identity"
                | "Flatten"
                | "Reshape"
                | "Dropout"
                | "BatchNormalization"
                | "Cast"
                | "Softmax"
                | "LogSoftmax"
                | "ArgMax"
                | "Constant"
                | "Clip"
                | "Concat"
                | "RELU"
                | "RELU6"
                | "LOGISTIC"
                | "TANH"
                | "ADD"
                | "MUL"
                | "RESHAPE"
                | "SOFTMAX"
                | "QUANTIZE"
                | "DEQUANTIZE"
                | "activation"
                | "softmax"
                | "relu"
                | "sigmoid"
                | "tanh"
                | "const"
                | "add"
                | "mul"
                | "reshape"
                | "cast"
        )
}

/// Op counts by class, with the op names behind each count (for evidence lines).
#[derive(Debug, Default, Clone)]
pub(crate) struct OpCounts {
    by_class: BTreeMap<OpClass, BTreeMap<String, u64>>,
}

impl OpCounts {
    pub fn from_info(info: &ModelInfo) -> OpCounts {
        let mut by_class: BTreeMap<OpClass, BTreeMap<String, u64>> = BTreeMap::new();
        for (op, n) in &info.ops {
            if let Some(c) = op_class(op) {
                *by_class
                    .entry(c)
                    .or_default()
                    .entry(op.clone())
                    .or_default() += n;
            }
        }
        OpCounts { by_class }
    }

    pub fn count(&self, class: OpClass) -> u64 {
        self.by_class
            .get(&class)
            .map_or(0, |m| m.values().fold(0u64, |a, n| a.saturating_add(*n)))
    }

    /// `CONV_2D ×35, DEPTHWISE_CONV_2D ×28`.
    pub fn describe(&self, class: OpClass) -> String {
        let mut out = String::new();
        if let Some(m) = self.by_class.get(&class) {
            let mut v: Vec<(&String, &u64)> = m.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (i, (op, n)) in v.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{op} ×{n}");
            }
        }
        out
    }
}

/// Memory layout of an image input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Nchw,
    Nhwc,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Nchw => "NCHW",
            Layout::Nhwc => "NHWC",
        }
    }
}

/// The value range an image input is expected in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PixelRange {
    /// [0, 1].
    Unit,
    /// [-1, 1].
    Symmetric,
    /// (x - ImageNet mean) / ImageNet std, per channel.
    ImageNet,
    /// [0, 255] as floats.
    Pixels,
}

impl PixelRange {
    /// The value this range holds for a pixel intensity `v` in [0, 1] of channel `ch`.
    pub fn value_of_unit(self, v: f64, ch: usize) -> f64 {
        use crate::gen::{IMAGENET_MEAN, IMAGENET_STD};
        match self {
            PixelRange::Unit => v,
            PixelRange::Symmetric => v * 2.0 - 1.0,
            PixelRange::ImageNet => (v - IMAGENET_MEAN[ch % 3]) / IMAGENET_STD[ch % 3],
            PixelRange::Pixels => v * 255.0,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            PixelRange::Unit => "[0, 1]",
            PixelRange::Symmetric => "[-1, 1]",
            PixelRange::ImageNet => {
                "ImageNet-normalized (mean 0.485/0.456/0.406, std 0.229/0.224/0.225)"
            }
            PixelRange::Pixels => "[0, 255]",
        }
    }
}

/// An embedding lookup: a Gather from a constant `rows × width` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Embedding {
    pub table: String,
    pub rows: u64,
    pub width: u64,
    /// The graph input whose values index the table, when the indices come straight from one.
    pub input: Option<String>,
}

/// How the graph consumes one input, from the nearest significant op downstream of it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct InputUse {
    /// The first convolution reached: op name and spatial rank when known.
    pub conv: Option<(String, Option<u8>)>,
    /// The input reaches that convolution through a transpose from channels-last.
    pub channels_last: bool,
    /// The input indexes an embedding table: (table, rows, width).
    pub embedding: Option<(String, u64, u64)>,
    /// The input is transformed by a spectral op (STFT, DFT, RFFT2D, ...).
    pub spectral: Option<String>,
    /// The input is the initial state of a recurrent op.
    pub recurrent_state: Option<String>,
    /// Preprocessing baked into the graph implies this value range, and why.
    pub range: Option<(PixelRange, String)>,
    /// Input samples per step of the recurrent or dense layer a 1-D conv stack feeds (the
    /// product of its strides); a streaming model consumes one such chunk per call.
    pub frame_hop: Option<u64>,
}

/// Everything the detectors and synthesisers read from the graph.
#[derive(Debug, Default, Clone)]
pub(crate) struct GraphFacts {
    pub ops: OpCounts,
    /// Set when the file could not be walked (CoreML, or a read failure): facts then come
    /// from op names only.
    pub limited: Option<String>,
    /// Convolutions by spatial rank (1, 2, 3); `None` key when the rank is unknown.
    pub conv_ranks: BTreeMap<Option<u8>, u64>,
    pub embeddings: Vec<Embedding>,
    /// A rank-2 constant the shape of a mel filterbank (n_fft/2+1 × mel bins) feeding a
    /// matrix product.
    pub mel_filterbank: Option<String>,
    /// Per graph input, by name.
    pub inputs: BTreeMap<String, InputUse>,
}

/// A GGUF decoder has no graph, but its token embedding table says what the token input
/// indexes: `token_embd.weight`, ggml dims `[width, vocabulary]`.
fn gguf_facts(path: &Path, facts: &mut GraphFacts) -> Result<(), String> {
    let g = mlgate_ir::gguf::read(path).map_err(|e| e.to_string())?;
    let table = g
        .tensors
        .iter()
        .find(|t| t.name == "token_embd.weight" && t.dims.len() == 2)
        .ok_or("the GGUF file has no token_embd.weight table")?;
    let (width, rows) = (table.dims[0], table.dims[1]);
    facts.embeddings.push(Embedding {
        table: table.name.clone(),
        rows,
        width,
        input: Some("tokens".into()),
    });
    facts.inputs.insert(
        "tokens".into(),
        InputUse {
            embedding: Some((table.name.clone(), rows, width)),
            ..InputUse::default()
        },
    );
    Ok(())
}

impl GraphFacts {
    pub fn analyse(info: &ModelInfo, path: &Path) -> GraphFacts {
        let mut facts = GraphFacts {
            ops: OpCounts::from_info(info),
            ..GraphFacts::default()
        };
        let walked = match info.format {
            ModelFormat::Onnx => onnx::analyse(path, &mut facts),
            ModelFormat::Tflite => tflite::analyse(path, &mut facts),
            ModelFormat::Coreml => Err("mlgate does not walk CoreML graphs".to_string()),
            ModelFormat::Gguf => gguf_facts(path, &mut facts),
        };
        if let Err(why) = walked {
            facts.limited = Some(why);
        }
        facts
    }

    pub fn conv_count(&self, rank: u8) -> u64 {
        self.conv_ranks.get(&Some(rank)).copied().unwrap_or(0)
    }

    /// The position-embedding table, whose rows bound the sequence length.
    pub fn position_table(&self) -> Option<&Embedding> {
        // Position tables are indexed by computed positions (Range, a sliced constant), not by
        // an input, and are as wide as the token embeddings they are added to. Requiring the
        // same width keeps relative-position bias tables (T5: buckets × heads) out.
        let token_widths: Vec<u64> = self
            .embeddings
            .iter()
            .filter(|e| e.input.is_some())
            .map(|e| e.width)
            .collect();
        self.embeddings
            .iter()
            .filter(|e| e.input.is_none() && e.rows >= 32 && token_widths.contains(&e.width))
            .min_by_key(|e| e.rows)
    }
}

/// `n_fft / 2 + 1` for the FFT sizes audio front ends use (256 … 2048, Whisper's 400).
const FFT_BINS: [u64; 5] = [129, 201, 257, 513, 1025];
/// Mel bin counts audio models use.
pub(crate) const MEL_BINS: [u64; 6] = [40, 64, 80, 96, 128, 160];

pub(crate) fn looks_like_mel_filterbank(dims: &[u64]) -> bool {
    match dims {
        [a, b] => {
            (FFT_BINS.contains(a) && MEL_BINS.contains(b))
                || (FFT_BINS.contains(b) && MEL_BINS.contains(a))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_are_classified_across_formats() {
        assert_eq!(op_class("Conv"), Some(OpClass::Conv));
        assert_eq!(op_class("DEPTHWISE_CONV_2D"), Some(OpClass::Conv));
        assert_eq!(op_class("convolution"), Some(OpClass::Conv));
        assert_eq!(op_class("conv"), Some(OpClass::Conv));
        assert_eq!(
            op_class("com.microsoft:Attention"),
            Some(OpClass::Attention)
        );
        assert_eq!(
            op_class("ai.onnx.ml:TreeEnsembleClassifier"),
            Some(OpClass::ClassicMl)
        );
        assert_eq!(op_class("GlobalAveragePool"), None);
        assert_eq!(op_class("Relu"), None);
        assert!(is_plain_dense_op("Gemm") && is_plain_dense_op("Relu"));
        assert!(!is_plain_dense_op("Conv"));
    }

    #[test]
    fn mel_filterbanks_have_telling_shapes() {
        assert!(looks_like_mel_filterbank(&[201, 80]));
        assert!(looks_like_mel_filterbank(&[64, 257]));
        assert!(!looks_like_mel_filterbank(&[128, 128]));
        assert!(!looks_like_mel_filterbank(&[201]));
    }
}
