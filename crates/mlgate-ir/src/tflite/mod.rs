//! ONNX: a complete prost model of onnx.proto (decode and encode) and its summary.
//! (placeholder: helper A replaces this)
use std::path::Path;
use crate::detect::{FormatReader, Sniff};
use crate::{IrError, ModelFormat, ModelInfo, Result};

pub struct TfliteReader;
impl FormatReader for TfliteReader {
    fn format(&self) -> ModelFormat { ModelFormat::Tflite }
    fn display_name(&self) -> &'static str { "TFLite" }
    fn extensions(&self) -> &'static [&'static str] { &["tflite"] }
    fn sniff(&self, _path: &Path, _head: Option<&[u8]>) -> Sniff { Sniff::No }
    fn inspect(&self, path: &Path) -> Result<ModelInfo> { Err(IrError::malformed(path, "TFLite", "placeholder")) }
}
