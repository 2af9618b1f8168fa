//! `mlgate optimize` and `mlgate accuracy`: variants of a build made by `mlgate-optimize`'s
//! passes, registered as its children, and how far a variant's outputs are from its parent's.
//!
//! A variant is registered only after it has loaded and run on a real runtime next to its
//! parent on the same inputs; a pass whose result does not run writes nothing.

use std::path::{Path, PathBuf};

use mlgate_backends::{BackendKind, RuntimeCatalog, RuntimeConfig, SessionOptions};
use mlgate_ir::tensor::{Tensor, TensorData};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use mlgate_optimize::{
    Calibration, Method, Pass, PassReport, DEFAULT_INT4_BLOCK, DEFAULT_PERCENTILE, PALETTE_BITS,
};

use crate::model::{self, ModelRef};
use crate::workspace::{Build, BuildRef, ImportRequest, Workspace};
use crate::{Error, Result};

/// The optimization flags as a user gives them (`--pass`, `--method`, ...), before they are
/// checked against each other by [`MethodFlags::method`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MethodFlags {
    /// `quantize`, `palettize` or `prune`.
    pub pass: String,
    /// With `quantize`: `fp16`, `int8`, `int8_static` or `int4`.
    pub method: Option<String>,
    /// int8 and int8_static: one weight scale per output channel instead of one per tensor.
    pub per_channel: bool,
    /// int8_static (required): a directory of images, a directory of `.npy` files (one
    /// sample each) or one `.npz` (first axis = samples). Read by [`optimize`], which gets it
    /// in [`OptimizeRequest::calibration_data`].
    pub calibration_data: Option<PathBuf>,
    /// int8_static: `minmax` (default), `percentile` (99.999) or `percentile:P`.
    pub calibrate: Option<String>,
    /// int4: values per block along the reduction axis (default 32).
    pub block_size: Option<usize>,
    /// palettize: bits per index (default 4).
    pub nbits: Option<u8>,
    /// palettize: output channels sharing one lookup table (default: one per tensor).
    pub group_size: Option<usize>,
    /// prune: fraction of eligible weights to zero (default 0.5).
    pub sparsity: Option<f64>,
    /// fp16: keep float32 graph inputs and outputs (default true).
    pub keep_io_types: Option<bool>,
}

/// Quantization methods `--method` accepts.
pub const QUANTIZE_METHODS: [&str; 4] = ["fp16", "int8", "int8_static", "int4"];

impl MethodFlags {
    /// The one [`Method`] these flags describe; a flag that does not apply to the pass, or a
    /// value out of range, is an error naming it.
    pub fn method(&self) -> Result<Method> {
        let pass = Pass::parse(&self.pass).ok_or_else(|| Error::Invalid {
            what: "--pass",
            value: self.pass.clone(),
            hint: "use quantize, palettize or prune".into(),
        })?;
        let not_for = |flag: &'static str, set: bool, applies: &str| -> Result<()> {
            if set {
                return Err(Error::Invalid {
                    what: flag,
                    value: format!("with --pass {}", pass.name()),
                    hint: format!("{flag} applies to {applies}; leave it out"),
                });
            }
            Ok(())
        };
        let method = self.method.as_deref();
        let is_quantize = |m: &str| method == Some(m);
        not_for(
            "--per-channel",
            self.per_channel && !is_quantize("int8") && !is_quantize("int8_static"),
            "--method int8 and int8_static",
        )?;
        not_for(
            "--calibration-data",
            self.calibration_data.is_some() && !is_quantize("int8_static"),
            "--method int8_static",
        )?;
        not_for(
            "--calibrate",
            self.calibrate.is_some() && !is_quantize("int8_static"),
            "--method int8_static",
        )?;
        not_for(
            "--block-size",
            self.block_size.is_some() && !is_quantize("int4"),
            "--method int4",
        )?;
        not_for(
            "--keep-io-types",
            self.keep_io_types.is_some() && !is_quantize("fp16"),
            "--method fp16",
        )?;
        not_for(
            "--nbits",
            self.nbits.is_some() && pass != Pass::Palettize,
            "--pass palettize",
        )?;
        not_for(
            "--group-size",
            self.group_size.is_some() && pass != Pass::Palettize,
            "--pass palettize",
        )?;
        not_for(
            "--sparsity",
            self.sparsity.is_some() && pass != Pass::Prune,
            "--pass prune",
        )?;
        let method = match pass {
            Pass::Quantize => match method {
                Some("fp16") => Method::Fp16 {
                    keep_io_types: self.keep_io_types.unwrap_or(true),
                },
                Some("int8") => Method::Int8 {
                    per_channel: self.per_channel,
                },
                Some("int4") => Method::Int4 {
                    block_size: self.block_size.unwrap_or(DEFAULT_INT4_BLOCK),
                },
                Some("int8_static") => {
                    if self.calibration_data.is_none() {
                        return Err(Error::Invalid {
                            what: "--calibration-data",
                            value: String::new(),
                            hint: "--method int8_static needs --calibration-data PATH: a \
                                   directory of images (.jpg .png .bmp .webp), a directory of \
                                   .npy files (one sample each) or one .npz (first axis = \
                                   samples)"
                                .into(),
                        });
                    }
                    Method::Int8Static {
                        per_channel: self.per_channel,
                        calibration: parse_calibrate(self.calibrate.as_deref())?,
                        data: None,
                    }
                }
                Some(other) => {
                    return Err(Error::Invalid {
                        what: "--method",
                        value: other.into(),
                        hint: format!("use one of {}", QUANTIZE_METHODS.join(", ")),
                    })
                }
                None => {
                    return Err(Error::Invalid {
                        what: "--method",
                        value: String::new(),
                        hint: format!(
                            "--pass quantize needs --method {}",
                            QUANTIZE_METHODS.join("|")
                        ),
                    })
                }
            },
            Pass::Palettize | Pass::Prune => {
                if let Some(m) = method {
                    return Err(Error::Invalid {
                        what: "--method",
                        value: m.into(),
                        hint: format!(
                            "--method applies to --pass quantize; --pass {} takes {}",
                            pass.name(),
                            if pass == Pass::Prune {
                                "--sparsity"
                            } else {
                                "--nbits and --group-size"
                            }
                        ),
                    });
                }
                if pass == Pass::Prune {
                    Method::Prune {
                        sparsity: self.sparsity.unwrap_or(0.5),
                    }
                } else {
                    Method::Palettize {
                        nbits: self.nbits.unwrap_or(4),
                        group_size: self.group_size,
                    }
                }
            }
        };
        method.validate().map_err(Error::Optimize)?;
        Ok(method)
    }
}

/// `--calibrate`: `minmax`, `percentile` or `percentile:P`.
fn parse_calibrate(s: Option<&str>) -> Result<Calibration> {
    let bad = |v: &str| Error::Invalid {
        what: "--calibrate",
        value: v.into(),
        hint: "use minmax (default), percentile (99.999) or percentile:P with P from 90 to 100"
            .into(),
    };
    match s {
        None | Some("minmax") => Ok(Calibration::MinMax),
        Some("percentile") => Ok(Calibration::Percentile(DEFAULT_PERCENTILE)),
        Some(v) => {
            let p = v
                .strip_prefix("percentile:")
                .and_then(|p| p.parse::<f64>().ok())
                .filter(|p| (90.0..=100.0).contains(p))
                .ok_or_else(|| bad(v))?;
            Ok(Calibration::Percentile(p))
        }
    }
}

/// `mlgate optimize`.
#[derive(Debug, Clone)]
pub struct OptimizeRequest {
    /// A build (tag, id, prefix) or a model file, which is imported first.
    pub model: PathBuf,
    /// Target of a file's import (default: `onnxruntime_cpu` when ONNX Runtime is installed,
    /// else `tract_cpu`).
    pub target: Option<String>,
    /// The pass and its parameters.
    pub method: Method,
    /// Name of the variant (default: the parent's).
    pub name: Option<String>,
    /// The runtime that checks the variant (default: the parent's).
    pub backend: Option<String>,
    /// Where the runtime libraries are.
    pub runtimes: RuntimeConfig,
    /// int8_static: the calibration samples (see [`MethodFlags::calibration_data`]); their
    /// content hash completes the method id, so other data makes another variant.
    pub calibration_data: Option<PathBuf>,
}

/// How the variant ran next to its parent before it was registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VariantCheck {
    /// The runtime both ran on.
    pub backend: BackendKind,
    /// Its version, when known.
    pub runtime_version: Option<String>,
    /// Outputs compared (float outputs only).
    pub outputs: usize,
    /// Lowest cosine similarity over the outputs, parent vs variant, on one synthesized input.
    pub min_cosine: f64,
    /// Largest absolute difference over every output value.
    pub max_abs_error: f64,
    /// What the numbers rest on.
    pub basis: String,
    /// Why the preferred runtime was not used (it could not load or run the variant).
    pub fallback_from: Option<String>,
}

/// What `mlgate optimize` did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OptimizeOutcome {
    /// The build the pass started from.
    pub parent: BuildRef,
    /// The variant, a child of `parent`.
    pub build: Build,
    /// False when this chain had been run on this source before: the build is reused.
    pub created: bool,
    /// The method id (`int4_b32`) and as people read it (`int4(b32)`).
    pub method: String,
    /// The method as people read it.
    pub label: String,
    /// File size of the parent.
    pub parent_size_bytes: u64,
    /// File size of the variant.
    pub size_bytes: u64,
    /// What the pass did; absent when the build was reused.
    pub pass: Option<PassReport>,
    /// The run next to the parent; absent when the build was reused.
    pub check: Option<VariantCheck>,
}

/// Applies one pass to a build (or a model file, imported first) and registers the variant
/// as its child, after checking that it runs next to its parent on a real runtime.
pub fn optimize(ws: &Workspace, req: &OptimizeRequest) -> Result<OptimizeOutcome> {
    let parent = parent_build(ws, &req.model, req.target.as_deref(), &req.runtimes)?;
    if parent.format != mlgate_ir::ModelFormat::Onnx.name() {
        return Err(Error::Invalid {
            what: "build",
            value: format!("{} ({})", parent.short_id(), parent.format),
            hint: format!(
                "the {} pass works on ONNX builds; compressing {} models is not available yet",
                req.method.pass().name(),
                parent.format
            ),
        });
    }
    // Static int8: the calibration data's hash completes the method id before the lookup.
    let mut full_method = req.method.clone();
    let calibration = match (&mut full_method, &req.calibration_data) {
        (Method::Int8Static { data, .. }, Some(path)) => {
            let found = crate::calibration::scan(path)?;
            *data = Some(found.hash.clone());
            Some(found)
        }
        (Method::Int8Static { .. }, None) => {
            return Err(Error::Invalid {
                what: "--calibration-data",
                value: String::new(),
                hint: "int8_static needs calibration data: a directory of images, a directory \
                       of .npy files or one .npz (mlgate optimize --method int8_static \
                       --calibration-data PATH)"
                    .into(),
            })
        }
        (_, Some(path)) => {
            return Err(Error::Invalid {
                what: "--calibration-data",
                value: path.display().to_string(),
                hint: format!(
                    "calibration data applies to --method int8_static, not {}; leave it out",
                    req.method.id()
                ),
            })
        }
        (_, None) => None,
    };
    let method = full_method.id();
    let label = mlgate_registry::method_label(Some(&method));
    if let Some(build) = ws.variant_of(&parent, &method)? {
        return Ok(OptimizeOutcome {
            parent: BuildRef::from(&parent),
            parent_size_bytes: parent.size_bytes,
            size_bytes: build.size_bytes,
            build,
            created: false,
            method,
            label,
            pass: None,
            check: None,
        });
    }
    let parent_path = ws.model_path(&parent)?;
    let source = mlgate_ir::onnx::read_model(&parent_path)?;
    let staging = tempfile::Builder::new()
        .prefix("optimize-")
        .tempdir_in(ws.staging_dir()?)
        .map_err(|e| Error::Host {
            what: "cannot create a staging directory in the workspace's artifact store".into(),
            hint: e.to_string(),
        })?;
    let preferred = req.backend.clone().or_else(|| parent.backend.clone());
    let (variant, pass) = match &calibration {
        Some(data) => static_int8(
            &source,
            &parent_path,
            &full_method,
            data,
            staging.path(),
            preferred.as_deref(),
            &req.runtimes,
        )?,
        None => mlgate_optimize::optimize_onnx(&source, &req.method).map_err(Error::Optimize)?,
    };
    let file = staging.path().join("model.onnx");
    mlgate_ir::onnx::write_model(&file, &variant)?;
    let check =
        check_variant(&parent_path, &file, preferred.as_deref(), &req.runtimes).map_err(|e| {
            Error::Host {
                what: format!(
                "the {label} variant of build {} could not be checked, so nothing was registered",
                parent.short_id()
            ),
                hint: e.to_string(),
            }
        })?;
    let (build, created) = ws.register_variant(
        &parent,
        &file,
        &method,
        check.backend.name(),
        req.name.clone(),
        None,
    )?;
    Ok(OptimizeOutcome {
        parent: BuildRef::from(&parent),
        parent_size_bytes: parent.size_bytes,
        size_bytes: build.size_bytes,
        build,
        created,
        method,
        label,
        pass: Some(pass),
        check: Some(check),
    })
}

/// Static int8: the calibration model run over the data on a runtime (the preferred one, or
/// ONNX Runtime when that cannot run it), then the QDQ rewrite from the ranges.
fn static_int8(
    source: &mlgate_ir::onnx::proto::ModelProto,
    parent_path: &Path,
    method: &Method,
    data: &crate::calibration::CalibrationData,
    staging: &Path,
    preferred: Option<&str>,
    runtimes: &RuntimeConfig,
) -> Result<(mlgate_ir::onnx::proto::ModelProto, PassReport)> {
    let Method::Int8Static { calibration, .. } = method else {
        unreachable!("called for int8_static only")
    };
    let samples = data.load(parent_path)?;
    let plan = mlgate_optimize::calibration_model(source).map_err(Error::Optimize)?;
    let calib_path = staging.join("calibration.onnx");
    mlgate_ir::onnx::write_model(&calib_path, &plan.model)?;
    let catalog = RuntimeCatalog::new(runtimes);
    let candidates = candidate_runtimes(&catalog, parent_path, preferred)?;
    let (ranges, kind) = crate::calibration::collect_ranges(
        &catalog,
        &candidates,
        &calib_path,
        &plan,
        &samples,
        *calibration,
    )?;
    let _ = std::fs::remove_file(&calib_path);
    let (variant, mut pass) =
        mlgate_optimize::quantize_static(source, method, &ranges).map_err(Error::Optimize)?;
    pass.notes.push(format!(
        "calibrated on {} sample{} from {} on {kind}; the id ends with the data's content hash, \
         so the same data gives the same build",
        samples.len(),
        if samples.len() == 1 { "" } else { "s" },
        data.describe()
    ));
    Ok((variant, pass))
}

/// The preferred runtime, then ONNX Runtime when it is another and works here.
fn candidate_runtimes(
    catalog: &RuntimeCatalog,
    parent: &Path,
    preferred: Option<&str>,
) -> Result<Vec<BackendKind>> {
    let first = crate::benchmark::resolve_backend(catalog, parent, preferred)?;
    let mut candidates = vec![first];
    if first != BackendKind::OnnxRuntime
        && catalog
            .get(BackendKind::OnnxRuntime)
            .is_some_and(|b| b.probe().available)
    {
        candidates.push(BackendKind::OnnxRuntime);
    }
    Ok(candidates)
}

/// The build a model argument names; a file is imported first, so `mlgate optimize
/// model.onnx` works without a separate import. Its target: the one given, else
/// `onnxruntime_cpu` when ONNX Runtime is installed (the runtime that runs every variant a
/// pass makes, and the one ONNX models usually ship on), else the embedded `tract_cpu`.
pub(crate) fn parent_build(
    ws: &Workspace,
    model: &Path,
    target: Option<&str>,
    runtimes: &RuntimeConfig,
) -> Result<Build> {
    let resolved = model::resolve(Some(ws), model)?;
    if let Some(b) = resolved.build {
        return Ok(b);
    }
    let info = crate::inspect(&resolved.path)?;
    let target = match target {
        Some(t) => t.to_string(),
        None if info.format == mlgate_ir::ModelFormat::Onnx => {
            let ort = RuntimeCatalog::new(runtimes)
                .get(BackendKind::OnnxRuntime)
                .is_some_and(|b| b.probe().available);
            if ort { "onnxruntime_cpu" } else { "tract_cpu" }.into()
        }
        None => {
            return Err(Error::Invalid {
                what: "model",
                value: model.display().to_string(),
                hint: format!(
                    "passes work on ONNX models; this is {}, which mlgate cannot compress yet",
                    info.format.name()
                ),
            })
        }
    };
    Ok(ws
        .import(&ImportRequest {
            model: resolved.path,
            target,
            ..Default::default()
        })?
        .build)
}

/// Runs parent and variant on the same synthesized input: on the preferred runtime, and on
/// ONNX Runtime when that cannot run them (tract lacks some ops passes use).
fn check_variant(
    parent: &Path,
    variant: &Path,
    preferred: Option<&str>,
    runtimes: &RuntimeConfig,
) -> Result<VariantCheck> {
    let catalog = RuntimeCatalog::new(runtimes);
    let candidates = candidate_runtimes(&catalog, parent, preferred)?;
    let inputs = one_input_set(parent, 0)?;
    let mut errors = Vec::new();
    for kind in candidates {
        match run_pair(&catalog, kind, parent, variant, &inputs) {
            Ok((version, a, b)) => {
                let mut acc = Agreement::default();
                acc.add(&a, &b);
                return Ok(VariantCheck {
                    backend: kind,
                    runtime_version: version,
                    outputs: acc.outputs.len(),
                    min_cosine: acc
                        .outputs
                        .iter()
                        .map(|o| o.cosine_mean())
                        .fold(1.0, f64::min),
                    max_abs_error: acc.outputs.iter().map(|o| o.max_abs).fold(0.0, f64::max),
                    basis: "parent and variant on one synthesized input (seed 0); `mlgate \
                            accuracy` measures agreement over many"
                        .into(),
                    fallback_from: (!errors.is_empty()).then(|| errors.join("; ")),
                });
            }
            Err(e) => errors.push(format!("{kind}: {e}")),
        }
    }
    Err(Error::Host {
        what: "no runtime here ran parent and variant on a synthesized input".into(),
        hint: errors.join("; "),
    })
}

fn one_input_set(model: &Path, seed: u64) -> Result<Vec<Tensor>> {
    InputMaker::new(model)?.make(seed)
}

/// Synthesized inputs for one model at any seed, the model read once.
struct InputMaker<'a> {
    model: &'a Path,
    info: crate::ModelInfo,
}

impl<'a> InputMaker<'a> {
    fn new(model: &'a Path) -> Result<InputMaker<'a>> {
        Ok(InputMaker {
            model,
            info: crate::inspect(model)?,
        })
    }

    fn make(&self, seed: u64) -> Result<Vec<Tensor>> {
        let options = crate::SynthesisOptions {
            seed,
            ..crate::SynthesisOptions::default()
        };
        Ok(crate::synthesize_inputs(&self.info, self.model, &options)?.tensors)
    }
}

type RunPair = (Option<String>, Vec<Tensor>, Vec<Tensor>);

fn run_pair(
    catalog: &RuntimeCatalog,
    kind: BackendKind,
    a: &Path,
    b: &Path,
    inputs: &[Tensor],
) -> Result<RunPair> {
    // Which side failed matters: a parent that does not run on the synthesized inputs is
    // an input problem (e.g. a dimension the synthesizer guessed), not the pass's.
    let side = |which: &'static str| {
        move |e: mlgate_backends::BackendError| Error::Host {
            what: format!("the {which} does not run"),
            hint: e.to_string(),
        }
    };
    let options = SessionOptions::default();
    let mut sa = catalog.load(kind, a, &options).map_err(side("parent"))?;
    let oa = sa.run(inputs).map_err(side("parent"))?;
    drop(sa);
    let mut sb = catalog.load(kind, b, &options).map_err(side("variant"))?;
    let version = sb.info().runtime_version.clone();
    let ob = sb.run(inputs).map_err(side("variant"))?;
    Ok((version, oa, ob))
}

/// Streaming agreement between two models' outputs, output by output: nothing but running
/// sums is kept, so any number of samples fits in memory.
#[derive(Debug, Default)]
struct Agreement {
    outputs: Vec<OutputAgreement>,
}

#[derive(Debug, Default)]
struct OutputAgreement {
    name: String,
    samples: usize,
    cosine_sum: f64,
    cosine_min: f64,
    abs_sum: f64,
    values: u64,
    max_abs: f64,
    /// Rows compared by arg-max (classifier-like outputs, see [`classifier_like`]).
    top1_rows: u64,
    top1_agree: u64,
}

impl OutputAgreement {
    fn cosine_mean(&self) -> f64 {
        if self.samples == 0 {
            1.0
        } else {
            self.cosine_sum / self.samples as f64
        }
    }
}

fn floats(t: &Tensor) -> Option<Vec<f64>> {
    match t.data() {
        TensorData::F32(_) | TensorData::F16(_) | TensorData::F64(_) => Some(t.data().to_f64_vec()),
        _ => None,
    }
}

impl Agreement {
    fn add(&mut self, base: &[Tensor], cand: &[Tensor]) {
        let pairs = base
            .iter()
            .zip(cand)
            .filter_map(|(a, b)| Some((a, floats(a)?, floats(b)?)));
        for (k, (a, va, vb)) in pairs.enumerate() {
            if self.outputs.len() <= k {
                self.outputs.push(OutputAgreement {
                    name: a.name().to_string(),
                    cosine_min: 1.0,
                    ..Default::default()
                });
            }
            let o = &mut self.outputs[k];
            let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
            for (x, y) in va.iter().zip(&vb) {
                ab += x * y;
                aa += x * x;
                bb += y * y;
                let d = (x - y).abs();
                o.abs_sum += d;
                o.max_abs = o.max_abs.max(d);
            }
            o.values += va.len().min(vb.len()) as u64;
            // Two all-zero outputs agree; one all-zero output against another does not.
            let cos = if aa == 0.0 && bb == 0.0 {
                1.0
            } else if aa == 0.0 || bb == 0.0 {
                0.0
            } else {
                ab / (aa.sqrt() * bb.sqrt())
            };
            o.cosine_sum += cos;
            o.cosine_min = o.cosine_min.min(cos);
            o.samples += 1;
            let shape = a.shape();
            if classifier_like(a.name(), shape) && va.len() == vb.len() {
                let width = shape[shape.len() - 1];
                for (ra, rb) in va.chunks(width).zip(vb.chunks(width)) {
                    o.top1_rows += 1;
                    o.top1_agree += u64::from(argmax(ra) == argmax(rb));
                }
            }
        }
    }
}

/// Whether arg-max agreement means something for an output: `[batch, classes]` with more
/// than one class, or a higher rank whose name says it holds class scores (an LM's
/// `[batch, seq, vocab]` logits). Hidden states and feature maps are not classifiers: their
/// arg-max is noise.
fn classifier_like(name: &str, shape: &[usize]) -> bool {
    let classes = shape.last().copied().unwrap_or(0);
    if classes < 2 {
        return false;
    }
    if shape.len() == 2 {
        return true;
    }
    let name = name.to_ascii_lowercase();
    shape.len() > 2
        && ["logit", "prob", "score", "class"]
            .iter()
            .any(|k| name.contains(k))
}

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// Wilson score interval for `k` successes in `n` trials at 95%.
pub fn wilson_interval(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let (n, p) = (n as f64, k as f64 / n as f64);
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n) + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// `mlgate accuracy`.
#[derive(Debug, Clone)]
pub struct AccuracyRequest {
    /// The reference model or build.
    pub baseline: ModelRef,
    /// The variant checked against it.
    pub candidate: ModelRef,
    /// Input samples (1 to 100000).
    pub samples: usize,
    /// Seed of the first sample; sample `i` uses `seed + i`.
    pub seed: u64,
    /// Lowest acceptable mean cosine similarity per output (0 to 1).
    pub cosine_threshold: f64,
    /// Lowest acceptable top-1 agreement of classifier-like outputs (0 to 1).
    pub top1_threshold: f64,
    /// Runtime for both (default: the candidate build's, else the baseline's).
    pub backend: Option<String>,
    /// Where the runtime libraries are.
    pub runtimes: RuntimeConfig,
    /// Inputs from a dataset instead of synthesized ones: one `.npz` (first axis = samples)
    /// or a directory of `.npy` files or images, read as `--calibration-data` is; every
    /// sample in it is used and `samples` is ignored.
    pub dataset: Option<PathBuf>,
}

/// One output's agreement over every sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OutputAccuracy {
    /// The output's name.
    pub output: String,
    /// Mean over samples of the per-sample cosine similarity.
    pub cosine_mean: f64,
    /// The lowest per-sample cosine similarity.
    pub cosine_min: f64,
    /// Mean absolute difference over every value of every sample.
    pub mean_abs_error: f64,
    /// Largest absolute difference.
    pub max_abs_error: f64,
    /// Arg-max agreement of classifier-like outputs: `[batch, classes]`, or any rank whose
    /// name says logits, probabilities, scores or classes (per row of the last axis).
    pub top1: Option<Top1>,
    /// Whether this output met both thresholds.
    pub passed: bool,
}

/// Top-1 agreement with its Wilson 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Top1 {
    /// Rows whose arg-max agreed.
    pub agree: u64,
    /// Rows compared.
    pub rows: u64,
    /// `agree / rows`.
    pub rate: f64,
    /// Wilson score interval of the rate at 95%.
    pub ci95: (f64, f64),
}

/// What `mlgate accuracy` found.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AccuracyReport {
    /// The baseline as given (build id and method, or path).
    pub baseline: String,
    /// The candidate as given.
    pub candidate: String,
    /// The runtime both ran on.
    pub backend: BackendKind,
    /// Its version, when known.
    pub runtime_version: Option<String>,
    /// Runtime session configuration in effect (`--ort-config`), which can change the
    /// numbers (e.g. the activation precision of int4 kernels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_config: Vec<(String, String)>,
    /// Input samples compared.
    pub samples: usize,
    /// Seed of the first sample.
    pub seed: u64,
    /// How the inputs were made.
    pub inputs: String,
    /// The cosine threshold applied.
    pub cosine_threshold: f64,
    /// The top-1 threshold applied.
    pub top1_threshold: f64,
    /// One entry per float output, in the model's order.
    pub outputs: Vec<OutputAccuracy>,
    /// Every output at or above both thresholds (cosine on its mean over samples, top-1 on
    /// its rate).
    pub passed: bool,
    /// The registry row the check was stored in (when both models are builds).
    pub recorded_id: Option<i64>,
}

/// Runs both models on the same `samples` synthesized inputs (seeds `seed`, `seed + 1`, ...)
/// on one runtime and measures how far the candidate's outputs are from the baseline's.
/// Stored in the registry when both are builds.
pub fn accuracy(ws: Option<&Workspace>, req: &AccuracyRequest) -> Result<AccuracyReport> {
    if req.samples == 0 || req.samples > 100_000 {
        return Err(Error::Invalid {
            what: "--samples",
            value: req.samples.to_string(),
            hint: "use a number of input samples from 1 to 100000 (64 by default)".into(),
        });
    }
    for (flag, v) in [
        ("--cosine-threshold", req.cosine_threshold),
        ("--top1-threshold", req.top1_threshold),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::Invalid {
                what: if flag == "--cosine-threshold" {
                    "--cosine-threshold"
                } else {
                    "--top1-threshold"
                },
                value: v.to_string(),
                hint: "use a value from 0 to 1".into(),
            });
        }
    }
    let catalog = RuntimeCatalog::new(&req.runtimes);
    // A variant records the runtime it was checked on, which runs its parent too.
    let preferred = req
        .backend
        .clone()
        .or_else(|| req.candidate.build_backend())
        .or_else(|| req.baseline.build_backend());
    let kind =
        crate::benchmark::resolve_backend(&catalog, &req.baseline.path, preferred.as_deref())?;
    let options = SessionOptions::default();
    let mut base = catalog
        .load(kind, &req.baseline.path, &options)
        .map_err(Error::runtime)?;
    let mut cand = catalog
        .load(kind, &req.candidate.path, &options)
        .map_err(Error::runtime)?;
    let mut agreement = Agreement::default();
    let (samples, inputs_text) = match &req.dataset {
        Some(path) => {
            let data = crate::calibration::scan(path)?;
            let sets = data.load(&req.baseline.path)?;
            for inputs in &sets {
                let a = base.run(inputs).map_err(Error::runtime)?;
                let b = cand.run(inputs).map_err(Error::runtime)?;
                agreement.add(&a, &b);
            }
            (
                sets.len(),
                format!("{} samples from {}", sets.len(), data.describe()),
            )
        }
        None => {
            let maker = InputMaker::new(&req.baseline.path)?;
            for i in 0..req.samples {
                let inputs = maker.make(req.seed.wrapping_add(i as u64))?;
                let a = base.run(&inputs).map_err(Error::runtime)?;
                let b = cand.run(&inputs).map_err(Error::runtime)?;
                agreement.add(&a, &b);
            }
            (
                req.samples,
                "task-aware synthetic inputs (mlgate-tasks), one seed per sample".to_string(),
            )
        }
    };
    let outputs: Vec<OutputAccuracy> = agreement
        .outputs
        .iter()
        .map(|o| {
            let top1 = (o.top1_rows > 0).then(|| Top1 {
                agree: o.top1_agree,
                rows: o.top1_rows,
                rate: o.top1_agree as f64 / o.top1_rows as f64,
                ci95: wilson_interval(o.top1_agree, o.top1_rows),
            });
            let passed = o.cosine_mean() >= req.cosine_threshold
                && top1.as_ref().is_none_or(|t| t.rate >= req.top1_threshold);
            OutputAccuracy {
                output: o.name.clone(),
                cosine_mean: o.cosine_mean(),
                cosine_min: o.cosine_min,
                mean_abs_error: if o.values == 0 {
                    0.0
                } else {
                    o.abs_sum / o.values as f64
                },
                max_abs_error: o.max_abs,
                top1,
                passed,
            }
        })
        .collect();
    if outputs.is_empty() {
        return Err(Error::Invalid {
            what: "model",
            value: req.baseline.path.display().to_string(),
            hint: "the models have no float outputs to compare".into(),
        });
    }
    let passed = outputs.iter().all(|o| o.passed);
    let describe = |m: &ModelRef| match &m.build {
        Some(b) => format!("{} ({})", b.short_id(), b.method_label()),
        None => m.path.display().to_string(),
    };
    let mut report = AccuracyReport {
        baseline: describe(&req.baseline),
        candidate: describe(&req.candidate),
        backend: kind,
        runtime_version: cand.info().runtime_version.clone(),
        session_config: cand.info().session_config.clone(),
        samples,
        seed: req.seed,
        inputs: inputs_text,
        cosine_threshold: req.cosine_threshold,
        top1_threshold: req.top1_threshold,
        outputs,
        passed,
        recorded_id: None,
    };
    if let (Some(ws), Some(b), Some(c)) = (ws, &req.baseline.build, &req.candidate.build) {
        let check = mlgate_registry::AccuracyCheck {
            baseline_build_id: b.id.clone(),
            candidate_build_id: c.id.clone(),
            passed,
            metrics: serde_json::to_value(&report.outputs).map_err(Error::Output)?,
            settings: serde_json::json!({
                "samples": samples,
                "dataset": req.dataset.as_ref().map(|p| p.display().to_string()),
                "seed": req.seed,
                "backend": kind.name(),
                "runtime_version": report.runtime_version,
                "session_config": report.session_config,
                "cosine_threshold": req.cosine_threshold,
                "top1_threshold": req.top1_threshold,
            }),
        };
        report.recorded_id = Some(ws.record_accuracy_check(&check)?);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_class_scores_are_compared_by_arg_max() {
        assert!(classifier_like("output", &[1, 1000]));
        assert!(classifier_like("logits", &[1, 128, 4096]));
        assert!(!classifier_like("last_hidden_state", &[1, 128, 128]));
        assert!(!classifier_like("probs", &[1, 1]));
        assert!(!classifier_like("feature_map", &[1, 32, 56, 56]));
    }

    #[test]
    fn wilson_matches_published_values() {
        // 8 of 10: Wilson 95% = [0.490, 0.943] (Newcombe 1998, method 3).
        let (lo, hi) = wilson_interval(8, 10);
        assert!(
            (lo - 0.4902).abs() < 5e-4 && (hi - 0.9433).abs() < 5e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson_interval(0, 0);
        assert_eq!((lo, hi), (0.0, 1.0));
    }

    #[test]
    fn flags_that_do_not_apply_are_named() {
        let flags = |pass: &str, method: Option<&str>| MethodFlags {
            pass: pass.into(),
            method: method.map(Into::into),
            ..Default::default()
        };
        let err = |f: MethodFlags| f.method().unwrap_err().to_string();
        assert!(err(flags("squash", None)).contains("--pass"));
        assert!(err(flags("quantize", None)).contains("--method"));
        assert!(err(flags("quantize", Some("int3"))).contains("int3"));
        assert!(err(MethodFlags {
            sparsity: Some(0.5),
            ..flags("quantize", Some("int8"))
        })
        .contains("--sparsity"));
        assert!(err(MethodFlags {
            sparsity: Some(1.5),
            ..flags("prune", None)
        })
        .contains("--sparsity"));
        assert_eq!(
            flags("prune", None).method().unwrap(),
            Method::Prune { sparsity: 0.5 }
        );
        assert_eq!(
            MethodFlags {
                nbits: Some(6),
                group_size: Some(16),
                ..flags("palettize", None)
            }
            .method()
            .unwrap()
            .id(),
            "palettize_6_g16"
        );
    }

    #[test]
    fn int8_static_flags_need_calibration_data_and_name_what_is_wrong() {
        let flags = |method: &str| MethodFlags {
            pass: "quantize".into(),
            method: Some(method.into()),
            calibration_data: Some("calib".into()),
            ..Default::default()
        };
        let err = |f: MethodFlags| f.method().unwrap_err().to_string();
        assert_eq!(
            flags("int8_static").method().unwrap(),
            Method::Int8Static {
                per_channel: false,
                calibration: Calibration::MinMax,
                data: None
            }
        );
        let m = MethodFlags {
            calibrate: Some("percentile:99.9".into()),
            per_channel: true,
            ..flags("int8_static")
        };
        assert_eq!(m.method().unwrap().id(), "int8_static_perchannel_p99.9");
        assert!(err(MethodFlags {
            calibration_data: None,
            ..flags("int8_static")
        })
        .contains("--calibration-data"));
        for bad in ["median", "percentile:50", "percentile:x"] {
            assert!(err(MethodFlags {
                calibrate: Some(bad.into()),
                ..flags("int8_static")
            })
            .contains("--calibrate"));
        }
        assert!(err(flags("fp16")).contains("--calibration-data"));
        assert!(err(MethodFlags {
            calibration_data: None,
            calibrate: Some("minmax".into()),
            ..flags("int8")
        })
        .contains("--calibrate"));
    }

    #[test]
    fn agreement_is_exact_for_identical_outputs_and_counts_top1() {
        let t = |v: Vec<f32>| Tensor::new("logits", vec![2, 3], TensorData::F32(v)).unwrap();
        let mut acc = Agreement::default();
        acc.add(
            &[t(vec![1.0, 2.0, 3.0, 3.0, 2.0, 1.0])],
            &[t(vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0])],
        );
        let o = &acc.outputs[0];
        assert_eq!((o.top1_rows, o.top1_agree), (2, 1));
        // One sample: both rows flattened, dot 24 over norms 28.
        assert!((o.cosine_mean() - 24.0 / 28.0).abs() < 1e-12);
        assert_eq!(o.max_abs, 2.0);
    }
}
