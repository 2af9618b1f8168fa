//! CoreML, on macOS only (through `coreml-rs`, feature `coreml`). Elsewhere the backend
//! exists so that `doctor` and target checks can name it, and loading explains what to do.
//!
//! The macOS path is small on purpose and has not been run by mlgate's CI (Linux).

use std::path::Path;

use mlgate_ir::ModelFormat;

use crate::{
    Backend, BackendError, BackendKind, Result, RuntimeConfig, RuntimeStatus, Session,
    SessionOptions,
};

const KIND: BackendKind = BackendKind::CoreMl;
const FORMATS: &[ModelFormat] = &[ModelFormat::Coreml];

/// The message for every CoreML load off macOS.
pub const NEEDS_MACOS: &str =
    "CoreML execution needs macOS; inspecting CoreML models works everywhere (mlgate inspect)";

pub(crate) fn backend(_: &RuntimeConfig) -> Box<dyn Backend> {
    Box::new(CoremlBackend)
}

struct CoremlBackend;

impl Backend for CoremlBackend {
    fn kind(&self) -> BackendKind {
        KIND
    }

    fn formats(&self) -> &'static [ModelFormat] {
        FORMATS
    }

    fn probe(&self) -> RuntimeStatus {
        let problem = unavailable_reason();
        RuntimeStatus {
            backend: KIND,
            available: problem.is_none(),
            formats: FORMATS.to_vec(),
            library: None,
            source: problem.is_none().then(|| "system framework".to_string()),
            version: None,
            problem: problem.map(str::to_string),
            install: None,
        }
    }

    fn load(&self, model: &Path, options: &SessionOptions) -> Result<Box<dyn Session>> {
        #[cfg(all(target_os = "macos", feature = "coreml"))]
        {
            macos::load(model, options)
        }
        #[cfg(not(all(target_os = "macos", feature = "coreml")))]
        {
            let _ = (model, options);
            let reason = unavailable_reason().unwrap_or(NEEDS_MACOS);
            Err(BackendError::Unavailable {
                backend: KIND,
                reason: reason.to_string(),
            })
        }
    }
}

fn unavailable_reason() -> Option<&'static str> {
    if !cfg!(target_os = "macos") {
        Some(NEEDS_MACOS)
    } else if !cfg!(feature = "coreml") {
        Some("this mlgate was built without the `coreml` feature; rebuild with `--features coreml`")
    } else {
        None
    }
}

#[cfg(all(target_os = "macos", feature = "coreml"))]
mod macos;
