//! What machine a measurement ran on, and `doctor`: which runtimes are usable here.

use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;

use crate::{RuntimeCatalog, RuntimeStatus};

/// The facts about this machine that change benchmark numbers.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HostInfo {
    pub cpu_model: Option<String>,
    pub logical_cores: usize,
    /// CPU frequency governor (`performance`, `powersave`, ...), where the OS exposes it.
    pub governor: Option<String>,
    pub os: String,
    pub kernel: Option<String>,
    pub arch: String,
    pub memory_bytes: Option<u64>,
}

fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

impl HostInfo {
    pub fn detect() -> HostInfo {
        let logical_cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let arch = std::env::consts::ARCH.to_string();
        if cfg!(target_os = "linux") {
            let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            // x86 says "model name"; many ARM kernels only have "Hardware" or "Model".
            let field = |key: &str| {
                cpuinfo.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    (k.trim() == key)
                        .then(|| v.trim().to_string())
                        .filter(|v| !v.is_empty())
                })
            };
            let os = read_trimmed("/etc/os-release")
                .and_then(|t| {
                    t.lines().find_map(|l| {
                        l.strip_prefix("PRETTY_NAME=")
                            .map(|v| v.trim_matches('"').to_string())
                    })
                })
                .unwrap_or_else(|| "Linux".into());
            let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
                let kb: u64 = m
                    .lines()
                    .find(|l| l.starts_with("MemTotal:"))?
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()?;
                kb.checked_mul(1024)
            });
            HostInfo {
                cpu_model: field("model name")
                    .or_else(|| field("Hardware"))
                    .or_else(|| field("Model")),
                logical_cores,
                governor: read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
                os,
                kernel: read_trimmed("/proc/sys/kernel/osrelease"),
                arch,
                memory_bytes,
            }
        } else if cfg!(target_os = "macos") {
            HostInfo {
                cpu_model: command_output("sysctl", &["-n", "machdep.cpu.brand_string"]),
                logical_cores,
                governor: None,
                os: command_output("sw_vers", &["-productVersion"])
                    .map_or_else(|| "macOS".into(), |v| format!("macOS {v}")),
                kernel: command_output("uname", &["-r"]),
                arch,
                memory_bytes: command_output("sysctl", &["-n", "hw.memsize"])
                    .and_then(|s| s.parse().ok()),
            }
        } else {
            HostInfo {
                cpu_model: None,
                logical_cores,
                governor: None,
                os: std::env::consts::OS.into(),
                kernel: None,
                arch,
                memory_bytes: None,
            }
        }
    }
}

/// `mlgate doctor`: the host and every runtime's status.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Doctor {
    pub host: HostInfo,
    pub runtimes: Vec<RuntimeStatus>,
}

/// Probes every registered runtime. Finding a library may load it (to read its version),
/// and may ask the active Python once where its packages are.
pub fn doctor(registry: &RuntimeCatalog) -> Doctor {
    Doctor {
        host: HostInfo::detect(),
        runtimes: registry.iter().map(|b| b.probe()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackendKind, RuntimeConfig};

    #[test]
    fn fingerprint_has_the_basics() {
        let h = HostInfo::detect();
        assert!(h.logical_cores >= 1);
        assert!(!h.os.is_empty() && !h.arch.is_empty());
        if cfg!(target_os = "linux") {
            assert!(h.kernel.is_some() && h.cpu_model.is_some(), "{h:?}");
        }
    }

    #[test]
    fn doctor_says_how_to_install_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let config = RuntimeConfig {
            mlgate_home: Some(dir.path().to_owned()),
            python: Some("/nonexistent/python3".into()),
            ..Default::default()
        };
        let d = doctor(&RuntimeCatalog::new(&config));
        let tract = d
            .runtimes
            .iter()
            .find(|r| r.backend == BackendKind::Tract)
            .unwrap();
        assert!(tract.available && tract.version.is_some());
        let candle = d.runtimes.iter().find(|r| r.backend == BackendKind::Candle);
        assert_eq!(
            candle.is_some_and(|c| c.available && c.formats == [mlgate_ir::ModelFormat::Gguf]),
            cfg!(feature = "candle")
        );
        let coreml = d
            .runtimes
            .iter()
            .find(|r| r.backend == BackendKind::CoreMl)
            .unwrap();
        assert_eq!(
            coreml.available,
            cfg!(all(target_os = "macos", feature = "coreml"))
        );
        // Only meaningful when the environment does not point at a library already.
        if std::env::var_os("ORT_DYLIB_PATH").is_none() {
            let ort = d
                .runtimes
                .iter()
                .find(|r| r.backend == BackendKind::OnnxRuntime)
                .unwrap();
            if !ort.available {
                assert_eq!(
                    ort.install.as_deref(),
                    Some("mlgate runtime install ort"),
                    "{ort:?}"
                );
            }
        }
        if std::env::var_os("LITERT_LIB_PATH").is_none() {
            let litert = d
                .runtimes
                .iter()
                .find(|r| r.backend == BackendKind::LiteRt)
                .unwrap();
            assert!(!litert.available);
            assert_eq!(
                litert.install.as_deref(),
                Some("mlgate runtime install litert")
            );
        }
    }
}
