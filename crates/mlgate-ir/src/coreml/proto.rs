//! The parts of the CoreML specification (`Model.proto`, `FeatureTypes.proto`,
//! `NeuralNetwork.proto`, `MIL.proto` in apple/coremltools `mlmodel/format/`) that inspection
//! reads, written by hand for prost. Field numbers and types follow the spec; fields not
//! declared here are skipped by prost without being copied.
//!
//! Two kinds of oneof are *not* declared as prost oneofs: `Model.Type` and
//! `NeuralNetworkLayer.layer`. They have dozens of cases, prost would silently drop the ones
//! not modelled, and the one thing we always need from them is *which* field number is set.
//! Those are found with [`super::wire`] and named with [`MODEL_TYPES`] / [`LAYER_TYPES`];
//! the payload is then decoded with the message below that fits. For the same reason
//! `NeuralNetwork.layers` and `Pipeline.models` are walked as raw slices rather than decoded.

// Several fields are decoded only to mirror the spec (and for debugging), not read.
#![allow(dead_code)]

use std::collections::BTreeMap;

// ---- Model.proto ----------------------------------------------------------------------------

/// `Model`, without its `Type` oneof (see the module docs).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Model {
    #[prost(int32, tag = "1")]
    pub specification_version: i32,
    #[prost(message, optional, tag = "2")]
    pub description: Option<ModelDescription>,
    #[prost(bool, tag = "10")]
    pub is_updatable: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelDescription {
    #[prost(message, repeated, tag = "1")]
    pub input: Vec<FeatureDescription>,
    #[prost(message, repeated, tag = "10")]
    pub output: Vec<FeatureDescription>,
    #[prost(string, tag = "11")]
    pub predicted_feature_name: String,
    #[prost(string, tag = "12")]
    pub predicted_probabilities_name: String,
    #[prost(message, repeated, tag = "13")]
    pub state: Vec<FeatureDescription>,
    /// Multi-function models (spec 9) describe their I/O per function instead.
    #[prost(message, repeated, tag = "20")]
    pub functions: Vec<FunctionDescription>,
    #[prost(string, tag = "21")]
    pub default_function_name: String,
    #[prost(message, repeated, tag = "50")]
    pub training_input: Vec<FeatureDescription>,
    #[prost(message, optional, tag = "100")]
    pub metadata: Option<Metadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionDescription {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, repeated, tag = "2")]
    pub input: Vec<FeatureDescription>,
    #[prost(message, repeated, tag = "3")]
    pub output: Vec<FeatureDescription>,
    #[prost(string, tag = "4")]
    pub predicted_feature_name: String,
    #[prost(string, tag = "5")]
    pub predicted_probabilities_name: String,
    #[prost(message, repeated, tag = "6")]
    pub state: Vec<FeatureDescription>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Metadata {
    #[prost(string, tag = "1")]
    pub short_description: String,
    #[prost(string, tag = "2")]
    pub version_string: String,
    #[prost(string, tag = "3")]
    pub author: String,
    #[prost(string, tag = "4")]
    pub license: String,
    #[prost(btree_map = "string, string", tag = "100")]
    pub user_defined: BTreeMap<String, String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FeatureDescription {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub short_description: String,
    #[prost(message, optional, tag = "3")]
    pub r#type: Option<FeatureType>,
}

/// Field of `PipelineClassifier` / `PipelineRegressor` holding their `Pipeline`.
pub const PIPELINE_FIELD: u32 = 1;
/// Field of `Pipeline` holding the repeated sub-`Model`s (walked as raw bytes).
pub const PIPELINE_MODELS_FIELD: u32 = 1;

pub const MODEL_PIPELINE_CLASSIFIER: u32 = 200;
pub const MODEL_PIPELINE_REGRESSOR: u32 = 201;
pub const MODEL_PIPELINE: u32 = 202;
pub const MODEL_NN_REGRESSOR: u32 = 303;
pub const MODEL_NN_CLASSIFIER: u32 = 403;
pub const MODEL_NN: u32 = 500;
pub const MODEL_ML_PROGRAM: u32 = 502;
/// Model-type fields start here; everything below is common to all models.
pub const FIRST_MODEL_TYPE_FIELD: u32 = 200;

// ---- FeatureTypes.proto ---------------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
pub struct FeatureType {
    #[prost(oneof = "FeatureKind", tags = "1, 2, 3, 4, 5, 6, 7, 8")]
    pub kind: Option<FeatureKind>,
    #[prost(bool, tag = "1000")]
    pub is_optional: bool,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum FeatureKind {
    #[prost(message, tag = "1")]
    Int64(Empty),
    #[prost(message, tag = "2")]
    Double(Empty),
    #[prost(message, tag = "3")]
    String(Empty),
    #[prost(message, tag = "4")]
    Image(ImageFeatureType),
    #[prost(message, tag = "5")]
    MultiArray(ArrayFeatureType),
    #[prost(message, tag = "6")]
    Dictionary(DictionaryFeatureType),
    #[prost(message, tag = "7")]
    Sequence(SequenceFeatureType),
    #[prost(message, tag = "8")]
    State(StateFeatureType),
}

/// `Int64FeatureType`, `DoubleFeatureType` and `StringFeatureType` have no fields.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SizeRange {
    #[prost(uint64, tag = "1")]
    pub lower_bound: u64,
    /// -1 means unbounded.
    #[prost(int64, tag = "2")]
    pub upper_bound: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ImageFeatureType {
    #[prost(int64, tag = "1")]
    pub width: i64,
    #[prost(int64, tag = "2")]
    pub height: i64,
    /// `ColorSpace`: see [`color_space_name`].
    #[prost(int32, tag = "3")]
    pub color_space: i32,
    #[prost(oneof = "ImageSizeFlexibility", tags = "21, 31")]
    pub size_flexibility: Option<ImageSizeFlexibility>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ImageSizeFlexibility {
    #[prost(message, tag = "21")]
    EnumeratedSizes(EnumeratedImageSizes),
    #[prost(message, tag = "31")]
    ImageSizeRange(ImageSizeRange),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ImageSize {
    #[prost(uint64, tag = "1")]
    pub width: u64,
    #[prost(uint64, tag = "2")]
    pub height: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EnumeratedImageSizes {
    #[prost(message, repeated, tag = "1")]
    pub sizes: Vec<ImageSize>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ImageSizeRange {
    #[prost(message, optional, tag = "1")]
    pub width_range: Option<SizeRange>,
    #[prost(message, optional, tag = "2")]
    pub height_range: Option<SizeRange>,
}

pub const COLOR_GRAYSCALE: i32 = 10;
pub const COLOR_RGB: i32 = 20;
pub const COLOR_BGR: i32 = 30;
pub const COLOR_GRAYSCALE_FLOAT16: i32 = 40;

pub fn color_space_name(v: i32) -> Option<&'static str> {
    Some(match v {
        0 => "INVALID",
        COLOR_GRAYSCALE => "GRAYSCALE",
        COLOR_RGB => "RGB",
        COLOR_BGR => "BGR",
        COLOR_GRAYSCALE_FLOAT16 => "GRAYSCALE_FLOAT16",
        _ => return None,
    })
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ArrayFeatureType {
    #[prost(int64, repeated, tag = "1")]
    pub shape: Vec<i64>,
    /// `ArrayDataType`: see the `ARRAY_*` constants.
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    #[prost(oneof = "ShapeFlexibility", tags = "21, 31")]
    pub shape_flexibility: Option<ShapeFlexibility>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ShapeFlexibility {
    #[prost(message, tag = "21")]
    EnumeratedShapes(EnumeratedShapes),
    #[prost(message, tag = "31")]
    ShapeRange(ShapeRange),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Shape {
    #[prost(int64, repeated, tag = "1")]
    pub shape: Vec<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EnumeratedShapes {
    #[prost(message, repeated, tag = "1")]
    pub shapes: Vec<Shape>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ShapeRange {
    #[prost(message, repeated, tag = "1")]
    pub size_ranges: Vec<SizeRange>,
}

// `ArrayDataType` values encode the kind in the high half and the bit width in the low half.
pub const ARRAY_FLOAT32: i32 = 0x10000 | 32;
pub const ARRAY_DOUBLE: i32 = 0x10000 | 64;
pub const ARRAY_FLOAT16: i32 = 0x10000 | 16;
pub const ARRAY_INT32: i32 = 0x20000 | 32;
pub const ARRAY_INT8: i32 = 0x20000 | 8;

#[derive(Clone, PartialEq, prost::Message)]
pub struct DictionaryFeatureType {
    #[prost(oneof = "DictionaryKey", tags = "1, 2")]
    pub key_type: Option<DictionaryKey>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DictionaryKey {
    #[prost(message, tag = "1")]
    Int64(Empty),
    #[prost(message, tag = "2")]
    String(Empty),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SequenceFeatureType {
    #[prost(oneof = "SequenceElement", tags = "1, 3")]
    pub element: Option<SequenceElement>,
    #[prost(message, optional, tag = "101")]
    pub size_range: Option<SizeRange>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum SequenceElement {
    #[prost(message, tag = "1")]
    Int64(Empty),
    #[prost(message, tag = "3")]
    String(Empty),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StateFeatureType {
    /// The only case of the spec's `Type` oneof.
    #[prost(message, optional, tag = "1")]
    pub array_type: Option<ArrayFeatureType>,
}

// ---- NeuralNetwork.proto --------------------------------------------------------------------

/// Field of `NeuralNetwork`, `NeuralNetworkClassifier` and `NeuralNetworkRegressor` holding
/// the repeated `NeuralNetworkLayer` (the three share it).
pub const NN_LAYERS_FIELD: u32 = 1;

/// `NeuralNetworkLayer` without its `layer` oneof (see the module docs). Layer-type fields
/// start at 100; everything below is common to all layers.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NeuralNetworkLayer {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, repeated, tag = "2")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "3")]
    pub output: Vec<String>,
    #[prost(bool, tag = "10")]
    pub is_updatable: bool,
}

pub const FIRST_LAYER_TYPE_FIELD: u32 = 100;
pub const LAYER_CUSTOM: u32 = 500;
pub const LAYER_BRANCH: u32 = 605;
pub const LAYER_LOOP: u32 = 615;

#[derive(Clone, PartialEq, prost::Message)]
pub struct CustomLayerParams {
    #[prost(string, tag = "10")]
    pub class_name: String,
    #[prost(string, tag = "40")]
    pub description: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WeightParams {
    #[prost(float, repeated, tag = "1")]
    pub float_value: Vec<f32>,
    #[prost(bytes = "vec", tag = "2")]
    pub float16_value: Vec<u8>,
    #[prost(bytes = "vec", tag = "30")]
    pub raw_value: Vec<u8>,
    #[prost(bytes = "vec", tag = "31")]
    pub int8_raw_value: Vec<u8>,
    #[prost(message, optional, tag = "40")]
    pub quantization: Option<QuantizationParams>,
    #[prost(bool, tag = "50")]
    pub is_updatable: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct QuantizationParams {
    #[prost(uint64, tag = "1")]
    pub number_of_bits: u64,
}

/// Where a layer's `WeightParams` sit inside its parameters message, as paths of field
/// numbers (every occurrence of a repeated field is visited). Layer types not listed carry
/// no weights. Branch and loop layers hold whole networks instead: see [`nested_networks`].
pub fn weight_paths(layer_type: u32) -> &'static [&'static [u32]] {
    // ActivationParams: PReLU (25) and parametricSoftplus (71) hold alpha (1) / beta (2).
    const ACT: &[&[u32]] = &[&[25, 1], &[71, 1], &[71, 2]];
    const SIMPLE_RNN: &[&[u32]] = &[
        &[10, 25, 1],
        &[10, 71, 1],
        &[10, 71, 2],
        &[30],
        &[31],
        &[32],
    ];
    const GRU: &[&[u32]] = &[
        &[10, 25, 1],
        &[10, 71, 1],
        &[10, 71, 2],
        &[30],
        &[31],
        &[32],
        &[50],
        &[51],
        &[52],
        &[70],
        &[71],
        &[72],
    ];
    // LSTMWeightParams (field 20 of both LSTM layers, repeated in the bidirectional one):
    // every one of its fields is a WeightParams.
    const LSTM: &[&[u32]] = &[
        &[10, 25, 1],
        &[10, 71, 1],
        &[10, 71, 2],
        &[11, 25, 1],
        &[11, 71, 1],
        &[11, 71, 2],
        &[20, 1],
        &[20, 2],
        &[20, 3],
        &[20, 4],
        &[20, 20],
        &[20, 21],
        &[20, 22],
        &[20, 23],
        &[20, 40],
        &[20, 41],
        &[20, 42],
        &[20, 43],
        &[20, 60],
        &[20, 61],
        &[20, 62],
    ];
    match layer_type {
        100 => &[&[90], &[91]],               // convolution: weights, bias
        130 => ACT,                           // activation
        140 | 150 | 1040 => &[&[20], &[21]],  // innerProduct, embedding, embeddingND
        160 => &[&[15], &[16], &[17], &[18]], // batchnorm: gamma, beta, mean, variance
        245 => &[&[2], &[5]],                 // scale: scale, bias
        250 | 290 | 1070 => &[&[2]],          // bias, loadConstant, loadConstantND
        400 => SIMPLE_RNN,
        410 => GRU,
        420 | 430 => LSTM, // uni/biDirectionalLSTM (field 11 only exists in the latter)
        LAYER_CUSTOM => &[&[20]],
        1045 => &[&[8], &[9]],   // batchedMatmul
        1350 => &[&[3], &[4]],   // layerNormalization: gamma, beta
        1471 => &[&[60], &[61]], // convolution3d
        _ => &[],
    }
}

/// Fields of branch / loop layer parameters that hold a whole `NeuralNetwork`.
pub fn nested_networks(layer_type: u32) -> &'static [u32] {
    match layer_type {
        LAYER_BRANCH => &[1, 2], // ifBranch, elseBranch
        LAYER_LOOP => &[3, 4],   // conditionNetwork, bodyNetwork
        _ => &[],
    }
}

// ---- MIL.proto ------------------------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
pub struct Program {
    #[prost(int64, tag = "1")]
    pub version: i64,
    #[prost(btree_map = "string, message", tag = "2")]
    pub functions: BTreeMap<String, Function>,
    #[prost(string, tag = "3")]
    pub doc_string: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Function {
    #[prost(message, repeated, tag = "1")]
    pub inputs: Vec<NamedValueType>,
    #[prost(string, tag = "2")]
    pub opset: String,
    /// Opset name → the function body for that opset.
    #[prost(btree_map = "string, message", tag = "3")]
    pub block_specializations: BTreeMap<String, Block>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Block {
    #[prost(message, repeated, tag = "1")]
    pub inputs: Vec<NamedValueType>,
    #[prost(string, repeated, tag = "2")]
    pub outputs: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    pub operations: Vec<Operation>,
}

/// `Operation` without `inputs` (2) and `outputs` (3), which inspection does not need.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Operation {
    #[prost(string, tag = "1")]
    pub r#type: String,
    #[prost(message, repeated, tag = "4")]
    pub blocks: Vec<Block>,
    #[prost(btree_map = "string, message", tag = "5")]
    pub attributes: BTreeMap<String, Value>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedValueType {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<ValueType>,
}

/// `ValueType` with only its `tensorType` case; list, tuple, dictionary and state types are
/// skipped.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueType {
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorType>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorType {
    /// MIL `DataType`.
    #[prost(int32, tag = "1")]
    pub data_type: i32,
    #[prost(int64, tag = "2")]
    pub rank: i64,
    #[prost(message, repeated, tag = "3")]
    pub dimensions: Vec<Dimension>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Dimension {
    #[prost(oneof = "DimensionKind", tags = "1, 2")]
    pub kind: Option<DimensionKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DimensionKind {
    #[prost(message, tag = "1")]
    Constant(ConstantDimension),
    #[prost(message, tag = "2")]
    Unknown(UnknownDimension),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConstantDimension {
    #[prost(uint64, tag = "1")]
    pub size: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UnknownDimension {
    #[prost(bool, tag = "1")]
    pub variadic: bool,
}

/// `Value` without `immediateValue` (3): inline constants are skipped, not copied.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    #[prost(string, tag = "1")]
    pub doc_string: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<ValueType>,
    #[prost(message, optional, tag = "5")]
    pub blob_file_value: Option<BlobFileValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BlobFileValue {
    /// `@model_path/weights/weight.bin`: relative to the directory of the model file.
    #[prost(string, tag = "1")]
    pub file_name: String,
    /// Offset of the blob's metadata record in that file.
    #[prost(uint64, tag = "2")]
    pub offset: u64,
}

// ---- field numbers → names --------------------------------------------------------------

pub fn name_of(table: &[(u32, &'static str)], number: u32) -> Option<&'static str> {
    table
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, name)| *name)
}

/// Every case of the `Model.Type` oneof.
pub const MODEL_TYPES: &[(u32, &str)] = &[
    (200, "pipelineClassifier"),
    (201, "pipelineRegressor"),
    (202, "pipeline"),
    (300, "glmRegressor"),
    (301, "supportVectorRegressor"),
    (302, "treeEnsembleRegressor"),
    (303, "neuralNetworkRegressor"),
    (304, "bayesianProbitRegressor"),
    (400, "glmClassifier"),
    (401, "supportVectorClassifier"),
    (402, "treeEnsembleClassifier"),
    (403, "neuralNetworkClassifier"),
    (404, "kNearestNeighborsClassifier"),
    (500, "neuralNetwork"),
    (501, "itemSimilarityRecommender"),
    (502, "mlProgram"),
    (555, "customModel"),
    (556, "linkedModel"),
    (560, "classConfidenceThresholding"),
    (600, "oneHotEncoder"),
    (601, "imputer"),
    (602, "featureVectorizer"),
    (603, "dictVectorizer"),
    (604, "scaler"),
    (606, "categoricalMapping"),
    (607, "normalizer"),
    (609, "arrayFeatureExtractor"),
    (610, "nonMaximumSuppression"),
    (900, "identity"),
    (2000, "textClassifier"),
    (2001, "wordTagger"),
    (2002, "visionFeaturePrint"),
    (2003, "soundAnalysisPreprocessing"),
    (2004, "gazetteer"),
    (2005, "wordEmbedding"),
    (2006, "audioFeaturePrint"),
    (3000, "serializedModel"),
];

/// Every case of the `NeuralNetworkLayer.layer` oneof.
pub const LAYER_TYPES: &[(u32, &str)] = &[
    (100, "convolution"),
    (120, "pooling"),
    (130, "activation"),
    (140, "innerProduct"),
    (150, "embedding"),
    (160, "batchnorm"),
    (165, "mvn"),
    (170, "l2normalize"),
    (175, "softmax"),
    (180, "lrn"),
    (190, "crop"),
    (200, "padding"),
    (210, "upsample"),
    (211, "resizeBilinear"),
    (212, "cropResize"),
    (220, "unary"),
    (230, "add"),
    (231, "multiply"),
    (240, "average"),
    (245, "scale"),
    (250, "bias"),
    (260, "max"),
    (261, "min"),
    (270, "dot"),
    (280, "reduce"),
    (290, "loadConstant"),
    (300, "reshape"),
    (301, "flatten"),
    (310, "permute"),
    (320, "concat"),
    (330, "split"),
    (340, "sequenceRepeat"),
    (345, "reorganizeData"),
    (350, "slice"),
    (400, "simpleRecurrent"),
    (410, "gru"),
    (420, "uniDirectionalLSTM"),
    (430, "biDirectionalLSTM"),
    (500, "custom"),
    (600, "copy"),
    (605, "branch"),
    (615, "loop"),
    (620, "loopBreak"),
    (625, "loopContinue"),
    (635, "rangeStatic"),
    (640, "rangeDynamic"),
    (660, "clip"),
    (665, "ceil"),
    (670, "floor"),
    (680, "sign"),
    (685, "round"),
    (700, "exp2"),
    (710, "sin"),
    (715, "cos"),
    (720, "tan"),
    (730, "asin"),
    (735, "acos"),
    (740, "atan"),
    (750, "sinh"),
    (755, "cosh"),
    (760, "tanh"),
    (770, "asinh"),
    (775, "acosh"),
    (780, "atanh"),
    (790, "erf"),
    (795, "gelu"),
    (815, "equal"),
    (820, "notEqual"),
    (825, "lessThan"),
    (827, "lessEqual"),
    (830, "greaterThan"),
    (832, "greaterEqual"),
    (840, "logicalOr"),
    (845, "logicalXor"),
    (850, "logicalNot"),
    (855, "logicalAnd"),
    (865, "modBroadcastable"),
    (870, "minBroadcastable"),
    (875, "maxBroadcastable"),
    (880, "addBroadcastable"),
    (885, "powBroadcastable"),
    (890, "divideBroadcastable"),
    (895, "floorDivBroadcastable"),
    (900, "multiplyBroadcastable"),
    (905, "subtractBroadcastable"),
    (920, "tile"),
    (925, "stack"),
    (930, "gather"),
    (935, "scatter"),
    (940, "gatherND"),
    (945, "scatterND"),
    (950, "softmaxND"),
    (952, "gatherAlongAxis"),
    (954, "scatterAlongAxis"),
    (960, "reverse"),
    (965, "reverseSeq"),
    (975, "splitND"),
    (980, "concatND"),
    (985, "transpose"),
    (995, "sliceStatic"),
    (1000, "sliceDynamic"),
    (1005, "slidingWindows"),
    (1015, "topK"),
    (1020, "argMin"),
    (1025, "argMax"),
    (1040, "embeddingND"),
    (1045, "batchedMatmul"),
    (1065, "getShape"),
    (1070, "loadConstantND"),
    (1080, "fillLike"),
    (1085, "fillStatic"),
    (1090, "fillDynamic"),
    (1100, "broadcastToLike"),
    (1105, "broadcastToStatic"),
    (1110, "broadcastToDynamic"),
    (1120, "squeeze"),
    (1125, "expandDims"),
    (1130, "flattenTo2D"),
    (1135, "reshapeLike"),
    (1140, "reshapeStatic"),
    (1145, "reshapeDynamic"),
    (1150, "rankPreservingReshape"),
    (1155, "constantPad"),
    (1170, "randomNormalLike"),
    (1175, "randomNormalStatic"),
    (1180, "randomNormalDynamic"),
    (1190, "randomUniformLike"),
    (1195, "randomUniformStatic"),
    (1200, "randomUniformDynamic"),
    (1210, "randomBernoulliLike"),
    (1215, "randomBernoulliStatic"),
    (1220, "randomBernoulliDynamic"),
    (1230, "categoricalDistribution"),
    (1250, "reduceL1"),
    (1255, "reduceL2"),
    (1260, "reduceMax"),
    (1265, "reduceMin"),
    (1270, "reduceSum"),
    (1275, "reduceProd"),
    (1280, "reduceMean"),
    (1285, "reduceLogSum"),
    (1290, "reduceSumSquare"),
    (1295, "reduceLogSumExp"),
    (1313, "whereNonZero"),
    (1315, "matrixBandPart"),
    (1320, "lowerTriangular"),
    (1325, "upperTriangular"),
    (1330, "whereBroadcastable"),
    (1350, "layerNormalization"),
    (1400, "NonMaximumSuppression"),
    (1450, "oneHot"),
    (1455, "cumSum"),
    (1460, "clampedReLU"),
    (1461, "argSort"),
    (1465, "pooling3d"),
    (1466, "globalPooling3d"),
    (1470, "sliceBySize"),
    (1471, "convolution3d"),
];
