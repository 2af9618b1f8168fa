//! float16: every float tensor stored and computed in half precision.

use mlgate_ir::onnx::proto::ModelProto;

use crate::{OptimizeError, PassReport, Result};

pub(crate) fn convert(_model: &mut ModelProto, _keep_io_types: bool) -> Result<PassReport> {
    Err(OptimizeError::unsupported(
        "fp16 conversion of ONNX models is not available in this build yet",
    ))
}
