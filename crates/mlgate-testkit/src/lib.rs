//! What mlgate's tests share, written once: where test data and runtimes are, fixtures
//! written fresh per test, the mlgate binary run in a sandbox of its own, and the ONNX
//! round-trip check.
//!
//! A dev-dependency only: no library crate depends on it. It depends on `mlgate-ir` (the
//! fixtures) and `mlgate-backends` (probing runtimes).
//!
//! # The rule: a test runs, fails, or is filtered out by name — it never passes unrun
//! libtest has no "skipped" result, so a test that returns early when something is missing
//! is reported as a pass. Instead:
//! - a test that needs only generated models writes them itself ([`Fixtures`]);
//! - a test that needs what `cargo xtask test` downloads (third-party models, the ONNX
//!   Runtime and LiteRT libraries) lives in a module named [`NEEDS_DOWNLOADS`] and asks for
//!   them through [`testdata`], [`require_backend`] or [`Sandbox::require_runtimes`], which
//!   fail with the command that provides them when they are absent;
//! - a developer without them opts out by name, `cargo test -- --skip needs_downloads`,
//!   and libtest reports those tests as filtered out, not as passed.
//!
//! The helpers check the convention: asked from a test outside such a module, they fail,
//! so `--skip` can never miss a test that needs downloads.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mlgate_backends::{Backend, BackendKind, RuntimeCatalog, RuntimeConfig};

pub mod s3;
pub mod wire;

/// The module name (and so the test-name marker) of every test that needs downloads.
pub const NEEDS_DOWNLOADS: &str = "needs_downloads";

/// What to run to get everything, and how to opt out instead; every "missing" message ends
/// with it.
pub(crate) const HOW_TO_GET_IT: &str =
    "run `cargo xtask test` (it fetches the test data and installs \
     the runtimes), or leave such tests out with `cargo test -- --skip needs_downloads`";

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the test kit lives in crates/ of the repository")
}

/// Committed test data: `tests/data/<rel>`.
pub fn committed(rel: &str) -> PathBuf {
    workspace_root().join("tests/data").join(rel)
}

/// Where `cargo xtask fetch-testdata` puts third-party models: `$MLGATE_TESTDATA`, else
/// `target/testdata`.
pub fn testdata_root() -> PathBuf {
    std::env::var_os("MLGATE_TESTDATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/testdata"))
}

/// A directory of downloaded test data (`onnx-light`, `mediapipe`, ...). Panics, naming the
/// command that provides it, when it is absent.
pub fn testdata(sub: &str) -> PathBuf {
    assert_needs_downloads(&format!("test data `{sub}`"));
    let dir = testdata_root().join(sub);
    assert!(
        dir.is_dir(),
        "{} is missing: this test needs the third-party test data; {HOW_TO_GET_IT}",
        dir.display()
    );
    dir
}

/// Where the tests' runtimes are installed: `$MLGATE_HOME`, else the directory `cargo xtask
/// test` installs them into (`<testdata>/mlgate-home`), so tests never depend on whatever a
/// developer installed for their own use.
pub fn mlgate_home() -> PathBuf {
    std::env::var_os("MLGATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| testdata_root().join("mlgate-home"))
}

/// What `mlgate inspect` reads from `path`; a model that does not parse fails the test.
pub fn inspect(path: &std::path::Path) -> mlgate_ir::ModelInfo {
    mlgate_ir::inspect(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The runtimes, configured like the product's but with [`mlgate_home`].
pub fn runtimes() -> RuntimeCatalog {
    RuntimeCatalog::new(&RuntimeConfig {
        mlgate_home: Some(mlgate_home()),
        ..RuntimeConfig::from_env()
    })
}

/// The runtime `kind`, which must be usable here. Panics, naming the command that installs
/// it, when it is not.
pub fn require_backend(registry: &RuntimeCatalog, kind: BackendKind) -> &dyn Backend {
    assert_needs_downloads(&format!("the {kind} runtime"));
    let backend = registry
        .get(kind)
        .unwrap_or_else(|| panic!("mlgate-backends lists no {kind} runtime"));
    let status = backend.probe();
    assert!(
        status.available,
        "{kind} is unavailable ({}); this test needs it, installed in {}; {HOW_TO_GET_IT}",
        status.problem.unwrap_or_default(),
        mlgate_home().display()
    );
    backend
}

/// Panics unless the running test sits in a [`NEEDS_DOWNLOADS`] module, so that skipping
/// that name leaves out every test that asks for downloads. Threads other than libtest's
/// (which carry the test's name) are not checked.
pub(crate) fn assert_needs_downloads(what: &str) {
    if let Some(name) = std::thread::current().name() {
        if name != "main" {
            assert!(
                name.split("::").any(|part| part == NEEDS_DOWNLOADS),
                "test `{name}` asks for {what}, which `cargo xtask test` downloads: move it \
                 into a `mod {NEEDS_DOWNLOADS}` so `--skip {NEEDS_DOWNLOADS}` can leave it out"
            );
        }
    }
}

/// The generated fixture models (`mlgate_ir::fixtures::ALL` and the twin CNN as ONNX and
/// TFLite), written fresh into a temporary directory that lives as long as this value.
pub struct Fixtures {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Fixtures {
    pub fn new() -> Fixtures {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().to_path_buf();
        write_fixtures(&path);
        Fixtures { _dir: dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One fixture file, e.g. `tiny_mlp.onnx`.
    pub fn model(&self, file_name: &str) -> PathBuf {
        self.path.join(file_name)
    }
}

impl Default for Fixtures {
    fn default() -> Self {
        Fixtures::new()
    }
}

/// Writes what `cargo xtask gen-models` writes into `dir`.
fn write_fixtures(dir: &Path) {
    mlgate_ir::fixtures::write_all(dir).expect("write the fixture models");
    mlgate_ir::fixtures::twin::write(dir).expect("write the twin CNN");
}

/// Files below `dir` (recursively) whose name ends with `suffix`, sorted.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap_or_else(|e| panic!("walking {}: {e}", dir.display())))
        .filter(|e| e.file_type().is_file() && e.file_name().to_string_lossy().ends_with(suffix))
        .map(walkdir::DirEntry::into_path)
        .collect();
    out.sort();
    out
}

/// Files below `dir` with the extension `ext` (no dot), sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    files(dir, &format!(".{ext}"))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as JSON, or a panic showing both streams.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o))
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

/// A [`Sandbox`] for the `mlgate` binary of the calling test crate.
#[macro_export]
macro_rules! sandbox {
    () => {
        $crate::Sandbox::new(env!("CARGO_BIN_EXE_mlgate"))
    };
}

/// A temporary directory for one test's runs of the `mlgate` binary, with a workspace of its
/// own (`<dir>/.mlgate`, through `MLGATE_WORKSPACE`), so no test reads or appends to the
/// developer's `.mlgate`. Runs start in the directory, with no colour, no CI environment and
/// the tests' runtimes ([`mlgate_home`]). An explicit `--workspace` still wins.
pub struct Sandbox {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Sandbox {
    /// Use the [`sandbox!`] macro, which names the binary.
    pub fn new(bin: impl Into<PathBuf>) -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("a temporary directory"),
            bin: bin.into(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// This sandbox's workspace directory (created by the first command that writes).
    pub fn workspace(&self) -> PathBuf {
        self.path().join(".mlgate")
    }

    /// The generated fixtures, written into `<dir>/models` (again, if called twice).
    pub fn fixtures(&self) -> PathBuf {
        let dir = self.path().join("models");
        write_fixtures(&dir);
        dir
    }

    /// `mlgate ARGS`, not yet run, in the sandbox's directory with its workspace.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = base_command(&self.bin, args);
        cmd.current_dir(self.path())
            .env("MLGATE_WORKSPACE", self.workspace());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        output(self.command(args))
    }

    /// Runs in `cwd` (so paths in the output are as short as a user's), still with the
    /// sandbox's workspace.
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        cmd.current_dir(cwd);
        output(cmd)
    }

    /// `mlgate ARGS --json`, which must exit 0; its JSON output. A failure shows both
    /// streams.
    pub fn json_ok(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let o = self.run(&all);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}\n{}\n{}",
            stdout(&o),
            stderr(&o)
        );
        json(&o)
    }

    /// Runs with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        output(cmd)
    }

    /// Fails the test, naming the command that installs them, unless `mlgate doctor` finds
    /// every runtime in `backends` (e.g. `["onnxruntime", "litert"]`).
    pub fn require_runtimes(&self, backends: &[&str]) {
        assert_needs_downloads(&format!("the runtimes {backends:?}"));
        let out = self.run(&["doctor", "--json"]);
        let v = json(&out);
        let missing: Vec<&str> = backends
            .iter()
            .copied()
            .filter(|name| {
                !v["runtimes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r["backend"] == *name && r["available"] == true)
            })
            .collect();
        assert!(
            missing.is_empty(),
            "{missing:?} unavailable in {}; this test needs them; {HOW_TO_GET_IT}\n{}",
            mlgate_home().display(),
            stdout(&out)
        );
    }
}

/// `mlgate ARGS` for tests of workspace discovery: started in `cwd`, which must lie in a
/// temporary directory, it finds its workspace the way a user's shell does, by walking up
/// from there (`MLGATE_WORKSPACE` unset). `bin` is `env!("CARGO_BIN_EXE_mlgate")`.
pub fn discovering(bin: impl AsRef<Path>, cwd: &Path, args: &[&str]) -> Command {
    assert!(
        cwd.starts_with(std::env::temp_dir()),
        "{} is not in a temporary directory: discovery could find the developer's workspace",
        cwd.display()
    );
    let mut cmd = base_command(bin.as_ref(), args);
    cmd.current_dir(cwd).env_remove("MLGATE_WORKSPACE");
    cmd
}

/// The environment every test run gets: the tests' runtimes, no colour, no CI variables,
/// no crash-test pause, no terminal on stdin.
fn base_command(bin: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("MLGATE_HOME", mlgate_home())
        .env("NO_COLOR", "1")
        .env_remove("MLGATE_TEST_PAUSE_AT")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::null());
    cmd
}

fn output(mut cmd: Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()))
}

#[cfg(test)]
mod tests {
    #[test]
    #[should_panic(expected = "move it into a `mod needs_downloads`")]
    fn asking_for_downloads_outside_needs_downloads_fails() {
        super::testdata("onnx-light");
    }

    mod needs_downloads {
        #[test]
        #[should_panic(expected = "run `cargo xtask test`")]
        fn missing_test_data_fails_naming_the_command() {
            super::super::testdata("no-such-group");
        }
    }
}
