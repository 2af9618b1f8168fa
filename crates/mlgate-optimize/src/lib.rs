//! `mlgate-optimize`: passes that turn a model into a smaller or faster variant of itself —
//! float16, dynamic int8, static int8 (QDQ, from calibration ranges), int4 weight blocks,
//! palettization (k-means lookup tables) and magnitude pruning — on mlgate-ir's lossless ONNX
//! model.
//!
//! May depend on `mlgate-ir` only: a pass rewrites a `ModelProto` and says what it did
//! ([`PassReport`]); it never runs a model, touches the registry or prints. Whether the result
//! loads and agrees with its parent is checked by the facade on a real runtime.
//!
//! Invariants:
//! - A pass either returns a complete, valid model or an [`OptimizeError`] that says what to
//!   do; it never returns half a rewrite. Inputs and outputs of the graph keep their names,
//!   element types and shapes, so every variant takes the parent's inputs.
//! - Passes are deterministic: the same model and [`Method`] give the same bytes, which is
//!   what lets the registry deduplicate a chain run twice.
//! - Initializers used inside control-flow subgraphs are left alone: their consumers are not
//!   visible at the top level.

mod error;
mod fp16;
mod graph;
mod int4;
mod int8;
mod int8_static;
mod kmeans;
mod opset;
mod palettize;
mod prune;
mod types;

pub use error::{OptimizeError, Result};
pub use int8_static::{
    calibration_model, quantize_static, uint8_params, ActivationRanges, Calibration,
    CalibrationPlan, RangeCollector, DEFAULT_PERCENTILE, HISTOGRAM_BINS,
};

use mlgate_ir::onnx::proto::ModelProto;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The family of a pass, as `mlgate optimize --pass` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    Quantize,
    Palettize,
    Prune,
}

impl Pass {
    pub const ALL: [Pass; 3] = [Pass::Quantize, Pass::Palettize, Pass::Prune];

    pub fn name(self) -> &'static str {
        match self {
            Pass::Quantize => "quantize",
            Pass::Palettize => "palettize",
            Pass::Prune => "prune",
        }
    }

    pub fn parse(s: &str) -> Option<Pass> {
        Pass::ALL.into_iter().find(|p| p.name() == s)
    }
}

/// One optimization, fully specified: the same method on the same model is the same variant.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// Float tensors stored and computed as float16. `keep_io_types`: the graph's float inputs
    /// and outputs stay float32 behind Casts, so callers feed the same tensors as before.
    Fp16 { keep_io_types: bool },
    /// Weights of MatMul, Gemm and Conv as int8 (symmetric), activations quantized at run
    /// time to uint8 (DynamicQuantizeLinear + MatMulInteger / ConvInteger).
    Int8 { per_channel: bool },
    /// Static int8 in QDQ form: activations into and out of MatMul, Gemm and Conv as uint8
    /// with scales fixed by calibration, weights int8 (per tensor or per output channel).
    /// `data` names the calibration data (a short content hash), so two calibration sets
    /// are two variants; `None` until the caller has read the data. Made by
    /// [`quantize_static`], not [`optimize_onnx`], since it needs the ranges of a run.
    Int8Static {
        per_channel: bool,
        calibration: Calibration,
        data: Option<String>,
    },
    /// MatMul/Gemm weights as int4 in blocks along the reduction axis, rebuilt by
    /// `DequantizeLinear(axis, block_size)` (opset 21).
    Int4 { block_size: usize },
    /// Weights clustered to `2^nbits` values (k-means), stored as a lookup table and packed
    /// indices; `group_size` output channels share one table (`None`: one per tensor).
    Palettize {
        nbits: u8,
        group_size: Option<usize>,
    },
    /// The smallest-magnitude weights set to zero, one global threshold, to `sparsity`.
    Prune { sparsity: f64 },
}

/// Block size of int4 weights when the user does not choose one.
pub const DEFAULT_INT4_BLOCK: usize = 32;
/// Bit widths palettization accepts.
pub const PALETTE_BITS: [u8; 5] = [1, 2, 4, 6, 8];
/// Tensors with fewer values than this are not pruned or palettized: they are biases,
/// scales and other small parameters whose every value matters and whose bytes do not.
pub const MIN_WEIGHT_ELEMENTS: usize = 256;

impl Method {
    /// The pass family this method belongs to.
    pub fn pass(&self) -> Pass {
        match self {
            Method::Fp16 { .. }
            | Method::Int8 { .. }
            | Method::Int8Static { .. }
            | Method::Int4 { .. } => Pass::Quantize,
            Method::Palettize { .. } => Pass::Palettize,
            Method::Prune { .. } => Pass::Prune,
        }
    }

    /// The registry's method id, which goes into the build id and lineage: `fp16`, `int8`,
    /// `int8_perchannel`, `int4_b32`, `palettize_4`, `palettize_4_g32`, `prune_0.50`,
    /// `int8_static_minmax_3fa94c1e`, `int8_static_perchannel_p99.999_3fa94c1e`.
    /// Options that change the model are part of it; `fp16` with float16 inputs and outputs
    /// is `fp16_io`; static int8 ends with its calibration data's hash once it is known.
    pub fn id(&self) -> String {
        match self {
            Method::Fp16 {
                keep_io_types: true,
            } => "fp16".into(),
            Method::Fp16 {
                keep_io_types: false,
            } => "fp16_io".into(),
            Method::Int8 { per_channel: false } => "int8".into(),
            Method::Int8 { per_channel: true } => "int8_perchannel".into(),
            Method::Int8Static {
                per_channel,
                calibration,
                data,
            } => {
                let mut id = "int8_static".to_string();
                if *per_channel {
                    id += "_perchannel";
                }
                id += "_";
                id += &calibration.id();
                if let Some(d) = data {
                    id += "_";
                    id += d;
                }
                id
            }
            Method::Int4 { block_size } => format!("int4_b{block_size}"),
            Method::Palettize {
                nbits,
                group_size: None,
            } => format!("palettize_{nbits}"),
            Method::Palettize {
                nbits,
                group_size: Some(g),
            } => format!("palettize_{nbits}_g{g}"),
            Method::Prune { sparsity } => format!("prune_{sparsity:.2}"),
        }
    }

    /// The method an id names ([`Method::id`]'s inverse, also accepting `int4` for the
    /// default block and `palettize` for 4 bits). `None` for anything else.
    pub fn parse_id(id: &str) -> Option<Method> {
        let method = match id {
            "fp16" => Method::Fp16 {
                keep_io_types: true,
            },
            "fp16_io" => Method::Fp16 {
                keep_io_types: false,
            },
            "int8" => Method::Int8 { per_channel: false },
            "int8_perchannel" => Method::Int8 { per_channel: true },
            "int4" => Method::Int4 {
                block_size: DEFAULT_INT4_BLOCK,
            },
            "palettize" => Method::Palettize {
                nbits: 4,
                group_size: None,
            },
            _ => {
                if let Some(rest) = id.strip_prefix("int8_static") {
                    return parse_static(rest);
                }
                if let Some(b) = id.strip_prefix("int4_b") {
                    Method::Int4 {
                        block_size: b.parse().ok()?,
                    }
                } else if let Some(s) = id.strip_prefix("prune_") {
                    Method::Prune {
                        sparsity: s.parse().ok()?,
                    }
                } else if let Some(rest) = id.strip_prefix("palettize_") {
                    let (bits, group) = match rest.split_once("_g") {
                        Some((b, g)) => (b, Some(g.parse().ok()?)),
                        None => (rest, None),
                    };
                    Method::Palettize {
                        nbits: bits.parse().ok()?,
                        group_size: group,
                    }
                } else {
                    return None;
                }
            }
        };
        Some(method)
    }

    /// Checks the method's own parameters (not the model): a bad value is an
    /// [`OptimizeError::Invalid`] naming the flag.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Method::Fp16 { .. } | Method::Int8 { .. } => Ok(()),
            Method::Int8Static {
                calibration,
                ref data,
                ..
            } => {
                if let Calibration::Percentile(p) = calibration {
                    if !(90.0..=100.0).contains(&p) {
                        return Err(OptimizeError::invalid(
                            "--calibrate",
                            format!("percentile {p}"),
                            "use a percentile from 90 to 100 (99.999 by default)",
                        ));
                    }
                }
                if let Some(d) = data {
                    if !is_data_hash(d) {
                        return Err(OptimizeError::invalid(
                            "calibration data hash",
                            d,
                            "use 8 lowercase hexadecimal digits",
                        ));
                    }
                }
                Ok(())
            }
            Method::Int4 { block_size } => {
                if block_size < 16 || !block_size.is_power_of_two() || block_size > 4096 {
                    return Err(OptimizeError::invalid(
                        "--block-size",
                        block_size,
                        "use a power of two from 16 to 4096 (32 is the usual choice)",
                    ));
                }
                Ok(())
            }
            Method::Palettize { nbits, group_size } => {
                if !PALETTE_BITS.contains(&nbits) {
                    return Err(OptimizeError::invalid(
                        "--nbits",
                        nbits,
                        "use 1, 2, 4, 6 or 8 bits per weight",
                    ));
                }
                if group_size == Some(0) {
                    return Err(OptimizeError::invalid(
                        "--group-size",
                        0,
                        "use a number of output channels per lookup table, e.g. 16 or 32",
                    ));
                }
                Ok(())
            }
            Method::Prune { sparsity } => {
                if !(sparsity > 0.0 && sparsity < 1.0) {
                    return Err(OptimizeError::invalid(
                        "--sparsity",
                        sparsity,
                        "use a fraction of weights to zero, above 0 and below 1 (e.g. 0.5)",
                    ));
                }
                Ok(())
            }
        }
    }
}

fn is_data_hash(s: &str) -> bool {
    s.len() == 8
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `int8_static` ids after the prefix: `[_perchannel][_minmax|_pP][_HASH]`.
fn parse_static(rest: &str) -> Option<Method> {
    let mut parts: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.strip_prefix('_')?.split('_').collect()
    };
    let per_channel = parts.first() == Some(&"perchannel");
    if per_channel {
        parts.remove(0);
    }
    let mut calibration = Calibration::MinMax;
    if let Some(c) = parts.first().and_then(|p| Calibration::parse_id(p)) {
        calibration = c;
        parts.remove(0);
    }
    let data = match parts.as_slice() {
        [] => None,
        [d] if is_data_hash(d) => Some(d.to_string()),
        _ => return None,
    };
    Some(Method::Int8Static {
        per_channel,
        calibration,
        data,
    })
}

/// What a pass did, in numbers a person can check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PassReport {
    /// The registry's method id ([`Method::id`]).
    pub method: String,
    /// Initializers the pass rewrote.
    pub tensors_changed: usize,
    /// Initializers it looked at and left alone, with why (first few).
    pub tensors_skipped: usize,
    /// Bytes of the initializers the pass rewrote, before.
    pub weight_bytes_before: u64,
    /// Bytes of what replaced them (data, scales, lookup tables), after.
    pub weight_bytes_after: u64,
    /// Nodes added to the graph (casts, dequantization, unpacking).
    pub nodes_added: usize,
    /// Opset of the default domain before and after (raised only when the method needs it).
    pub opset_before: i64,
    pub opset_after: i64,
    /// Plain statements about the result a user should know (e.g. that a runtime folds the
    /// lookup tables back to float at load, or that zeros do not speed up dense kernels).
    pub notes: Vec<String>,
}

/// Applies `method` to an ONNX model and returns the variant with what was done. The input
/// model is not modified.
pub fn optimize_onnx(model: &ModelProto, method: &Method) -> Result<(ModelProto, PassReport)> {
    method.validate()?;
    let graph = model.graph.as_ref().ok_or_else(|| {
        OptimizeError::unsupported("the model has no graph; it cannot be optimized")
    })?;
    graph::require_inline_data(graph)?;
    let opset_before = opset::default_opset(model);
    let mut out = model.clone();
    let hoisted = graph::hoist_constants(&mut out);
    let mut report = match method {
        Method::Fp16 { keep_io_types } => fp16::convert(&mut out, *keep_io_types)?,
        Method::Int8 { per_channel } => int8::quantize_dynamic(&mut out, *per_channel)?,
        Method::Int8Static { .. } => {
            return Err(OptimizeError::unsupported(
                "int8_static needs activation ranges from calibration data: use \
                 calibration_model, run it on the samples, then quantize_static (the CLI: \
                 mlgate optimize --method int8_static --calibration-data PATH)",
            ))
        }
        Method::Int4 { block_size } => int4::quantize_blocks(&mut out, *block_size)?,
        Method::Palettize { nbits, group_size } => {
            palettize::palettize(&mut out, *nbits, *group_size)?
        }
        Method::Prune { sparsity } => prune::prune(&mut out, *sparsity)?,
    };
    report.method = method.id();
    if hoisted > 0 {
        report.notes.push(format!(
            "{hoisted} Constant nodes became initializers first, so their weights could be \
             rewritten"
        ));
    }
    report.opset_before = opset_before;
    report.opset_after = opset::default_opset(&out);
    Ok((out, report))
}

impl PassReport {
    pub(crate) fn new() -> PassReport {
        PassReport {
            method: String::new(),
            tensors_changed: 0,
            tensors_skipped: 0,
            weight_bytes_before: 0,
            weight_bytes_after: 0,
            nodes_added: 0,
            opset_before: 0,
            opset_after: 0,
            notes: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
