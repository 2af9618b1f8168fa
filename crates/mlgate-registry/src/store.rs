//! Content-addressed artifact store: `artifacts/sha256/<hash>` is a model file, or a
//! directory for an `.mlpackage` (or an ONNX model with its external-data files).
//!
//! Writes go to `artifacts/tmp/` first and are renamed into place, so an artifact under
//! `sha256/` is complete or absent — a process killed mid-copy leaves only a temporary entry,
//! which `verify` reports and `verify --repair` removes. The hash is computed on the copy,
//! not the source, so a source file changing during the import cannot produce an artifact
//! that does not match its name. Reads check the bytes against the name.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{RegistryError, Result};

/// A file or a directory tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    File,
    Directory,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::File => "file",
            ArtifactKind::Directory => "directory",
        }
    }

    pub(crate) fn parse(s: &str) -> ArtifactKind {
        if s == "directory" {
            ArtifactKind::Directory
        } else {
            ArtifactKind::File
        }
    }
}

/// An artifact now in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredArtifact {
    /// sha256 of the content (`mlgate_ir::content_hash`), hex.
    pub hash: String,
    pub kind: ArtifactKind,
    /// Bytes on disk (a directory sums its files).
    pub size: u64,
}

/// What a check of one stored artifact found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum ArtifactState {
    Ok,
    Missing,
    Corrupt { actual: String },
}

pub struct ArtifactStore {
    root: PathBuf,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl ArtifactStore {
    pub fn new(root: PathBuf) -> ArtifactStore {
        ArtifactStore { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn objects(&self) -> PathBuf {
        self.root.join("sha256")
    }

    fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where the artifact with this hash lives. The hash comes from the database, which a
    /// person could edit: anything but 64 hex digits is refused rather than joined to a path.
    pub fn path(&self, hash: &str) -> Result<PathBuf> {
        if !is_sha256_hex(hash) {
            return Err(RegistryError::invalid(
                "artifact hash",
                hash,
                "expected 64 lowercase hex digits; the registry row is damaged (run `mlgate verify`)",
            ));
        }
        Ok(self.objects().join(hash))
    }

    /// The store's staging directory (`artifacts/tmp/`, created if missing), for files that
    /// are written before they become artifacts (an optimized variant before it is checked):
    /// ignored by git, and `mlgate verify` reports what a killed process left there.
    pub fn staging_dir(&self) -> Result<PathBuf> {
        let dir = self.tmp();
        std::fs::create_dir_all(&dir).map_err(|e| RegistryError::io(&dir, e))?;
        Ok(dir)
    }

    pub(crate) fn new_tmp_path(&self) -> Result<PathBuf> {
        let dir = self.tmp();
        std::fs::create_dir_all(&dir).map_err(|e| RegistryError::io(&dir, e))?;
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        Ok(dir.join(format!(
            "{}-{}-{}",
            std::process::id(),
            n,
            crate::machine::random_hex(4)
        )))
    }

    /// Copy a model file or `.mlpackage` directory into the store (deduplicated by content).
    pub fn put(&self, src: &Path) -> Result<StoredArtifact> {
        let meta = std::fs::metadata(src).map_err(|e| RegistryError::io(src, e))?;
        let tmp = self.new_tmp_path()?;
        let staged = if meta.is_dir() {
            copy_tree(src, &tmp).and_then(|()| finish_dir(&tmp))
        } else {
            copy_file_hashing(src, &tmp).map(|(hash, size)| (hash, ArtifactKind::File, size))
        };
        self.commit(tmp, staged)
    }

    /// Store a model file together with files it references (an ONNX model's external data,
    /// paths relative to the model's directory) as one directory artifact.
    pub fn put_with_files(&self, model: &Path, extra: &[String]) -> Result<StoredArtifact> {
        let base = model.parent().unwrap_or(Path::new("."));
        let name = model.file_name().ok_or_else(|| {
            RegistryError::invalid("model path", model.display().to_string(), "expected a file")
        })?;
        let tmp = self.new_tmp_path()?;
        let staged = (|| {
            std::fs::create_dir_all(&tmp).map_err(|e| RegistryError::io(&tmp, e))?;
            copy_file_hashing(model, &tmp.join(name))?;
            for rel in extra {
                let rel_path = Path::new(rel);
                if rel_path.is_absolute()
                    || rel_path
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir))
                {
                    return Err(RegistryError::invalid(
                        "external data path",
                        rel.as_str(),
                        "must stay inside the model's directory",
                    ));
                }
                let dest = tmp.join(rel_path);
                if let Some(p) = dest.parent() {
                    std::fs::create_dir_all(p).map_err(|e| RegistryError::io(p, e))?;
                }
                copy_file_hashing(&base.join(rel_path), &dest)?;
            }
            finish_dir(&tmp)
        })();
        self.commit(tmp, staged)
    }

    /// Rename a staged copy into place, or drop it when an intact copy is already there.
    pub(crate) fn commit(
        &self,
        tmp: PathBuf,
        staged: Result<(String, ArtifactKind, u64)>,
    ) -> Result<StoredArtifact> {
        let (hash, kind, size) = match staged {
            Ok(s) => s,
            Err(e) => {
                remove_any(&tmp);
                return Err(e);
            }
        };
        crate::hook::pause("artifact-written");
        let dest = self.path(&hash)?;
        let objects = self.objects();
        std::fs::create_dir_all(&objects).map_err(|e| RegistryError::io(&objects, e))?;
        if dest.exists() {
            match self.state(&hash)? {
                ArtifactState::Ok => {
                    remove_any(&tmp);
                    return Ok(StoredArtifact { hash, kind, size });
                }
                // A damaged copy is set aside, never silently overwritten: `verify` shows it.
                _ => {
                    self.quarantine(&hash)?;
                }
            }
        }
        match std::fs::rename(&tmp, &dest) {
            Ok(()) => {}
            // Another process stored the same directory a moment ago: theirs is as good.
            Err(_) if kind == ArtifactKind::Directory && dest.is_dir() => remove_any(&tmp),
            Err(e) => {
                remove_any(&tmp);
                return Err(RegistryError::io(&dest, e));
            }
        }
        sync_dir(&objects);
        Ok(StoredArtifact { hash, kind, size })
    }

    /// Hash the stored bytes and compare with the name.
    pub fn state(&self, hash: &str) -> Result<ArtifactState> {
        let path = self.path(hash)?;
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(ArtifactState::Missing);
        }
        match mlgate_ir::content_hash(&path) {
            Ok(actual) if actual == hash => Ok(ArtifactState::Ok),
            Ok(actual) => Ok(ArtifactState::Corrupt { actual }),
            Err(mlgate_ir::IrError::Io { .. }) if !path.exists() => Ok(ArtifactState::Missing),
            Err(e) => Err(e.into()),
        }
    }

    /// The path of a build's artifact after checking its bytes; the error names the build.
    pub fn verified_path(&self, hash: &str, build: &str) -> Result<PathBuf> {
        let path = self.path(hash)?;
        match self.state(hash)? {
            ArtifactState::Ok => Ok(path),
            ArtifactState::Missing => Err(RegistryError::MissingArtifact {
                build: build.to_string(),
                path,
            }),
            ArtifactState::Corrupt { actual } => Err(RegistryError::CorruptArtifact {
                build: build.to_string(),
                path,
                expected: hash.to_string(),
                actual,
            }),
        }
    }

    /// Every entry under `sha256/`, by name.
    pub fn entries(&self) -> Result<Vec<(String, PathBuf)>> {
        list_dir(&self.objects())
    }

    /// Leftovers of interrupted writes under `tmp/`.
    pub fn temp_entries(&self) -> Result<Vec<PathBuf>> {
        Ok(list_dir(&self.tmp())?.into_iter().map(|(_, p)| p).collect())
    }

    /// Move a damaged artifact to `artifacts/corrupt/` (kept for inspection, out of the
    /// store's namespace).
    pub fn quarantine(&self, hash: &str) -> Result<PathBuf> {
        let src = self.path(hash)?;
        let dir = self.root.join("corrupt");
        std::fs::create_dir_all(&dir).map_err(|e| RegistryError::io(&dir, e))?;
        let dest = dir.join(format!("{hash}.{}", crate::time::now_ms()));
        std::fs::rename(&src, &dest).map_err(|e| RegistryError::io(&src, e))?;
        Ok(dest)
    }

    /// Remove a file or directory inside the store.
    pub fn remove(&self, path: &Path) -> Result<()> {
        if !path.starts_with(&self.root) {
            return Err(RegistryError::invalid(
                "artifact path",
                path.display().to_string(),
                "not inside the artifact store",
            ));
        }
        let r = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        r.map_err(|e| RegistryError::io(path, e))
    }
}

pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn list_dir(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(RegistryError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| RegistryError::io(dir, e))?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    out.sort();
    Ok(out)
}

pub(crate) fn remove_any(path: &Path) {
    let _ = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
}

/// Copy `src` to `dest` while hashing what was written; fsync before returning so the rename
/// that follows never exposes a file whose bytes are not yet on disk.
fn copy_file_hashing(src: &Path, dest: &Path) -> Result<(String, u64)> {
    let mut input = File::open(src).map_err(|e| RegistryError::io(src, e))?;
    let mut output = File::create(dest).map_err(|e| RegistryError::io(dest, e))?;
    let mut hasher = Sha256::new();
    let size = mlgate_ir::hash::hash_stream(
        &mut hasher,
        &mut input,
        |e| RegistryError::io(src, e),
        |chunk| {
            output
                .write_all(chunk)
                .map_err(|e| RegistryError::io(dest, e))
        },
    )?;
    output.sync_all().map_err(|e| RegistryError::io(dest, e))?;
    Ok((hex::encode(hasher.finalize()), size))
}

/// Copy a directory's regular files and folders. Symlinks are skipped, as the content hash
/// skips them: a package must not reach outside itself.
fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest).map_err(|e| RegistryError::io(dest, e))?;
    for entry in walkdir::WalkDir::new(src).min_depth(1) {
        let entry = entry.map_err(|e| {
            let at = e.path().unwrap_or(src).to_owned();
            RegistryError::io(at, std::io::Error::from(e))
        })?;
        let rel = entry.path().strip_prefix(src).unwrap_or(entry.path());
        let target = dest.join(rel);
        let ft = entry.file_type();
        if ft.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| RegistryError::io(&target, e))?;
        } else if ft.is_file() {
            copy_file_hashing(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn finish_dir(dir: &Path) -> Result<(String, ArtifactKind, u64)> {
    let hash = mlgate_ir::content_hash(dir)?;
    let size = mlgate_ir::path_size(dir)?;
    sync_dir(dir);
    Ok((hash, ArtifactKind::Directory, size))
}

/// Make a rename durable. Best effort: not every platform can open a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Write a small file atomically: temporary sibling, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", crate::machine::random_hex(6)));
    let result = (|| {
        let mut f = File::create(&tmp).map_err(|e| RegistryError::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| RegistryError::io(&tmp, e))?;
        f.sync_all().map_err(|e| RegistryError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| RegistryError::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_files_and_packages_deduplicated_and_verified() {
        let ws = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(ws.path().join("artifacts"));
        let src = tempfile::tempdir().unwrap();
        let f = src.path().join("m.onnx");
        std::fs::write(&f, b"model bytes").unwrap();
        let a = store.put(&f).unwrap();
        assert_eq!(a.hash, mlgate_ir::content_hash(&f).unwrap());
        assert_eq!(store.put(&f).unwrap(), a);
        assert_eq!(store.state(&a.hash).unwrap(), ArtifactState::Ok);

        let pkg = src.path().join("m.mlpackage");
        std::fs::create_dir_all(pkg.join("Data/w")).unwrap();
        std::fs::write(pkg.join("Manifest.json"), b"{}").unwrap();
        std::fs::write(pkg.join("Data/w/weight.bin"), b"w").unwrap();
        let p = store.put(&pkg).unwrap();
        assert_eq!(p.kind, ArtifactKind::Directory);
        assert_eq!(p.hash, mlgate_ir::content_hash(&pkg).unwrap());
        assert_eq!(store.put(&pkg).unwrap(), p);
        assert!(store.temp_entries().unwrap().is_empty());

        std::fs::write(store.path(&a.hash).unwrap(), b"tampered").unwrap();
        assert!(matches!(
            store.state(&a.hash).unwrap(),
            ArtifactState::Corrupt { .. }
        ));
        let err = store.verified_path(&a.hash, "abcd1234").unwrap_err();
        assert!(err.to_string().contains("build abcd1234"), "{err}");
        // Storing the same content again sets the damaged copy aside and heals the store.
        store.put(&f).unwrap();
        assert_eq!(store.state(&a.hash).unwrap(), ArtifactState::Ok);
        assert!(store.path("../../etc/passwd").is_err());
    }
}
