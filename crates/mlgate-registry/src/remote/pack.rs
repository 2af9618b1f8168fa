//! A directory artifact (an `.mlpackage`, an ONNX model with external data) travels as one
//! object: a header line, one JSON line listing the files (relative path, size), then the
//! files' bytes in that order. Unpacking refuses absolute paths, `..` and sizes that do not
//! add up, and the result is checked against the artifact's content hash before it is used.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};

const MAGIC: &str = "mlgate-pack/v1";

#[derive(Serialize, Deserialize)]
struct Entry {
    path: String,
    size: u64,
}

/// Write the pack of directory `dir` to `out`.
pub fn pack(dir: &Path, out: &Path) -> Result<()> {
    let mut entries = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| RegistryError::io(dir, std::io::Error::other(e)))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map_err(|e| RegistryError::io(entry.path(), std::io::Error::other(e)))?;
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let size = entry
            .metadata()
            .map_err(|e| RegistryError::io(entry.path(), std::io::Error::other(e)))?
            .len();
        entries.push(Entry { path: rel, size });
    }
    let file = std::fs::File::create(out).map_err(|e| RegistryError::io(out, e))?;
    let mut w = std::io::BufWriter::new(file);
    let header = serde_json::to_string(&entries).unwrap_or_default();
    writeln!(w, "{MAGIC}").map_err(|e| RegistryError::io(out, e))?;
    writeln!(w, "{header}").map_err(|e| RegistryError::io(out, e))?;
    for e in &entries {
        let src = dir.join(&e.path);
        let mut f = std::fs::File::open(&src).map_err(|err| RegistryError::io(&src, err))?;
        let copied = std::io::copy(&mut f, &mut w).map_err(|err| RegistryError::io(&src, err))?;
        if copied != e.size {
            return Err(RegistryError::io(
                &src,
                std::io::Error::other("the file changed while it was packed"),
            ));
        }
    }
    w.flush().map_err(|e| RegistryError::io(out, e))
}

/// Unpack `pack` into the new directory `dest`. `what` names the object in errors.
pub fn unpack(pack: &Path, dest: &Path, what: &str) -> Result<()> {
    let bad = |why: &str| {
        RegistryError::invalid(
            "remote object",
            what,
            format!("not a valid mlgate pack ({why})"),
        )
    };
    let file = std::fs::File::open(pack).map_err(|e| RegistryError::io(pack, e))?;
    let mut r = BufReader::new(file);
    let mut line = String::new();
    r.read_line(&mut line)
        .map_err(|e| RegistryError::io(pack, e))?;
    if line.trim_end() != MAGIC {
        return Err(bad("no header"));
    }
    line.clear();
    r.read_line(&mut line)
        .map_err(|e| RegistryError::io(pack, e))?;
    let entries: Vec<Entry> =
        serde_json::from_str(line.trim_end()).map_err(|_| bad("file list"))?;
    std::fs::create_dir_all(dest).map_err(|e| RegistryError::io(dest, e))?;
    for e in entries {
        let rel = Path::new(&e.path);
        if e.path.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(bad("a path leaves the directory"));
        }
        let out = dest.join(rel);
        if let Some(p) = out.parent() {
            std::fs::create_dir_all(p).map_err(|err| RegistryError::io(p, err))?;
        }
        let mut f = std::fs::File::create(&out).map_err(|err| RegistryError::io(&out, err))?;
        let copied = std::io::copy(&mut (&mut r).take(e.size), &mut f)
            .map_err(|err| RegistryError::io(&out, err))?;
        if copied != e.size {
            return Err(bad("truncated"));
        }
    }
    let mut rest = [0u8; 1];
    if r.read(&mut rest).map_err(|e| RegistryError::io(pack, e))? != 0 {
        return Err(bad("trailing bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_round_trip_and_hash_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("m.mlpackage");
        std::fs::create_dir_all(src.join("Data/weights")).unwrap();
        std::fs::write(src.join("Manifest.json"), b"{}").unwrap();
        std::fs::write(src.join("Data/weights/w.bin"), vec![7u8; 5000]).unwrap();
        let pack_file = dir.path().join("p");
        pack(&src, &pack_file).unwrap();
        let out = dir.path().join("out");
        unpack(&pack_file, &out, "obj").unwrap();
        assert_eq!(
            mlgate_ir::content_hash(&src).unwrap(),
            mlgate_ir::content_hash(&out).unwrap()
        );
    }

    #[test]
    fn hostile_packs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p");
        std::fs::write(
            &p,
            format!("{MAGIC}\n[{{\"path\":\"../x\",\"size\":1}}]\nA"),
        )
        .unwrap();
        assert!(unpack(&p, &dir.path().join("o1"), "obj").is_err());
        std::fs::write(&p, format!("{MAGIC}\n[{{\"path\":\"a\",\"size\":5}}]\nA")).unwrap();
        assert!(unpack(&p, &dir.path().join("o2"), "obj").is_err());
        std::fs::write(&p, "junk").unwrap();
        assert!(unpack(&p, &dir.path().join("o3"), "obj").is_err());
    }
}
