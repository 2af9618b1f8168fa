//! `.mlpackage` directories: `Manifest.json` names the items of the package, and
//! `rootModelIdentifier` the one holding the model spec; item paths are relative to `Data/`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::error::{IrError, Result};

use super::FORMAT;

pub const MANIFEST: &str = "Manifest.json";
/// What a compiled `.mlmodelc` directory has instead of a manifest.
pub const COMPILED_MARKER: &str = "coremldata.bin";
/// A manifest is a few hundred bytes; anything this large is not one.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    file_format_version: Option<String>,
    #[serde(default)]
    item_info_entries: BTreeMap<String, ItemInfo>,
    root_model_identifier: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ItemInfo {
    path: Option<String>,
}

/// The root model of a package.
#[derive(Debug)]
pub struct RootModel {
    /// Absolute path of the model spec file.
    pub file: PathBuf,
    /// The same, relative to the package, `/`-separated, for messages.
    pub relative: String,
    pub file_format_version: Option<String>,
}

/// Finds the root model file of the package at `dir` through its manifest.
pub fn root_model(dir: &Path) -> Result<RootModel> {
    let malformed = |detail: String| IrError::malformed(dir, FORMAT, detail);
    let manifest_path = dir.join(MANIFEST);
    if !manifest_path.is_file() {
        if dir.join(COMPILED_MARKER).is_file() {
            return Err(compiled(dir));
        }
        return Err(malformed(format!(
            "the directory has no {MANIFEST}; an .mlpackage needs one (was it copied whole?)"
        )));
    }
    let size = std::fs::metadata(&manifest_path)
        .map_err(|e| IrError::io(&manifest_path, e))?
        .len();
    if size > MAX_MANIFEST_BYTES {
        return Err(malformed(format!(
            "{MANIFEST} is {size} bytes, too large to be a manifest"
        )));
    }
    let text = std::fs::read(&manifest_path).map_err(|e| IrError::io(&manifest_path, e))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| malformed(format!("{MANIFEST} is not a valid package manifest: {e}")))?;
    let id = manifest
        .root_model_identifier
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| malformed(format!("{MANIFEST} has no rootModelIdentifier")))?;
    let item = manifest.item_info_entries.get(id).ok_or_else(|| {
        malformed(format!(
            "{MANIFEST}: the root model item {id:?} is not among itemInfoEntries"
        ))
    })?;
    let item_path = item
        .path
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            malformed(format!(
                "{MANIFEST}: the root model item {id:?} has no path"
            ))
        })?;
    let relative = safe_relative(item_path).ok_or_else(|| {
        malformed(format!(
            "{MANIFEST}: the root model path {item_path:?} is not a relative path inside the package"
        ))
    })?;
    let relative = format!("Data/{relative}");
    let file = dir.join(&relative);
    if !file.exists() {
        return Err(malformed(format!(
            "the root model file {relative} named by {MANIFEST} is missing"
        )));
    }
    check_inside(dir, &file).map_err(|_| {
        malformed(format!(
            "the root model file {relative} leads outside the package"
        ))
    })?;
    if !file.is_file() {
        return Err(malformed(format!(
            "the root model {relative} is not a file"
        )));
    }
    Ok(RootModel {
        file,
        relative,
        file_format_version: manifest.file_format_version,
    })
}

pub fn compiled(path: &Path) -> IrError {
    IrError::Unsupported {
        path: path.to_owned(),
        detail: "compiled models are not supported; pass the .mlpackage or .mlmodel it was \
                 compiled from"
            .into(),
    }
}

/// `p` as a `/`-separated relative path with no `..`, root or prefix, or `None`.
pub fn safe_relative(p: &str) -> Option<String> {
    // Backslashes are separators on Windows; treating them as such everywhere makes a
    // manifest mean the same on every platform.
    let p = p.replace('\\', "/");
    let mut parts = Vec::new();
    for c in Path::new(&p).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?.to_string()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// Fails unless `file` (which exists) resolves, symlinks followed, to a path under `dir`.
pub fn check_inside(dir: &Path, file: &Path) -> std::io::Result<()> {
    let root = dir.canonicalize()?;
    let real = file.canonicalize()?;
    if real.starts_with(&root) {
        Ok(())
    } else {
        Err(std::io::Error::other("outside"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            safe_relative("com.apple.CoreML/model.mlmodel").as_deref(),
            Some("com.apple.CoreML/model.mlmodel")
        );
        assert_eq!(safe_relative("./a//b").as_deref(), Some("a/b"));
        for bad in [
            "",
            ".",
            "/etc/passwd",
            "../../etc/passwd",
            "a/../../b",
            "a\\..\\..\\b",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
    }
}
