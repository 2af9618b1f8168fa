//! `mlgate-tasks`: what a model is for, and inputs that look like what it was trained on.
//!
//! Users point mlgate at a model with no input files and no shape flags and expect a
//! meaningful benchmark. Zeros are not meaningful: they skip branches, hit fast paths and
//! hide bugs. This crate detects the task (vision, nlp, audio, tabular) from the graph,
//! the tensor names and the shapes, synthesises seeded inputs that fit it, and checks the
//! outputs of a run for signs that the model (or its inputs) are broken.
//!
//! Depends on `mlgate-ir` only, among mlgate crates. Invariants:
//! - it never runs a model and knows nothing about runtimes: it reads model files and makes
//!   and inspects tensors;
//! - detection never fails: a model it cannot read or understand is `unknown`, with a
//!   warning, and its inputs are zeros (CI never blocks on detection);
//! - synthesis is deterministic: the data of an input depends only on its name, its
//!   resolved shape and dtype, and the user's seed, never on the model file, so every
//!   variant of a model gets identical inputs;
//! - no panics and no huge allocations on any model: dimensions use checked arithmetic and
//!   an input over [`MAX_INPUT_BYTES`] is an error naming it.

mod detect;
mod error;
mod gen;
mod graph;
mod synth;
mod task;
#[cfg(test)]
mod tests;
mod validate;

use std::path::Path;

use mlgate_ir::ModelInfo;

pub use error::{Result, TaskError};
pub use synth::{
    SynthesisOptions, SynthesizedInputs, DEFAULT_AUDIO_SAMPLES, DEFAULT_IMAGE_SIZE,
    DEFAULT_SAMPLE_RATE, DEFAULT_SEQ_LADDER, DEFAULT_SEQ_LEN, MAX_INPUT_BYTES,
};
pub use task::{Confidence, InputAssessment, InputRole, Task, TaskReport, TaskSource};
pub use validate::{
    check_outputs, validate_outputs, OutputCheckFailure, OutputIssue, OutputIssueKind, OutputMode,
};

/// Detects the task of the model `info` summarises; `path` is its file (or `.mlpackage`),
/// read again where the graph says more than `info` (conv ranks, embedding tables).
pub fn detect(info: &ModelInfo, path: &Path) -> TaskReport {
    detect_with(info, path, None)
}

/// [`detect`], with the user's `--task` taking precedence when given: the report then says
/// so, and the main inputs take the forced task's role where their dtype and rank allow it
/// (masks, state and sample rates keep theirs).
pub fn detect_with(info: &ModelInfo, path: &Path, task: Option<Task>) -> TaskReport {
    analyse(info, path, task).report
}

/// How a float image input wants its pixels, as detection decided it for synthesis: real
/// images (calibration data, say) are laid out and scaled the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageConvention {
    /// The input's name.
    pub input: String,
    /// Channels last (NHWC, or HWC without a batch axis) instead of NCHW.
    pub channels_last: bool,
    /// The value range in words (`[0, 1]`, `ImageNet-normalized (...)`), and why.
    pub range: String,
    pixels: graph::PixelRange,
}

impl ImageConvention {
    /// The input's value for a pixel intensity `v` in [0, 1] of channel `channel`.
    pub fn value(&self, v: f64, channel: usize) -> f64 {
        self.pixels.value_of_unit(v, channel)
    }
}

/// The image inputs of a model (role image, float element type), in input order, with the
/// layout and value range synthesis would give them.
pub fn image_conventions(info: &ModelInfo, path: &Path) -> Vec<ImageConvention> {
    let a = analyse(info, path, None);
    info.inputs
        .iter()
        .zip(&a.plans)
        .filter(|(t, p)| p.role == InputRole::Image && t.dtype.is_float())
        .map(|(t, p)| {
            let (pixels, why) = p
                .range
                .clone()
                .unwrap_or((graph::PixelRange::Unit, String::new()));
            ImageConvention {
                input: t.name.clone(),
                channels_last: p.layout == Some(graph::Layout::Nhwc),
                range: if why.is_empty() {
                    pixels.describe().to_string()
                } else {
                    format!("{}, because {why}", pixels.describe())
                },
                pixels,
            }
        })
        .collect()
}

fn analyse(info: &ModelInfo, path: &Path, task: Option<Task>) -> detect::Analysis {
    let facts = graph::GraphFacts::analyse(info, path);
    detect::analyse(info, facts, task)
}

/// Inputs for one run of the model: detection (with `options.task` as override), then one
/// seeded tensor per model input. Token inputs get `options.seq_len`, or
/// [`DEFAULT_SEQ_LEN`] clipped to the model's maximum.
pub fn synthesize(
    info: &ModelInfo,
    path: &Path,
    options: &SynthesisOptions,
) -> Result<SynthesizedInputs> {
    synth::check_options(options)?;
    let a = analyse(info, path, options.task);
    synth::synthesize_analysed(info, &a, options)
}

/// Inputs for every rung of the sequence ladder (`options.seq_ladder`, clipped to the
/// model's maximum), shortest first; a single set when the model has no dynamic token
/// inputs or `options.seq_len` picks one length.
pub fn synthesize_ladder(
    info: &ModelInfo,
    path: &Path,
    options: &SynthesisOptions,
) -> Result<Vec<SynthesizedInputs>> {
    synth::check_options(options)?;
    let a = analyse(info, path, options.task);
    synth::synthesize_ladder_analysed(info, &a, options)
}
