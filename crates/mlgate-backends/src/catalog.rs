//! The list of runtimes. Adding one means writing its module and adding its constructor to
//! [`BACKENDS`]; nothing else matches on backend kinds.

use std::path::Path;

use mlgate_ir::ModelFormat;

use crate::{Backend, BackendError, BackendKind, Result, RuntimeConfig, Session, SessionOptions};

type Constructor = fn(&RuntimeConfig) -> Box<dyn Backend>;

/// Every runtime, in order of preference for a format several of them run: tract first for
/// ONNX because it is always there.
const BACKENDS: &[Constructor] = &[
    |_| Box::new(crate::tract::TractBackend),
    crate::onnxruntime::backend,
    crate::litert::backend,
    crate::coreml::backend,
    #[cfg(feature = "candle")]
    |_| Box::new(crate::candle::CandleBackend),
];

/// The runtimes mlgate knows, configured with where to find their libraries. (Not the
/// build registry of a workspace, `mlgate_registry::Registry`.)
pub struct RuntimeCatalog {
    backends: Vec<Box<dyn Backend>>,
}

impl RuntimeCatalog {
    pub fn new(config: &RuntimeConfig) -> RuntimeCatalog {
        RuntimeCatalog {
            backends: BACKENDS.iter().map(|make| make(config)).collect(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn Backend> {
        self.backends.iter().map(|b| b.as_ref())
    }

    pub fn get(&self, kind: BackendKind) -> Option<&dyn Backend> {
        self.iter().find(|b| b.kind() == kind)
    }

    /// Runtimes that execute `format`, in order of preference.
    pub fn for_format(&self, format: ModelFormat) -> Vec<&dyn Backend> {
        self.iter().filter(|b| b.supports(format)).collect()
    }

    /// Loads `model` on the runtime `kind`, after checking that the runtime executes the
    /// model's format (detected from the file's content).
    pub fn load(
        &self,
        kind: BackendKind,
        model: &Path,
        options: &SessionOptions,
    ) -> Result<Box<dyn Session>> {
        let backend = self.get(kind).ok_or_else(|| BackendError::Unavailable {
            backend: kind,
            reason: "not registered in this build".into(),
        })?;
        let format = mlgate_ir::detect_format(model)
            .map_err(|e| BackendError::Load {
                backend: kind,
                model: model.to_owned(),
                detail: e.to_string(),
            })?
            .format();
        if !backend.supports(format) {
            let others: Vec<&str> = self.for_format(format).iter().map(|b| b.name()).collect();
            let runs: Vec<&str> = backend
                .formats()
                .iter()
                .map(|f| crate::targets::format_label(*f))
                .collect();
            return Err(BackendError::UnsupportedFormat {
                backend: kind,
                model: model.to_owned(),
                format: crate::targets::format_label(format).to_string(),
                runs: runs.join("/"),
                hint: if others.is_empty() {
                    "no runtime in this build runs it".into()
                } else {
                    format!("use {}", others.join(" or "))
                },
            });
        }
        backend.load(model, options)
    }
}
