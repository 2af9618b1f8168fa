//! Fuzz targets go through `mlgate_ir::inspect` on real files, as a user would: detection,
//! parsing and summarising. Files live in tmpfs when there is one, so a run stays fast.

use std::path::PathBuf;

pub fn scratch_dir() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("mlgate-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Inspect `data` saved under `name`; any result is fine, a panic is the bug.
pub fn inspect_as(name: &str, data: &[u8]) {
    let path = scratch_dir().join(name);
    std::fs::write(&path, data).expect("write scratch file");
    let _ = mlgate_ir::inspect(&path);
}
