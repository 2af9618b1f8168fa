//! The environment a measurement was taken in, stored with every result: a latency means
//! nothing without the machine, runtime and settings it came from.
//!
//! Read from /proc and /sys where they exist; what cannot be read is `None`, never guessed.
//! (`mlgate_backends::host` is meant to own host facts; until it does, they are read here.)

use std::path::{Path, PathBuf};

use mlgate_backends::SessionInfo;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MeasurementEnvironment {
    pub cpu_model: Option<String>,
    /// Logical CPUs this process may run on.
    pub cores: usize,
    /// CPUs the process is allowed on (`Cpus_allowed_list`), e.g. `0-1`.
    pub affinity: Option<String>,
    /// cpufreq governor of CPU 0 (`performance`, `powersave`…); often absent in VMs.
    pub governor: Option<String>,
    pub os: String,
    pub os_release: Option<String>,
    pub kernel: Option<String>,
    pub arch: String,
    /// 1-minute load average when the measurement started: a busy machine explains noise.
    pub load_average: Option<f64>,
    pub backend: String,
    pub runtime_version: Option<String>,
    pub intra_op_threads: Option<usize>,
    pub inter_op_threads: Option<usize>,
    pub mlgate_version: String,
    /// Commit of the git repository around the working directory, when there is one.
    pub git_commit: Option<String>,
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Resolves HEAD of the repository containing `start` without running git: follows a
/// `.git` file (worktrees), a symbolic ref, loose refs and `packed-refs`.
pub fn git_commit(start: &Path) -> Option<String> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let dotgit = d.join(".git");
        if dotgit.exists() {
            let gitdir = if dotgit.is_file() {
                let text = std::fs::read_to_string(&dotgit).ok()?;
                let p = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
                if p.is_absolute() {
                    p
                } else {
                    d.join(p)
                }
            } else {
                dotgit
            };
            return resolve_head(&gitdir);
        }
        dir = d.parent();
    }
    None
}

fn resolve_head(gitdir: &Path) -> Option<String> {
    let head = std::fs::read_to_string(gitdir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:").map(str::trim) else {
        return is_hash(head).then(|| head.to_string());
    };
    // Worktrees keep refs in the common directory.
    let common = std::fs::read_to_string(gitdir.join("commondir"))
        .ok()
        .map(|c| gitdir.join(c.trim()))
        .unwrap_or_else(|| gitdir.to_path_buf());
    for base in [gitdir, common.as_path()] {
        if let Ok(h) = std::fs::read_to_string(base.join(reference)) {
            let h = h.trim();
            if is_hash(h) {
                return Some(h.to_string());
            }
        }
        if let Ok(packed) = std::fs::read_to_string(base.join("packed-refs")) {
            for line in packed.lines() {
                if let Some((h, name)) = line.split_once(' ') {
                    if name == reference && is_hash(h) {
                        return Some(h.to_string());
                    }
                }
            }
        }
    }
    None
}

fn is_hash(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl MeasurementEnvironment {
    /// The fingerprint of this machine for a measurement on `session`.
    pub fn capture(session: &SessionInfo) -> MeasurementEnvironment {
        // The machine facts come from the backends' host fingerprint (what `doctor` shows);
        // this adds what matters for one measurement: affinity, load, session, commit.
        let host = mlgate_backends::host::HostInfo::detect();
        MeasurementEnvironment {
            cpu_model: host.cpu_model,
            cores: host.logical_cores,
            affinity: std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|t| {
                    t.lines()
                        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                        .map(|v| v.trim().to_string())
                }),
            governor: host.governor,
            os: std::env::consts::OS.to_string(),
            os_release: Some(host.os),
            kernel: host.kernel,
            arch: host.arch,
            load_average: read_trimmed("/proc/loadavg")
                .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok())),
            backend: session.backend.name().to_string(),
            runtime_version: session.runtime_version.clone(),
            intra_op_threads: session.intra_op_threads,
            inter_op_threads: session.inter_op_threads,
            mlgate_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: std::env::current_dir().ok().and_then(|d| git_commit(&d)),
        }
    }

    /// One line for tables: CPU, cores, OS, runtime.
    pub fn short(&self) -> String {
        format!(
            "{} ({} cores{}), {} {}, {} {}",
            self.cpu_model.as_deref().unwrap_or("unknown CPU"),
            self.cores,
            self.governor
                .as_deref()
                .map(|g| format!(", {g}"))
                .unwrap_or_default(),
            self.os_release.as_deref().unwrap_or(&self.os),
            self.kernel.as_deref().unwrap_or(""),
            self.backend,
            self.runtime_version.as_deref().unwrap_or("?"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_a_symbolic_head_and_packed_refs() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        let hash = "0123456789abcdef0123456789abcdef01234567";
        std::fs::write(
            git.join("packed-refs"),
            format!("# pack-refs\n{hash} refs/heads/main\n"),
        )
        .unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(git_commit(&sub).as_deref(), Some(hash));
        std::fs::write(
            git.join("refs/heads/main"),
            format!("{}\n", hash.replace('0', "f")),
        )
        .unwrap();
        assert_eq!(git_commit(&sub), Some(hash.replace('0', "f")));
    }
}
