use std::io::Read;
use std::path::Path;

use crate::error::{IrError, Result};
use crate::info::{ModelFormat, ModelInfo};

/// How sure a reader is that some content is its format, from a quick look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// A magic number matched.
    Yes,
    /// Plausible, but the format has no magic number (protobuf).
    Maybe,
    No,
}

/// One model format: how to recognise it and how to summarise it. Adding a format means
/// adding a module that implements this and listing it in [`READERS`].
pub trait FormatReader: Sync {
    fn format(&self) -> ModelFormat;
    /// Human name used in messages (`ONNX`, `TFLite`, `CoreML`).
    fn display_name(&self) -> &'static str;
    /// Lower-case file extensions, without the dot.
    fn extensions(&self) -> &'static [&'static str];
    /// `head` is the first bytes of a file (up to 64), or `None` for a directory.
    fn sniff(&self, path: &Path, head: Option<&[u8]>) -> Sniff;
    fn inspect(&self, path: &Path) -> Result<ModelInfo>;
}

/// Every format mlgate reads.
pub static READERS: &[&dyn FormatReader] = &[
    &crate::onnx::OnnxReader,
    &crate::tflite::TfliteReader,
    &crate::coreml::CoremlReader,
    &crate::gguf::GgufReader,
];

/// The reader for a path, decided by content first and extension second.
///
/// A known extension that contradicts the content is an error (a `.onnx` that is really a
/// TFLite file would otherwise be benchmarked on the wrong runtime later).
pub fn detect_format(path: &Path) -> Result<&'static dyn FormatReader> {
    let meta = std::fs::metadata(path).map_err(|e| IrError::io(path, e))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();

    if ext == "mlmodelc" {
        return Err(IrError::Unsupported {
            path: path.to_owned(),
            detail: "compiled CoreML models (.mlmodelc) are not supported; pass the .mlpackage or .mlmodel it was compiled from".into(),
        });
    }

    let head = if meta.is_dir() {
        None
    } else {
        if meta.len() == 0 {
            return Err(IrError::Empty {
                path: path.to_owned(),
            });
        }
        let mut buf = [0u8; 64];
        let mut f = std::fs::File::open(path).map_err(|e| IrError::io(path, e))?;
        let mut n = 0;
        while n < buf.len() {
            match f.read(&mut buf[n..]).map_err(|e| IrError::io(path, e))? {
                0 => break,
                k => n += k,
            }
        }
        Some(buf[..n].to_vec())
    };

    let by_ext = READERS
        .iter()
        .copied()
        .find(|r| r.extensions().contains(&ext.as_str()));
    let sniffs: Vec<(&'static dyn FormatReader, Sniff)> = READERS
        .iter()
        .map(|r| (*r, r.sniff(path, head.as_deref())))
        .collect();

    if let Some((sure, _)) = sniffs.iter().find(|(_, s)| *s == Sniff::Yes) {
        if let Some(named) = by_ext {
            if named.format() != sure.format() {
                return Err(wrong_extension(path, &ext, *sure, named));
            }
        }
        return Ok(*sure);
    }

    let maybes: Vec<&'static dyn FormatReader> = sniffs
        .iter()
        .filter(|(_, s)| *s == Sniff::Maybe)
        .map(|(r, _)| *r)
        .collect();
    if let Some(named) = by_ext {
        if maybes.iter().any(|r| r.format() == named.format()) {
            return Ok(named);
        }
        let reason = if meta.is_dir() {
            "the directory has no Manifest.json".to_string()
        } else {
            format!(
                "the content does not look like {} at all",
                named.display_name()
            )
        };
        return Err(IrError::malformed(path, named.display_name(), reason));
    }
    // No telling extension: the first protobuf reader that parses the file wins.
    for reader in &maybes {
        if reader.inspect(path).is_ok() {
            return Ok(*reader);
        }
    }
    Err(IrError::UnknownFormat {
        path: path.to_owned(),
        reason: if meta.is_dir() {
            "a directory without Manifest.json".into()
        } else {
            "no known magic number, and it does not parse as ONNX or CoreML protobuf".into()
        },
    })
}

fn wrong_extension(
    path: &Path,
    ext: &str,
    actual: &dyn FormatReader,
    named: &dyn FormatReader,
) -> IrError {
    IrError::UnknownFormat {
        path: path.to_owned(),
        reason: format!(
            "the extension .{ext} says {} but the content is {}; rename it to .{}",
            named.display_name(),
            actual.display_name(),
            actual.extensions()[0]
        ),
    }
}

/// Detect the format of `path` and summarise the model.
pub fn inspect(path: &Path) -> Result<ModelInfo> {
    detect_format(path)?.inspect(path)
}
