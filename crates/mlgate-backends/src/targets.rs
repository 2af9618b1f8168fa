//! Target names (compatible with mlbuild's): what each accepts and which runtime measures it
//! on this host. Device targets (phones, boards, Apple chips) are measured by the runtime
//! that ships on them, running on this host's CPU as a stand-in until device runners exist.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use mlgate_ir::ModelFormat;
use serde::Serialize;

use crate::{BackendError, BackendKind, ExecutionProvider, Result};

/// One target: a runtime configuration, or a device class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub name: &'static str,
    pub description: &'static str,
    /// Formats it accepts, each with the runtime that measures it here.
    pub runs: &'static [(ModelFormat, BackendKind)],
    pub execution_provider: ExecutionProvider,
    /// True when the measurement on this host stands in for a device mlgate cannot reach.
    pub proxy: bool,
}

const ONNX_ORT: (ModelFormat, BackendKind) = (ModelFormat::Onnx, BackendKind::OnnxRuntime);
const ONNX_TRACT: (ModelFormat, BackendKind) = (ModelFormat::Onnx, BackendKind::Tract);
const TFLITE: (ModelFormat, BackendKind) = (ModelFormat::Tflite, BackendKind::LiteRt);
const COREML: (ModelFormat, BackendKind) = (ModelFormat::Coreml, BackendKind::CoreMl);
const GGUF_CANDLE: (ModelFormat, BackendKind) = (ModelFormat::Gguf, BackendKind::Candle);

const fn runtime(
    name: &'static str,
    description: &'static str,
    runs: &'static [(ModelFormat, BackendKind)],
) -> Target {
    Target {
        name,
        description,
        runs,
        execution_provider: ExecutionProvider::Cpu,
        proxy: false,
    }
}

const fn device(
    name: &'static str,
    description: &'static str,
    runs: &'static [(ModelFormat, BackendKind)],
) -> Target {
    Target {
        name,
        description,
        runs,
        execution_provider: ExecutionProvider::Cpu,
        proxy: true,
    }
}

pub const TARGETS: &[Target] = &[
    runtime("onnxruntime_cpu", "ONNX Runtime on the CPU", &[ONNX_ORT]),
    Target {
        name: "onnxruntime_gpu",
        description: "ONNX Runtime with the CUDA execution provider",
        runs: &[ONNX_ORT],
        execution_provider: ExecutionProvider::Cuda { device_id: 0 },
        proxy: false,
    },
    runtime("tract_cpu", "tract (pure Rust) on the CPU", &[ONNX_TRACT]),
    runtime(
        "litert_cpu",
        "LiteRT (TFLite) with XNNPACK on the CPU",
        &[TFLITE],
    ),
    runtime(
        "llm_cpu",
        "GGUF decoders (llama family) on candle, on the CPU",
        &[GGUF_CANDLE],
    ),
    runtime(
        "generic_linux",
        "a Linux machine: ONNX on ONNX Runtime, TFLite on LiteRT",
        &[ONNX_ORT, TFLITE],
    ),
    device("android_arm64", "Android, 64-bit ARM (LiteRT)", &[TFLITE]),
    device("android_arm32", "Android, 32-bit ARM (LiteRT)", &[TFLITE]),
    device("android_x86", "Android, x86 (LiteRT)", &[TFLITE]),
    device(
        "raspberry_pi",
        "Raspberry Pi (LiteRT or ONNX Runtime)",
        &[TFLITE, ONNX_ORT],
    ),
    device(
        "coral_tpu",
        "Coral Edge TPU (LiteRT; the TPU itself is not measured)",
        &[TFLITE],
    ),
    device("apple_m1", "Apple M1 (CoreML)", &[COREML]),
    device("apple_m2", "Apple M2 (CoreML)", &[COREML]),
    device("apple_m3", "Apple M3 (CoreML)", &[COREML]),
    device("apple_m4", "Apple M4 (CoreML)", &[COREML]),
    device("apple_a15", "Apple A15 (CoreML)", &[COREML]),
    device("apple_a16", "Apple A16 (CoreML)", &[COREML]),
    device("apple_a17", "Apple A17 Pro (CoreML)", &[COREML]),
];

/// How users write the format names.
pub fn format_label(f: ModelFormat) -> &'static str {
    match f {
        ModelFormat::Onnx => "ONNX",
        ModelFormat::Tflite => "TFLite",
        ModelFormat::Coreml => "CoreML",
        ModelFormat::Gguf => "GGUF",
    }
}

impl Target {
    pub fn accepts(&self, format: ModelFormat) -> bool {
        self.runs.iter().any(|(f, _)| *f == format)
    }

    /// The runtime that measures a model of `format` for this target here.
    pub fn backend_for(&self, format: ModelFormat) -> Option<BackendKind> {
        self.runs
            .iter()
            .find(|(f, _)| *f == format)
            .map(|(_, b)| *b)
    }

    fn formats_text(&self) -> String {
        let names: Vec<&str> = self.runs.iter().map(|(f, _)| format_label(*f)).collect();
        names.join(" or ")
    }

    /// Checks that this target accepts `model`'s format; the error suggests targets that do.
    pub fn check(&self, model: &Path, format: ModelFormat) -> Result<BackendKind> {
        self.backend_for(format)
            .ok_or_else(|| BackendError::TargetFormat {
                target: self.name.to_string(),
                model: model.to_owned(),
                format: format_label(format).to_string(),
                runs: self.formats_text(),
                suggest: suggest_for(format),
            })
    }
}

/// Targets to offer for `format`: the plain runtime ones when there are, else devices.
fn suggest_for(format: ModelFormat) -> String {
    let runtimes: Vec<&str> = TARGETS
        .iter()
        .filter(|t| {
            !t.proxy
                && t.execution_provider == ExecutionProvider::Cpu
                && t.runs.len() == 1
                && t.accepts(format)
        })
        .map(|t| t.name)
        .collect();
    if !runtimes.is_empty() {
        return runtimes.join(" or ");
    }
    let devices: Vec<&str> = TARGETS
        .iter()
        .filter(|t| t.accepts(format))
        .map(|t| t.name)
        .collect();
    match devices.as_slice() {
        [] => "a different model format".into(),
        [one] => (*one).into(),
        [first, ..] => format!("{first} (or another of: {})", devices[1..].join(", ")),
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The target named `name` (case-insensitive, `-` and `_` alike).
pub fn target(name: &str) -> Result<&'static Target> {
    let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
    TARGETS
        .iter()
        .find(|t| t.name == wanted)
        .ok_or_else(|| BackendError::UnknownTarget {
            name: name.to_string(),
            valid: TARGETS
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

impl FromStr for &'static Target {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self> {
        target(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_suggest() {
        assert_eq!(target("LiteRT-CPU").unwrap().name, "litert_cpu");
        let e = target("pixel9").unwrap_err().to_string();
        assert!(
            e.starts_with("unknown target 'pixel9'; valid targets: onnxruntime_cpu,"),
            "{e}"
        );
        let t = target("litert_cpu").unwrap();
        let e = t
            .check(Path::new("x.onnx"), ModelFormat::Onnx)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "target litert_cpu runs TFLite models, but x.onnx is ONNX; use onnxruntime_cpu or tract_cpu");
        let e = target("tract_cpu")
            .unwrap()
            .check(Path::new("m.mlpackage"), ModelFormat::Coreml)
            .unwrap_err();
        assert!(e.to_string().ends_with("use apple_m1 (or another of: apple_m2, apple_m3, apple_m4, apple_a15, apple_a16, apple_a17)"), "{e}");
        assert_eq!(
            target("generic_linux")
                .unwrap()
                .check(Path::new("m.tflite"), ModelFormat::Tflite)
                .unwrap(),
            BackendKind::LiteRt
        );
    }

    #[test]
    fn every_target_has_a_runtime_and_a_unique_name() {
        let mut names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), TARGETS.len());
        assert!(TARGETS.iter().all(|t| !t.runs.is_empty()));
    }
}
