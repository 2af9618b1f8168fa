//! A model the user named: an existing file or package, else a build of the workspace (tag,
//! id or id prefix), run from its verified artifact. One resolution for every command that
//! takes a model, so `benchmark`, `infer` and the gates read an argument the same way.

use std::path::{Path, PathBuf};

use mlgate_registry::RegistryError;

use crate::workspace::{Build, Workspace};
use crate::{Error, Result};

/// Where a named model is and what it is in the workspace. Resolving does not parse the
/// model: the command that runs it does, once.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRef {
    /// What runs: the file, or the build's verified artifact.
    pub path: PathBuf,
    /// The build it is, when the reference named one (a file is `None`).
    pub build: Option<Build>,
    /// The tag the reference named, if it was one.
    pub tag: Option<String>,
}

impl ModelRef {
    /// A model file or package, not a build.
    pub fn file(path: impl Into<PathBuf>) -> ModelRef {
        ModelRef {
            path: path.into(),
            build: None,
            tag: None,
        }
    }

    /// The runtime a build's target names (`onnxruntime_cpu` → `onnxruntime`); `None` for a
    /// file, which runs on its format's default.
    pub fn build_backend(&self) -> Option<String> {
        self.build.as_ref().and_then(|b| b.backend.clone())
    }

    /// `build` of `ws`, as `reference` named it, from its artifact (hash checked).
    ///
    /// # Errors
    /// [`Error::Registry`] when the stored artifact is missing or its bytes no longer match
    /// their hash (the message names the build and `mlgate verify`).
    pub fn from_build(ws: &Workspace, build: Build, reference: &str) -> Result<ModelRef> {
        let path = ws.model_path(&build)?;
        let is_id = build.id.starts_with(&reference.to_ascii_lowercase());
        Ok(ModelRef {
            path,
            tag: (!is_id).then(|| reference.to_string()),
            build: Some(build),
        })
    }
}

impl From<PathBuf> for ModelRef {
    fn from(path: PathBuf) -> ModelRef {
        ModelRef::file(path)
    }
}

/// Resolves a model argument: an existing file or package wins; otherwise a build of `ws`
/// (tag, id, or id prefix), whose artifact's hash is checked — a damaged artifact is an
/// error naming the build, never a silent pass.
///
/// # Errors
/// [`Error::Model`] when there is no workspace and the file cannot be read;
/// [`Error::Invalid`] when the reference is neither a file nor a build of `ws`;
/// [`Error::Registry`] for an ambiguous id prefix or a damaged artifact.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = mlgate::fixtures::write(dir.path(), mlgate::fixtures::TINY_MLP)?;
/// let model = mlgate::model::resolve(None, &path)?;
/// assert_eq!(model, mlgate::ModelRef::file(&path));
/// assert!(mlgate::model::resolve(None, "baseline").is_err()); // no file, no workspace
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve(ws: Option<&Workspace>, reference: impl AsRef<Path>) -> Result<ModelRef> {
    // A path is checked as given (names need not be UTF-8); only a build name is text.
    let path = reference.as_ref();
    if path.exists() {
        return Ok(ModelRef::file(path));
    }
    let reference = &*path.to_string_lossy();
    let Some(ws) = ws else {
        // No workspace: the argument can only have been meant as a file, and reading it
        // gives the error that names it.
        crate::inspect(path)?;
        return Err(Error::Invalid {
            what: "model",
            value: reference.to_string(),
            hint: "no such file, and there is no workspace to look it up as a build".into(),
        });
    };
    let build = ws.resolve_build(reference).map_err(|e| match e {
        Error::Registry(RegistryError::UnknownBuild { .. }) => Error::Invalid {
            what: "model or build",
            value: reference.to_string(),
            hint: format!("it is neither a file nor a build of the workspace ({e})"),
        },
        other => other,
    })?;
    ModelRef::from_build(ws, build, reference)
}
