//! Deterministic sample models (feature `fixtures`): small ONNX files written with mlgate's
//! own ONNX writer from seeded weights, byte-identical on every machine.
//!
//! They let an example, a doc-test or a first try of the API run without a model of your
//! own, and every one of them runs on the embedded runtime (tract), so nothing needs to be
//! installed. Enable the feature in `Cargo.toml`:
//!
//! ```toml
//! mlgate = { path = "../mlgate/crates/mlgate", features = ["fixtures"] }
//! ```
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let cnn = mlgate::fixtures::write(dir.path(), mlgate::fixtures::VISION_CNN)?;
//! assert_eq!(mlgate::inspect(&cnn)?.inputs[0].name, "input");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A MobileNet-like CNN: a 1×3×224×224 image in, 1000 logits out (task: vision).
pub const VISION_CNN: &str = "vision_cnn.onnx";
/// [`VISION_CNN`] with about 5% more compute (a residual bottleneck): the same inputs and
/// outputs, slightly slower — a candidate a latency gate should judge.
pub const VISION_CNN_SLOW: &str = "vision_cnn_slow.onnx";
/// A two-block transformer encoder: `input_ids` and `attention_mask` `[batch, seq]` (task: nlp).
pub const NLP_ENCODER: &str = "nlp_encoder.onnx";
/// A 1-D convolution stack over a 16000-sample waveform, 35 logits out (task: audio).
pub const AUDIO_CONV: &str = "audio_conv.onnx";
/// A multilayer perceptron 784 → 256 → 10: the fastest fixture (task: tabular).
pub const TINY_MLP: &str = "tiny_mlp.onnx";

/// Every fixture as `(file name, description)`, in the order [`write_all`] writes them.
pub fn list() -> Vec<(&'static str, &'static str)> {
    mlgate_ir::fixtures::ALL
        .iter()
        .map(|f| (f.file_name, f.description))
        .collect()
}

/// Writes the fixture named `file_name` (one of the constants of this module) into `dir`,
/// creating `dir` if needed, and returns its path. The same name always gives the same bytes.
///
/// # Errors
/// [`Error::Invalid`] for a name that is no fixture (the message lists the names);
/// [`Error::Model`] when the directory or the file cannot be written.
pub fn write(dir: &Path, file_name: &str) -> Result<PathBuf> {
    let Some(fixture) = mlgate_ir::fixtures::ALL
        .iter()
        .find(|f| f.file_name == file_name)
    else {
        let names: Vec<&str> = list().into_iter().map(|(name, _)| name).collect();
        return Err(Error::Invalid {
            what: "fixture",
            value: file_name.to_string(),
            hint: format!("choose one of {}", names.join(", ")),
        });
    };
    std::fs::create_dir_all(dir).map_err(|e| mlgate_ir::IrError::io(dir, e))?;
    let path = dir.join(fixture.file_name);
    mlgate_ir::onnx::write_model(&path, &(fixture.build)())?;
    Ok(path)
}

/// Writes every fixture into `dir` (created if needed) and returns their paths, in the
/// order of [`list`].
///
/// # Errors
/// [`Error::Model`] when the directory or a file cannot be written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(mlgate_ir::fixtures::write_all(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_constants_are_the_fixtures() {
        let names: Vec<&str> = list().into_iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                VISION_CNN,
                VISION_CNN_SLOW,
                NLP_ENCODER,
                AUDIO_CONV,
                TINY_MLP
            ]
        );
    }

    #[test]
    fn an_unknown_fixture_names_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(dir.path(), "resnet.onnx").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        let text = err.to_string();
        assert!(
            text.contains("resnet.onnx") && text.contains(TINY_MLP),
            "{text}"
        );
        let mlp = write(dir.path(), TINY_MLP).unwrap();
        assert_eq!(mlp, dir.path().join(TINY_MLP));
        assert_eq!(crate::inspect(&mlp).unwrap().outputs.len(), 1);
    }
}
