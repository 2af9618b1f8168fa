//! The files of a workspace directory (`.mlgate/`).

use std::path::{Path, PathBuf};

use crate::error::{RegistryError, Result};

/// Name of the workspace directory looked for in the current directory and its parents.
pub const WORKSPACE_DIR_NAME: &str = ".mlgate";

pub(crate) const DB_FILE: &str = "registry.db";

/// Which files of `.mlgate/` belong in version control: the budget and config are meant to
/// be shared by a team; the registry, artifacts and machine id are this machine's.
const GITIGNORE: &str = "\
# Written by mlgate. budget.toml and config.toml are meant to be committed; the rest is
# this machine's registry.
registry.db
registry.db-*
artifacts/
machine-id
ci_report.json
";

/// Paths inside a workspace directory.
#[derive(Debug, Clone)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    pub fn new(dir: &Path) -> Layout {
        Layout {
            dir: dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn db(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }
    pub fn artifacts(&self) -> PathBuf {
        self.dir.join("artifacts")
    }
    pub fn budget(&self) -> PathBuf {
        self.dir.join("budget.toml")
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.toml")
    }
    pub fn ci_report(&self) -> PathBuf {
        self.dir.join("ci_report.json")
    }
    pub fn machine_id_file(&self) -> PathBuf {
        self.dir.join("machine-id")
    }

    /// Create the directory skeleton. Returns true when this call created the workspace
    /// directory itself, so exactly one of several racing processes reports the creation.
    pub(crate) fn create(&self) -> Result<bool> {
        if let Some(parent) = self.dir.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| RegistryError::io(parent, e))?;
            }
        }
        let created = match std::fs::create_dir(&self.dir) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(RegistryError::io(&self.dir, e)),
        };
        for sub in [
            self.artifacts().join("sha256"),
            self.artifacts().join("tmp"),
        ] {
            std::fs::create_dir_all(&sub).map_err(|e| RegistryError::io(&sub, e))?;
        }
        let ignore = self.dir.join(".gitignore");
        if !ignore.exists() {
            crate::store::write_atomic(&ignore, GITIGNORE.as_bytes())?;
        }
        Ok(created)
    }
}

/// The workspace directory for a command started in `start`: the nearest `.mlgate`
/// directory in `start` or one of its parents, like git finds `.git`.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(WORKSPACE_DIR_NAME);
        if candidate.is_dir() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}
