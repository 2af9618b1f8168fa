//! ONNX: a complete prost model of onnx.proto (decode and encode) and its summary.
//! (placeholder: helper A replaces this)
use std::path::Path;
use crate::detect::{FormatReader, Sniff};
use crate::{IrError, ModelFormat, ModelInfo, Result};

pub struct CoremlReader;
impl FormatReader for CoremlReader {
    fn format(&self) -> ModelFormat { ModelFormat::Coreml }
    fn display_name(&self) -> &'static str { "CoreML" }
    fn extensions(&self) -> &'static [&'static str] { &["mlmodel", "mlpackage"] }
    fn sniff(&self, _path: &Path, _head: Option<&[u8]>) -> Sniff { Sniff::No }
    fn inspect(&self, path: &Path) -> Result<ModelInfo> { Err(IrError::malformed(path, "CoreML", "placeholder")) }
}
