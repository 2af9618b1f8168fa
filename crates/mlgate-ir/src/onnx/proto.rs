//! The ONNX protobuf schema (`package onnx`, IR version 14 era, onnx 1.23), as prost messages.
//!
//! Written by hand from the published onnx.proto specification rather than generated, so the
//! build needs no protoc and no build script. Field numbers, wire types and enum values are
//! facts of the format and match the specification exactly; names follow prost's code
//! generation conventions (nested types live in snake_case modules named after their parent).
//!
//! The schema is proto2, and that matters for writing models back:
//! - optional scalars are `Option<T>`, so a field explicitly set to its default (`ir_version:
//!   0`, an empty `producer_name`) is still written, as the reference implementation does;
//! - repeated scalars are unpacked unless the specification says `[packed = true]` (only the
//!   typed data fields of `TensorProto` do), so re-encoding a file reproduces its bytes;
//! - enum-typed fields are raw `i32`, because a model may carry values newer than this schema
//!   and those must survive a round trip.
//!
//! Every field of the specification is modelled: prost drops unknown fields, so a missing
//! field here would silently lose data when a model is rewritten.

/// IR versions, by publication date. `IrVersion` is the newest the schema describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum Version {
    StartVersion = 0,
    IrVersion20171010 = 1,
    IrVersion20171030 = 2,
    IrVersion2017113 = 3,
    IrVersion2019122 = 4,
    IrVersion2019318 = 5,
    IrVersion2019919 = 6,
    IrVersion202058 = 7,
    IrVersion2021730 = 8,
    IrVersion202355 = 9,
    IrVersion2024325 = 10,
    IrVersion20250512 = 11,
    IrVersion20250826 = 12,
    IrVersion20251106 = 13,
    IrVersion = 14,
}

impl Version {
    /// The value's name in the specification.
    pub fn as_str_name(&self) -> &'static str {
        match self {
            Self::StartVersion => "_START_VERSION",
            Self::IrVersion20171010 => "IR_VERSION_2017_10_10",
            Self::IrVersion20171030 => "IR_VERSION_2017_10_30",
            Self::IrVersion2017113 => "IR_VERSION_2017_11_3",
            Self::IrVersion2019122 => "IR_VERSION_2019_1_22",
            Self::IrVersion2019318 => "IR_VERSION_2019_3_18",
            Self::IrVersion2019919 => "IR_VERSION_2019_9_19",
            Self::IrVersion202058 => "IR_VERSION_2020_5_8",
            Self::IrVersion2021730 => "IR_VERSION_2021_7_30",
            Self::IrVersion202355 => "IR_VERSION_2023_5_5",
            Self::IrVersion2024325 => "IR_VERSION_2024_3_25",
            Self::IrVersion20250512 => "IR_VERSION_2025_05_12",
            Self::IrVersion20250826 => "IR_VERSION_2025_08_26",
            Self::IrVersion20251106 => "IR_VERSION_2025_11_06",
            Self::IrVersion => "IR_VERSION",
        }
    }

    pub fn from_str_name(value: &str) -> Option<Self> {
        Some(match value {
            "_START_VERSION" => Self::StartVersion,
            "IR_VERSION_2017_10_10" => Self::IrVersion20171010,
            "IR_VERSION_2017_10_30" => Self::IrVersion20171030,
            "IR_VERSION_2017_11_3" => Self::IrVersion2017113,
            "IR_VERSION_2019_1_22" => Self::IrVersion2019122,
            "IR_VERSION_2019_3_18" => Self::IrVersion2019318,
            "IR_VERSION_2019_9_19" => Self::IrVersion2019919,
            "IR_VERSION_2020_5_8" => Self::IrVersion202058,
            "IR_VERSION_2021_7_30" => Self::IrVersion2021730,
            "IR_VERSION_2023_5_5" => Self::IrVersion202355,
            "IR_VERSION_2024_3_25" => Self::IrVersion2024325,
            "IR_VERSION_2025_05_12" => Self::IrVersion20250512,
            "IR_VERSION_2025_08_26" => Self::IrVersion20250826,
            "IR_VERSION_2025_11_06" => Self::IrVersion20251106,
            "IR_VERSION" => Self::IrVersion,
            _ => return None,
        })
    }
}

/// A named attribute of a node or function. Exactly one value field is meant to be set, and
/// `type` says which; `ref_attr_name` instead refers to an attribute of the enclosing function.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct AttributeProto {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "21")]
    pub ref_attr_name: Option<String>,
    #[prost(string, optional, tag = "13")]
    pub doc_string: Option<String>,
    #[prost(enumeration = "attribute_proto::AttributeType", optional, tag = "20")]
    pub r#type: Option<i32>,
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    /// UTF-8 by convention, but kept as bytes: the specification does not enforce it.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub s: Option<Vec<u8>>,
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    #[prost(message, optional, tag = "6")]
    pub g: Option<GraphProto>,
    #[prost(message, optional, tag = "22")]
    pub sparse_tensor: Option<SparseTensorProto>,
    #[prost(message, optional, tag = "14")]
    pub tp: Option<TypeProto>,
    #[prost(float, repeated, packed = "false", tag = "7")]
    pub floats: Vec<f32>,
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
    #[prost(message, repeated, tag = "10")]
    pub tensors: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    pub graphs: Vec<GraphProto>,
    #[prost(message, repeated, tag = "23")]
    pub sparse_tensors: Vec<SparseTensorProto>,
    #[prost(message, repeated, tag = "15")]
    pub type_protos: Vec<TypeProto>,
}

/// Nested types of [`AttributeProto`].
pub mod attribute_proto {
    /// Which value field of an attribute is in use.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
    #[repr(i32)]
    pub enum AttributeType {
        Undefined = 0,
        Float = 1,
        Int = 2,
        String = 3,
        Tensor = 4,
        Graph = 5,
        SparseTensor = 11,
        TypeProto = 13,
        Floats = 6,
        Ints = 7,
        Strings = 8,
        Tensors = 9,
        Graphs = 10,
        SparseTensors = 12,
        TypeProtos = 14,
    }

    impl AttributeType {
        /// The value's name in the specification.
        pub fn as_str_name(&self) -> &'static str {
            match self {
                Self::Undefined => "UNDEFINED",
                Self::Float => "FLOAT",
                Self::Int => "INT",
                Self::String => "STRING",
                Self::Tensor => "TENSOR",
                Self::Graph => "GRAPH",
                Self::SparseTensor => "SPARSE_TENSOR",
                Self::TypeProto => "TYPE_PROTO",
                Self::Floats => "FLOATS",
                Self::Ints => "INTS",
                Self::Strings => "STRINGS",
                Self::Tensors => "TENSORS",
                Self::Graphs => "GRAPHS",
                Self::SparseTensors => "SPARSE_TENSORS",
                Self::TypeProtos => "TYPE_PROTOS",
            }
        }

        pub fn from_str_name(value: &str) -> Option<Self> {
            Some(match value {
                "UNDEFINED" => Self::Undefined,
                "FLOAT" => Self::Float,
                "INT" => Self::Int,
                "STRING" => Self::String,
                "TENSOR" => Self::Tensor,
                "GRAPH" => Self::Graph,
                "SPARSE_TENSOR" => Self::SparseTensor,
                "TYPE_PROTO" => Self::TypeProto,
                "FLOATS" => Self::Floats,
                "INTS" => Self::Ints,
                "STRINGS" => Self::Strings,
                "TENSORS" => Self::Tensors,
                "GRAPHS" => Self::Graphs,
                "SPARSE_TENSORS" => Self::SparseTensors,
                "TYPE_PROTOS" => Self::TypeProtos,
                _ => return None,
            })
        }
    }
}

/// Name, type and shape of a value (a graph input, output or intermediate).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ValueInfoProto {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    #[prost(string, optional, tag = "3")]
    pub doc_string: Option<String>,
    #[prost(message, repeated, tag = "4")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// One operator invocation in a graph or function body.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub op_type: Option<String>,
    /// Empty or absent means the default `ai.onnx` domain.
    #[prost(string, optional, tag = "7")]
    pub domain: Option<String>,
    /// Selects among model-local functions that share `domain` and `op_type`.
    #[prost(string, optional, tag = "8")]
    pub overload: Option<String>,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    #[prost(string, optional, tag = "6")]
    pub doc_string: Option<String>,
    #[prost(message, repeated, tag = "9")]
    pub metadata_props: Vec<StringStringEntryProto>,
    #[prost(message, repeated, tag = "10")]
    pub device_configurations: Vec<NodeDeviceConfigurationProto>,
}

/// One entry of an int64 → list of int64 map (protobuf maps are not used by ONNX).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct IntIntListEntryProto {
    #[prost(int64, optional, tag = "1")]
    pub key: Option<i64>,
    #[prost(int64, repeated, packed = "false", tag = "2")]
    pub value: Vec<i64>,
}

/// How one node is placed under a multi-device configuration.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct NodeDeviceConfigurationProto {
    /// Names a [`DeviceConfigurationProto`] of the model.
    #[prost(string, optional, tag = "1")]
    pub configuration_id: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub sharding_spec: Vec<ShardingSpecProto>,
    #[prost(int32, optional, tag = "3")]
    pub pipeline_stage: Option<i32>,
}

/// How one tensor of a node is sharded across devices.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ShardingSpecProto {
    #[prost(string, optional, tag = "1")]
    pub tensor_name: Option<String>,
    #[prost(int64, repeated, packed = "false", tag = "2")]
    pub device: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub index_to_device_group_map: Vec<IntIntListEntryProto>,
    #[prost(message, repeated, tag = "4")]
    pub sharded_dim: Vec<ShardedDimProto>,
}

/// Sharding of one tensor axis.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ShardedDimProto {
    #[prost(int64, optional, tag = "1")]
    pub axis: Option<i64>,
    #[prost(message, repeated, tag = "2")]
    pub simple_sharding: Vec<SimpleShardedDimProto>,
}

/// A split of (part of) an axis into equal shards.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SimpleShardedDimProto {
    #[prost(int64, optional, tag = "3")]
    pub num_shards: Option<i64>,
    #[prost(oneof = "simple_sharded_dim_proto::Dim", tags = "1, 2")]
    pub dim: Option<simple_sharded_dim_proto::Dim>,
}

/// Nested types of [`SimpleShardedDimProto`].
pub mod simple_sharded_dim_proto {
    /// The extent being sharded: a number or a symbolic name.
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Dim {
        #[prost(int64, tag = "1")]
        DimValue(i64),
        #[prost(string, tag = "2")]
        DimParam(String),
    }
}

/// An initialization step and a training step that update the model's initializers.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TrainingInfoProto {
    #[prost(message, optional, tag = "1")]
    pub initialization: Option<GraphProto>,
    #[prost(message, optional, tag = "2")]
    pub algorithm: Option<GraphProto>,
    #[prost(message, repeated, tag = "3")]
    pub initialization_binding: Vec<StringStringEntryProto>,
    #[prost(message, repeated, tag = "4")]
    pub update_binding: Vec<StringStringEntryProto>,
}

/// The top-level message of an `.onnx` file.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ModelProto {
    #[prost(int64, optional, tag = "1")]
    pub ir_version: Option<i64>,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(string, optional, tag = "2")]
    pub producer_name: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub producer_version: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub domain: Option<String>,
    #[prost(int64, optional, tag = "5")]
    pub model_version: Option<i64>,
    #[prost(string, optional, tag = "6")]
    pub doc_string: Option<String>,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
    #[prost(message, repeated, tag = "20")]
    pub training_info: Vec<TrainingInfoProto>,
    /// Model-local functions, callable from nodes by `domain` + `op_type` (+ `overload`).
    #[prost(message, repeated, tag = "25")]
    pub functions: Vec<FunctionProto>,
    #[prost(message, repeated, tag = "26")]
    pub configuration: Vec<DeviceConfigurationProto>,
}

/// A set of devices a model may be distributed over.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct DeviceConfigurationProto {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(int32, optional, tag = "2")]
    pub num_devices: Option<i32>,
    #[prost(string, repeated, tag = "3")]
    pub device: Vec<String>,
}

/// One entry of a string → string map (protobuf maps are not used by ONNX).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct StringStringEntryProto {
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// Names the tensors holding a tensor's quantization parameters (`SCALE_TENSOR`, ...).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TensorAnnotation {
    #[prost(string, optional, tag = "1")]
    pub tensor_name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub quant_parameter_tensor_names: Vec<StringStringEntryProto>,
}

/// A computation graph: the model's main graph, or a subgraph held by an attribute.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "15")]
    pub sparse_initializer: Vec<SparseTensorProto>,
    #[prost(string, optional, tag = "10")]
    pub doc_string: Option<String>,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "14")]
    pub quantization_annotation: Vec<TensorAnnotation>,
    #[prost(message, repeated, tag = "16")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// A tensor value: its type, shape, and data inline (`raw_data` or one typed field) or in an
/// external file (`data_location` = EXTERNAL, described by `external_data`).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TensorProto {
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    /// A [`tensor_proto::DataType`] value; plain `int32` in the specification.
    #[prost(int32, optional, tag = "2")]
    pub data_type: Option<i32>,
    #[prost(message, optional, tag = "3")]
    pub segment: Option<tensor_proto::Segment>,
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// Also holds the narrow integer, bool, float16/bfloat16 and float8 types, widened.
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_data: Vec<Vec<u8>>,
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    #[prost(string, optional, tag = "8")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub doc_string: Option<String>,
    /// Little-endian, densely packed elements.
    #[prost(bytes = "vec", optional, tag = "9")]
    pub raw_data: Option<Vec<u8>>,
    /// Keys `location`, `offset`, `length`, `checksum` when the data is external.
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    #[prost(enumeration = "tensor_proto::DataLocation", optional, tag = "14")]
    pub data_location: Option<i32>,
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    #[prost(uint64, repeated, tag = "11")]
    pub uint64_data: Vec<u64>,
    #[prost(message, repeated, tag = "16")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// Nested types of [`TensorProto`].
pub mod tensor_proto {
    /// Element types. Values are stable across IR versions; new ones are only appended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
    #[repr(i32)]
    pub enum DataType {
        Undefined = 0,
        Float = 1,
        Uint8 = 2,
        Int8 = 3,
        Uint16 = 4,
        Int16 = 5,
        Int32 = 6,
        Int64 = 7,
        String = 8,
        Bool = 9,
        Float16 = 10,
        Double = 11,
        Uint32 = 12,
        Uint64 = 13,
        Complex64 = 14,
        Complex128 = 15,
        Bfloat16 = 16,
        Float8e4m3fn = 17,
        Float8e4m3fnuz = 18,
        Float8e5m2 = 19,
        Float8e5m2fnuz = 20,
        Uint4 = 21,
        Int4 = 22,
        Float4e2m1 = 23,
        Float8e8m0 = 24,
        Uint2 = 25,
        Int2 = 26,
        Float6e2m3 = 27,
        Float6e3m2 = 28,
    }

    impl DataType {
        /// The value's name in the specification.
        pub fn as_str_name(&self) -> &'static str {
            match self {
                Self::Undefined => "UNDEFINED",
                Self::Float => "FLOAT",
                Self::Uint8 => "UINT8",
                Self::Int8 => "INT8",
                Self::Uint16 => "UINT16",
                Self::Int16 => "INT16",
                Self::Int32 => "INT32",
                Self::Int64 => "INT64",
                Self::String => "STRING",
                Self::Bool => "BOOL",
                Self::Float16 => "FLOAT16",
                Self::Double => "DOUBLE",
                Self::Uint32 => "UINT32",
                Self::Uint64 => "UINT64",
                Self::Complex64 => "COMPLEX64",
                Self::Complex128 => "COMPLEX128",
                Self::Bfloat16 => "BFLOAT16",
                Self::Float8e4m3fn => "FLOAT8E4M3FN",
                Self::Float8e4m3fnuz => "FLOAT8E4M3FNUZ",
                Self::Float8e5m2 => "FLOAT8E5M2",
                Self::Float8e5m2fnuz => "FLOAT8E5M2FNUZ",
                Self::Uint4 => "UINT4",
                Self::Int4 => "INT4",
                Self::Float4e2m1 => "FLOAT4E2M1",
                Self::Float8e8m0 => "FLOAT8E8M0",
                Self::Uint2 => "UINT2",
                Self::Int2 => "INT2",
                Self::Float6e2m3 => "FLOAT6E2M3",
                Self::Float6e3m2 => "FLOAT6E3M2",
            }
        }

        pub fn from_str_name(value: &str) -> Option<Self> {
            Some(match value {
                "UNDEFINED" => Self::Undefined,
                "FLOAT" => Self::Float,
                "UINT8" => Self::Uint8,
                "INT8" => Self::Int8,
                "UINT16" => Self::Uint16,
                "INT16" => Self::Int16,
                "INT32" => Self::Int32,
                "INT64" => Self::Int64,
                "STRING" => Self::String,
                "BOOL" => Self::Bool,
                "FLOAT16" => Self::Float16,
                "DOUBLE" => Self::Double,
                "UINT32" => Self::Uint32,
                "UINT64" => Self::Uint64,
                "COMPLEX64" => Self::Complex64,
                "COMPLEX128" => Self::Complex128,
                "BFLOAT16" => Self::Bfloat16,
                "FLOAT8E4M3FN" => Self::Float8e4m3fn,
                "FLOAT8E4M3FNUZ" => Self::Float8e4m3fnuz,
                "FLOAT8E5M2" => Self::Float8e5m2,
                "FLOAT8E5M2FNUZ" => Self::Float8e5m2fnuz,
                "UINT4" => Self::Uint4,
                "INT4" => Self::Int4,
                "FLOAT4E2M1" => Self::Float4e2m1,
                "FLOAT8E8M0" => Self::Float8e8m0,
                "UINT2" => Self::Uint2,
                "INT2" => Self::Int2,
                "FLOAT6E2M3" => Self::Float6e2m3,
                "FLOAT6E3M2" => Self::Float6e3m2,
                _ => return None,
            })
        }
    }

    /// A slice of a large tensor serialized as several TensorProtos.
    #[derive(Clone, Copy, PartialEq, ::prost::Message)]
    pub struct Segment {
        #[prost(int64, optional, tag = "1")]
        pub begin: Option<i64>,
        #[prost(int64, optional, tag = "2")]
        pub end: Option<i64>,
    }

    /// Where a tensor's data lives.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
    #[repr(i32)]
    pub enum DataLocation {
        Default = 0,
        External = 1,
    }

    impl DataLocation {
        /// The value's name in the specification.
        pub fn as_str_name(&self) -> &'static str {
            match self {
                Self::Default => "DEFAULT",
                Self::External => "EXTERNAL",
            }
        }

        pub fn from_str_name(value: &str) -> Option<Self> {
            Some(match value {
                "DEFAULT" => Self::Default,
                "EXTERNAL" => Self::External,
                _ => return None,
            })
        }
    }
}

/// A sparse tensor in COO format: the non-default `values` and their `indices`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SparseTensorProto {
    #[prost(message, optional, tag = "1")]
    pub values: Option<TensorProto>,
    #[prost(message, optional, tag = "2")]
    pub indices: Option<TensorProto>,
    /// Shape of the dense tensor this represents.
    #[prost(int64, repeated, packed = "false", tag = "3")]
    pub dims: Vec<i64>,
}

/// A tensor shape. An absent shape (in [`type_proto::Tensor`]) means unknown rank; a present
/// one with no dims is a scalar.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<tensor_shape_proto::Dimension>,
}

/// Nested types of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// One axis: a fixed extent, a named symbolic extent, or (neither set) unknown.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Dimension {
        /// Semantic label of the axis (`DATA_BATCH`, `DATA_CHANNEL`, ...).
        #[prost(string, optional, tag = "3")]
        pub denotation: Option<String>,
        #[prost(oneof = "dimension::Value", tags = "1, 2")]
        pub value: Option<dimension::Value>,
    }

    /// Nested types of [`Dimension`].
    pub mod dimension {
        #[derive(Clone, PartialEq, ::prost::Oneof)]
        pub enum Value {
            #[prost(int64, tag = "1")]
            DimValue(i64),
            #[prost(string, tag = "2")]
            DimParam(String),
        }
    }
}

/// The type of a value: a tensor, or a container of other types.
///
/// `prost::Message` is implemented by hand (below) rather than derived: the derive writes a
/// oneof before every field with a higher number than its lowest tag, but protobuf's own
/// serializers write fields in field-number order, and `denotation` (6) sits between the
/// oneof's members (1, 4, 5 | 7, 8, 9). Matching that keeps re-encoded files byte-identical.
#[derive(Clone, PartialEq, Default, Debug)]
pub struct TypeProto {
    /// Semantic label of the whole value (`IMAGE`, `AUDIO`, `TEXT`, ...).
    pub denotation: Option<String>,
    pub value: Option<type_proto::Value>,
}

impl TypeProto {
    const DENOTATION_TAG: u32 = 6;

    /// True when the set oneof member has a field number above `denotation`'s.
    fn value_after_denotation(&self) -> bool {
        use type_proto::Value;
        matches!(
            self.value,
            Some(Value::OpaqueType(_) | Value::SparseTensorType(_) | Value::OptionalType(_))
        )
    }
}

impl ::prost::Message for TypeProto {
    fn encode_raw(&self, buf: &mut impl ::prost::bytes::BufMut) {
        let late = self.value_after_denotation();
        if !late {
            if let Some(value) = &self.value {
                value.encode(buf);
            }
        }
        if let Some(denotation) = &self.denotation {
            ::prost::encoding::string::encode(Self::DENOTATION_TAG, denotation, buf);
        }
        if late {
            if let Some(value) = &self.value {
                value.encode(buf);
            }
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: ::prost::encoding::WireType,
        buf: &mut impl ::prost::bytes::Buf,
        ctx: ::prost::encoding::DecodeContext,
    ) -> Result<(), ::prost::DecodeError> {
        match tag {
            Self::DENOTATION_TAG => ::prost::encoding::string::merge(
                wire_type,
                self.denotation.get_or_insert_with(Default::default),
                buf,
                ctx,
            )
            .map_err(|mut e| {
                e.push("TypeProto", "denotation");
                e
            }),
            1 | 4 | 5 | 7 | 8 | 9 => {
                type_proto::Value::merge(&mut self.value, tag, wire_type, buf, ctx).map_err(
                    |mut e| {
                        e.push("TypeProto", "value");
                        e
                    },
                )
            }
            _ => ::prost::encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        self.denotation.as_ref().map_or(0, |d| {
            ::prost::encoding::string::encoded_len(Self::DENOTATION_TAG, d)
        }) + self
            .value
            .as_ref()
            .map_or(0, type_proto::Value::encoded_len)
    }

    fn clear(&mut self) {
        self.denotation = None;
        self.value = None;
    }
}

/// Nested types of [`TypeProto`].
pub mod type_proto {
    use super::{TensorShapeProto, TypeProto};

    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Tensor {
        /// A `tensor_proto::DataType` value; must not be UNDEFINED.
        #[prost(int32, optional, tag = "1")]
        pub elem_type: Option<i32>,
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShapeProto>,
    }

    /// A list of values of one type.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Sequence {
        // Boxed: the type is recursive (sequence of sequences of ...).
        #[prost(message, optional, boxed, tag = "1")]
        pub elem_type: Option<Box<TypeProto>>,
    }

    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Map {
        /// An integral or string `tensor_proto::DataType` value.
        #[prost(int32, optional, tag = "1")]
        pub key_type: Option<i32>,
        #[prost(message, optional, boxed, tag = "2")]
        pub value_type: Option<Box<TypeProto>>,
    }

    /// A value that may be absent.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Optional {
        #[prost(message, optional, boxed, tag = "1")]
        pub elem_type: Option<Box<TypeProto>>,
    }

    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct SparseTensor {
        /// A `tensor_proto::DataType` value.
        #[prost(int32, optional, tag = "1")]
        pub elem_type: Option<i32>,
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShapeProto>,
    }

    /// A type only its domain understands.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Opaque {
        #[prost(string, optional, tag = "1")]
        pub domain: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub name: Option<String>,
    }

    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Value {
        #[prost(message, tag = "1")]
        TensorType(Tensor),
        #[prost(message, tag = "4")]
        SequenceType(Sequence),
        #[prost(message, tag = "5")]
        MapType(Map),
        #[prost(message, tag = "9")]
        OptionalType(Optional),
        #[prost(message, tag = "8")]
        SparseTensorType(SparseTensor),
        #[prost(message, tag = "7")]
        OpaqueType(Opaque),
    }
}

/// An imported operator set: `domain` (empty for `ai.onnx`) at `version`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct OperatorSetIdProto {
    #[prost(string, optional, tag = "1")]
    pub domain: Option<String>,
    #[prost(int64, optional, tag = "2")]
    pub version: Option<i64>,
}

/// Maturity of an operator or function. No message refers to it any more; kept because the
/// specification still defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum OperatorStatus {
    Experimental = 0,
    Stable = 1,
}

impl OperatorStatus {
    /// The value's name in the specification.
    pub fn as_str_name(&self) -> &'static str {
        match self {
            Self::Experimental => "EXPERIMENTAL",
            Self::Stable => "STABLE",
        }
    }

    pub fn from_str_name(value: &str) -> Option<Self> {
        Some(match value {
            "EXPERIMENTAL" => Self::Experimental,
            "STABLE" => Self::Stable,
            _ => return None,
        })
    }
}

/// A model-local function: a named, reusable subgraph that nodes call like an operator.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct FunctionProto {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, repeated, tag = "4")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "5")]
    pub output: Vec<String>,
    /// Names of attributes without a default value.
    #[prost(string, repeated, tag = "6")]
    pub attribute: Vec<String>,
    /// Attributes with a default value.
    #[prost(message, repeated, tag = "11")]
    pub attribute_proto: Vec<AttributeProto>,
    #[prost(message, repeated, tag = "7")]
    pub node: Vec<NodeProto>,
    #[prost(string, optional, tag = "8")]
    pub doc_string: Option<String>,
    #[prost(message, repeated, tag = "9")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(string, optional, tag = "10")]
    pub domain: Option<String>,
    #[prost(string, optional, tag = "13")]
    pub overload: Option<String>,
    #[prost(message, repeated, tag = "12")]
    pub value_info: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

#[cfg(test)]
mod tests {
    use super::tensor_proto::DataType;
    use super::*;
    use prost::Message;

    #[test]
    fn type_proto_writes_fields_in_number_order() {
        let optional = TypeProto {
            denotation: Some("X".into()),
            value: Some(type_proto::Value::OptionalType(type_proto::Optional {
                elem_type: None,
            })),
        };
        let bytes = optional.encode_to_vec();
        // denotation (6) before optional_type (9)
        assert_eq!(bytes, [0x32, 1, b'X', 0x4a, 0]);
        assert_eq!(TypeProto::decode(&bytes[..]).unwrap(), optional);

        let tensor = TypeProto {
            denotation: Some("X".into()),
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: None,
            })),
        };
        let bytes = tensor.encode_to_vec();
        // tensor_type (1) before denotation (6)
        assert_eq!(bytes, [0x0a, 2, 0x08, 1, 0x32, 1, b'X']);
        assert_eq!(tensor.encoded_len(), bytes.len());

        // Unknown fields are skipped, not errors.
        let mut with_unknown = bytes.clone();
        with_unknown.extend([0x18, 5]);
        assert_eq!(TypeProto::decode(&with_unknown[..]).unwrap(), tensor);
    }

    #[test]
    fn proto2_presence_and_packing_follow_the_spec() {
        let t = TensorProto {
            dims: vec![1, 2],
            data_type: Some(0),
            int64_data: vec![3, 4],
            ..Default::default()
        };
        // dims unpacked, the explicit default data_type written, int64_data packed.
        assert_eq!(
            t.encode_to_vec(),
            [0x08, 1, 0x08, 2, 0x10, 0, 0x3a, 2, 3, 4]
        );
        let a = AttributeProto {
            ints: vec![5, 6],
            ..Default::default()
        };
        assert_eq!(a.encode_to_vec(), [0x40, 5, 0x40, 6]);
    }

    #[test]
    fn enum_names_round_trip() {
        for v in 0..=28 {
            let d = DataType::try_from(v).unwrap();
            assert_eq!(DataType::from_str_name(d.as_str_name()), Some(d));
        }
        assert!(DataType::try_from(29).is_err());
        for v in 0..=14 {
            let d = Version::try_from(v).unwrap();
            assert_eq!(Version::from_str_name(d.as_str_name()), Some(d));
        }
        for v in 0..=14 {
            if let Ok(t) = attribute_proto::AttributeType::try_from(v) {
                assert_eq!(
                    attribute_proto::AttributeType::from_str_name(t.as_str_name()),
                    Some(t)
                );
            }
        }
    }
}
