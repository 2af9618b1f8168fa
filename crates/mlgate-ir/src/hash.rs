//! sha256 of files and packages: the content hash that names builds and artifacts, and the
//! one streaming loop every other sha256 of a file in mlgate goes through.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::error::{IrError, Result};

/// sha256 of a model's content, hex-encoded.
///
/// A file hashes its bytes. A directory (an `.mlpackage`) hashes, for each regular file in
/// byte order of its `/`-separated relative path: the path, a NUL, the length as u64 LE, and
/// the bytes — so renaming, moving or editing any file changes the hash, and the hash does not
/// depend on the directory's location, timestamps or the order the OS lists entries in.
pub fn content_hash(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| IrError::io(path, e))?;
    if meta.is_dir() {
        let files = list_files(path)?;
        hash_file_set(path, &files)
    } else {
        sha256_file(path)
    }
}

/// sha256 of one file's bytes, hex-encoded.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    feed_file(&mut hasher, path)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Streams `reader` into `hasher` in 64 KiB chunks and returns how many bytes it read.
/// `chunk` sees each piece right after it is hashed, so a caller can copy what it hashes in
/// one pass (and stop with its own error); read errors go through `read_error`, so each
/// caller names its own file.
pub fn hash_stream<R: Read, E>(
    hasher: &mut Sha256,
    mut reader: R,
    read_error: impl Fn(io::Error) -> E,
    mut chunk: impl FnMut(&[u8]) -> std::result::Result<(), E>,
) -> std::result::Result<u64, E> {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e)),
        };
        hasher.update(&buf[..n]);
        chunk(&buf[..n])?;
        total += n as u64;
    }
}

/// Hash of several files under `base`, named by relative path, with the same scheme as a
/// directory. Used for an ONNX model with its external-data files.
pub fn hash_file_set(base: &Path, relative: &[String]) -> Result<String> {
    let mut sorted: Vec<&String> = relative.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut hasher = Sha256::new();
    for rel in sorted {
        let full = if base.is_dir() {
            base.join(rel)
        } else {
            base.parent().unwrap_or(Path::new(".")).join(rel)
        };
        let len = std::fs::metadata(&full)
            .map_err(|e| IrError::io(&full, e))?
            .len();
        hasher.update(rel.as_bytes());
        hasher.update([0u8]);
        hasher.update(len.to_le_bytes());
        feed_file(&mut hasher, &full)?;
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Size on disk: a file's length, or the sum over a directory's regular files.
pub fn path_size(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|e| IrError::io(path, e))?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for rel in list_files(path)? {
        let full = path.join(&rel);
        total += std::fs::metadata(&full)
            .map_err(|e| IrError::io(&full, e))?
            .len();
    }
    Ok(total)
}

/// Regular files below `dir`, as `/`-separated relative paths, sorted. Symlinks are not
/// followed: a package must not reach outside itself.
pub(crate) fn list_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in WalkDir::new(dir).min_depth(1) {
        let entry = entry.map_err(|e| {
            let at = e.path().unwrap_or(dir).to_owned();
            IrError::io(&at, io::Error::from(e))
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let parts: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect();
        out.push(parts.join("/"));
    }
    out.sort();
    Ok(out)
}

fn feed_file(hasher: &mut Sha256, path: &Path) -> Result<()> {
    let f = File::open(path).map_err(|e| IrError::io(path, e))?;
    hash_stream(hasher, f, |e| IrError::io(path, e), |_| Ok(())).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hash_is_plain_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            content_hash(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn directory_hash_depends_on_names_and_content_not_location() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for root in [a.path(), b.path()] {
            std::fs::create_dir_all(root.join("Data/x")).unwrap();
            std::fs::write(root.join("Manifest.json"), b"{}").unwrap();
            std::fs::write(root.join("Data/x/w.bin"), b"weights").unwrap();
        }
        let ha = content_hash(a.path()).unwrap();
        assert_eq!(ha, content_hash(b.path()).unwrap());
        std::fs::rename(b.path().join("Data/x/w.bin"), b.path().join("Data/x/v.bin")).unwrap();
        assert_ne!(ha, content_hash(b.path()).unwrap());
        assert_eq!(path_size(a.path()).unwrap(), 2 + 7);
    }
}
