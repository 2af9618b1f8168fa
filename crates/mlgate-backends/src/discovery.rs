//! Finding the shared libraries of runtimes that are loaded at run time (ONNX Runtime,
//! LiteRT). Order: an explicit path → the runtime's environment variable → mlgate's
//! runtimes directory → the active Python's installed package (asked once, only when the
//! others failed).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::BackendKind;

/// Where mlgate finds and installs runtimes. [`RuntimeConfig::from_env`] reads the
/// environment; a CLI may override fields from its own flags or config file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeConfig {
    /// mlgate's data directory; runtimes live in `<home>/runtimes`.
    pub mlgate_home: Option<PathBuf>,
    /// An ONNX Runtime library to use instead of searching.
    pub onnxruntime_library: Option<PathBuf>,
    /// A LiteRT library (`libLiteRt.so`) to use instead of searching.
    pub litert_library: Option<PathBuf>,
    /// The Python interpreter asked for installed packages (default `python3`).
    pub python: Option<PathBuf>,
    /// ONNX Runtime session configuration entries (`key`, `value`) applied to every ONNX
    /// Runtime session, e.g. `session.qdq_matmulnbits_accuracy_level`; recorded in every
    /// session's [`crate::SessionInfo`], since they change what is measured.
    pub onnxruntime_session_config: Vec<(String, String)>,
}

impl RuntimeConfig {
    /// `MLGATE_HOME`, `MLGATE_PYTHON` from the environment; library paths stay unset here
    /// because their environment variables are a later step of the search.
    pub fn from_env() -> RuntimeConfig {
        RuntimeConfig {
            mlgate_home: std::env::var_os("MLGATE_HOME")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            python: std::env::var_os("MLGATE_PYTHON")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            ..RuntimeConfig::default()
        }
    }

    /// `$MLGATE_HOME`, else `$XDG_DATA_HOME/mlgate`, else `~/.local/share/mlgate`.
    pub fn home(&self) -> PathBuf {
        if let Some(h) = &self.mlgate_home {
            return h.clone();
        }
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|s| !s.is_empty()) {
            return PathBuf::from(x).join("mlgate");
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        home.join(".local/share/mlgate")
    }

    pub fn runtimes_dir(&self) -> PathBuf {
        self.home().join("runtimes")
    }

    fn python(&self) -> PathBuf {
        self.python
            .clone()
            .unwrap_or_else(|| PathBuf::from("python3"))
    }
}

/// Facts about one dynamically loaded runtime library.
#[derive(Debug)]
pub struct LibrarySpec {
    pub backend: BackendKind,
    /// The name `mlgate runtime install` takes.
    pub install_name: &'static str,
    /// The version mlgate pins and installs.
    pub version: &'static str,
    pub env_var: &'static str,
    /// Directory under the runtimes directory, and the file in it.
    pub runtime_subdir: &'static str,
    pub file_name: &'static str,
    /// Python module that ships the library, and the library's directory inside it.
    pub python_module: &'static str,
    pub python_subdir: &'static str,
    /// File-name prefix of the library inside the Python package (versions vary there).
    pub python_file_prefix: &'static str,
}

impl LibrarySpec {
    pub fn install_command(&self) -> String {
        format!("mlgate runtime install {}", self.install_name)
    }

    pub fn installed_path(&self, config: &RuntimeConfig) -> PathBuf {
        config
            .runtimes_dir()
            .join(self.runtime_subdir)
            .join(self.file_name)
    }
}

/// A library that was found, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundLibrary {
    pub path: PathBuf,
    pub source: &'static str,
    /// The version, when the location tells it (mlgate's pinned install, a Python
    /// package's metadata); runtimes may still ask the library itself.
    pub version: Option<String>,
}

/// Searches for `spec`'s library. On failure, returns the places tried, for the error. A
/// library the user named (explicitly or through the environment variable) that is not
/// there is a failure, not a reason to measure some other library.
pub fn find_library(
    spec: &LibrarySpec,
    explicit: Option<&Path>,
    config: &RuntimeConfig,
) -> Result<FoundLibrary, Vec<String>> {
    let mut tried = Vec::new();
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(FoundLibrary {
                path: p.to_owned(),
                source: "explicit",
                version: None,
            });
        }
        return Err(vec![format!(
            "{} (given explicitly; no such file)",
            p.display()
        )]);
    }
    if let Some(p) = std::env::var_os(spec.env_var)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
    {
        if p.is_file() {
            return Ok(FoundLibrary {
                path: p,
                source: spec.env_var,
                version: None,
            });
        }
        return Err(vec![format!(
            "{} (from ${}; no such file)",
            p.display(),
            spec.env_var
        )]);
    }
    let installed = spec.installed_path(config);
    if installed.is_file() {
        return Ok(FoundLibrary {
            path: installed,
            source: "mlgate runtimes",
            version: Some(spec.version.to_string()),
        });
    }
    tried.push(installed.display().to_string());
    match python_package_dir(&config.python(), spec.python_module) {
        Some(dir) => {
            let lib_dir = dir.join(spec.python_subdir);
            if let Some(path) = find_prefixed(&lib_dir, spec.python_file_prefix) {
                let version = python_package_version(&dir, spec);
                return Ok(FoundLibrary {
                    path,
                    source: "python package",
                    version,
                });
            }
            tried.push(format!(
                "{}/{}* (Python package)",
                lib_dir.display(),
                spec.python_file_prefix
            ));
        }
        None => tried.push(format!(
            "Python package '{}' (not installed for {})",
            spec.python_module,
            config.python().display()
        )),
    }
    Err(tried)
}

fn find_prefixed(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut hits: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    // The longest name is the fully versioned file (libonnxruntime.so.1.31.1 over .so).
    hits.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    hits.into_iter().next()
}

/// Version from the package's `*.dist-info` directory next to it.
fn python_package_version(package_dir: &Path, spec: &LibrarySpec) -> Option<String> {
    let site = package_dir.parent()?;
    let dist = spec.python_module.replace('-', "_");
    std::fs::read_dir(site).ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let rest = name
            .strip_prefix(&format!("{dist}-"))?
            .strip_suffix(".dist-info")?;
        Some(rest.to_string())
    })
}

/// The directory of `module` in `python`'s environment, asked once per (python, module).
/// `find_spec` locates the package without importing it, so this stays cheap even for
/// packages with heavy imports.
fn python_package_dir(python: &Path, module: &str) -> Option<PathBuf> {
    type Cache = Mutex<HashMap<(PathBuf, String), Option<PathBuf>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (python.to_owned(), module.to_string());
    if let Some(hit) = cache.lock().ok()?.get(&key) {
        return hit.clone();
    }
    let script = "import importlib.util, os, sys\n\
                  s = importlib.util.find_spec(sys.argv[1])\n\
                  print(os.path.dirname(s.origin) if s and s.origin else '')";
    let found = Command::new(python)
        .args(["-c", script, module])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
            (!s.is_empty()).then(|| PathBuf::from(s))
        });
    if let Ok(mut c) = cache.lock() {
        c.insert(key, found.clone());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: LibrarySpec = LibrarySpec {
        backend: BackendKind::LiteRt,
        install_name: "fake",
        version: "9.9.9",
        env_var: "MLGATE_TEST_FAKE_LIB_PATH",
        runtime_subdir: "fake-9.9.9",
        file_name: "libfake.so",
        python_module: "mlgate_no_such_module_xyz",
        python_subdir: "",
        python_file_prefix: "libfake.so",
    };

    #[test]
    fn search_order_and_failure_report() {
        let dir = tempfile::tempdir().unwrap();
        let config = RuntimeConfig {
            mlgate_home: Some(dir.path().to_owned()),
            ..Default::default()
        };
        let tried =
            find_library(&SPEC, Some(Path::new("/nonexistent/libfake.so")), &config).unwrap_err();
        assert_eq!(
            tried,
            ["/nonexistent/libfake.so (given explicitly; no such file)"]
        );
        let tried = find_library(&SPEC, None, &config).unwrap_err();
        assert_eq!(tried.len(), 2, "{tried:?}");
        assert!(
            tried[0].contains("fake-9.9.9") && tried[1].contains("Python package"),
            "{tried:?}"
        );
        let installed = SPEC.installed_path(&config);
        std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
        std::fs::write(&installed, b"x").unwrap();
        let found = find_library(&SPEC, None, &config).unwrap();
        assert_eq!(
            (found.source, found.version.as_deref()),
            ("mlgate runtimes", Some("9.9.9"))
        );
        let explicit = dir.path().join("other.so");
        std::fs::write(&explicit, b"x").unwrap();
        assert_eq!(
            find_library(&SPEC, Some(&explicit), &config)
                .unwrap()
                .source,
            "explicit"
        );
    }

    #[test]
    fn home_defaults() {
        let c = RuntimeConfig {
            mlgate_home: Some("/h".into()),
            ..Default::default()
        };
        assert_eq!(c.runtimes_dir(), Path::new("/h/runtimes"));
    }
}
