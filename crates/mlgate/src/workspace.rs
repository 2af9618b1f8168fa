//! The workspace: a `.mlgate/` directory holding the registry (builds, benchmarks, tags,
//! history), the artifact store, `budget.toml` and `config.toml`.
//!
//! Found like git finds `.git` — the nearest `.mlgate/` in the current directory or a parent
//! — unless `--workspace DIR` or `MLGATE_WORKSPACE` names the directory itself (not its
//! parent). (`MLGATE_HOME` is the runtimes directory of mlgate-backends, a different thing.)
//!
//! A [`Workspace`] remembers which builds its operations touched, so the CLI can log them in
//! the command history.
//!
//! A build is a model registered in the workspace: its bytes are copied into the
//! content-addressed artifact store, and its id is a hash of the content and the settings
//! (so importing the same model twice gives the same build). Builds derived from another
//! (a quantized or pruned variant) name their parent; [`Workspace::lineage`] and
//! [`Workspace::build_detail`] follow those links.
//!
//! ```
//! use mlgate::workspace::{BuildFilter, ImportRequest};
//! use mlgate::{Workspace, WorkspaceOptions};
//! # let dir = tempfile::tempdir()?;
//! # let model = mlgate::fixtures::write(dir.path(), mlgate::fixtures::TINY_MLP)?;
//! let options = WorkspaceOptions { dir: Some(dir.path().join(".mlgate")), start: None };
//! let (ws, _) = Workspace::init(&options)?;
//! let import = ws.import(&ImportRequest {
//!     model,
//!     target: "tract_cpu".into(),
//!     ..Default::default()
//! })?;
//! ws.baseline_set(&import.build.id, false)?;
//! assert_eq!(ws.baseline()?.unwrap().build.id, import.build.id);
//! assert_eq!(ws.builds(&BuildFilter::default())?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use mlgate_registry::{
    method_label, time, AccuracyCheck, ArtifactKind, Benchmark, Budget, Build, BuildFilter,
    BuildSummary, CiConfig, CiSection, CommandEntry, CommandKind, Comparison, Constraint,
    HistoryFilter, LatestMetric, Limit, LimitSource, NewBenchmark, NewCommand, Problem,
    RepairOutcome, ResolvedCi, Severity, Sourced, StoredAccuracyCheck, StoredComparison, Tag,
    TagChange, TagEvent, VerifyReport, BASELINE_TAG, WORKSPACE_DIR_NAME,
};
use mlgate_registry::{NewBuild, Registry};

use crate::{Error, ModelFormat, ModelInfo, Result};

/// Environment variable naming the workspace directory (the `.mlgate` folder itself).
pub const WORKSPACE_ENV: &str = "MLGATE_WORKSPACE";

/// Where to look for the workspace.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceOptions {
    /// The workspace directory itself (`--workspace`, else `MLGATE_WORKSPACE`).
    pub dir: Option<PathBuf>,
    /// Where discovery starts (default: the current directory).
    pub start: Option<PathBuf>,
}

impl WorkspaceOptions {
    /// `--workspace DIR` if given, else `MLGATE_WORKSPACE` if set and not empty.
    pub fn from_flag(flag: Option<PathBuf>) -> WorkspaceOptions {
        let dir = flag.or_else(|| {
            std::env::var_os(WORKSPACE_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        WorkspaceOptions { dir, start: None }
    }

    fn start(&self) -> Result<PathBuf> {
        match &self.start {
            Some(s) => Ok(s.clone()),
            None => std::env::current_dir().map_err(|e| {
                Error::Registry(mlgate_registry::RegistryError::Io {
                    path: PathBuf::from("."),
                    source: e,
                })
            }),
        }
    }

    /// The workspace directory in force, if there is one.
    pub fn locate(&self) -> Result<Option<PathBuf>> {
        if let Some(d) = &self.dir {
            return Ok(Some(d.clone()));
        }
        Ok(mlgate_registry::discover(&self.start()?))
    }

    /// Where a new workspace goes: the named directory, else `.mlgate/` here.
    fn new_location(&self) -> Result<PathBuf> {
        match &self.dir {
            Some(d) => Ok(d.clone()),
            None => Ok(self.start()?.join(WORKSPACE_DIR_NAME)),
        }
    }
}

/// An open workspace: the registry of builds, benchmarks, tags and history, the artifact
/// store, and the budget and config files.
///
/// Every method can fail with [`Error::Registry`] when the database or the artifact store
/// cannot be read or written; each method's documentation names its other errors. A
/// `Workspace` is used from one thread (it is not `Sync`); open another for another
/// thread — SQLite's locking keeps concurrent processes and connections consistent.
pub struct Workspace {
    reg: RefCell<Registry>,
    touched: RefCell<Vec<String>>,
}

/// `mlgate import`.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// A model file or `.mlpackage` directory.
    pub model: PathBuf,
    /// Where it will run (`onnxruntime_cpu`, `android_arm64`, `apple_m1`, ...).
    pub target: String,
    /// Default: the file name without extension.
    pub name: Option<String>,
    /// What the model already is (`fp16`, `int8`, ...).
    pub quantize: Option<String>,
    /// What the model is for (`vision`, `nlp`, `audio`, ...), kept with the build.
    pub task: Option<String>,
    /// Free-form notes kept with the build.
    pub notes: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImportOutcome {
    /// The build, new or existing.
    pub build: Build,
    /// False when the same model was already registered with the same settings.
    pub created: bool,
    /// The model, as read.
    pub model: ModelInfo,
}

/// One build in detail (`mlgate log BUILD`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BuildDetail {
    /// The build.
    pub build: Build,
    /// Tags pointing at it.
    pub tags: Vec<String>,
    /// The build it was derived from; `None` for a root (such as an imported model).
    pub parent: Option<BuildRef>,
    /// The builds derived from it.
    pub children: Vec<BuildRef>,
    /// Most recent first.
    pub benchmarks: Vec<LatestMetric>,
    /// The stored artifact, checked against its hash.
    pub artifact_path: PathBuf,
}

/// A short reference to a build, for lineage lists.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BuildRef {
    /// The full build id.
    pub id: String,
    /// The build's name.
    pub name: String,
    /// How it was made from its parent (`imported`, `int8(static)`, `prune(0.50)`, ...).
    pub method: String,
}

impl From<&Build> for BuildRef {
    fn from(b: &Build) -> Self {
        BuildRef {
            id: b.id.clone(),
            name: b.name.clone(),
            method: b.method_label(),
        }
    }
}

/// One side of `mlgate diff`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DiffSide {
    /// The build.
    pub build: Build,
    /// Its model, read from the verified artifact.
    pub model: ModelInfo,
    /// Its latest benchmark, if any.
    pub latest: Option<LatestMetric>,
}

/// `mlgate diff A B`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BuildDiff {
    /// The first build named.
    pub a: DiffSide,
    /// The second build named.
    pub b: DiffSide,
}

/// A tag with the name of its build.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TagEntry {
    /// The tag: name, build id, when it was set.
    #[serde(flatten)]
    pub tag: Tag,
    /// The name of the build it points at.
    pub build_name: String,
}

/// `mlgate baseline history`: changes of the baseline tag, and the baseline-style tags in
/// force (`mlgate-baseline`, `main-*`, `production-*`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BaselineHistory {
    /// The baseline-style tags in force.
    pub tags: Vec<TagEntry>,
    /// Every change of those tags, oldest first.
    pub events: Vec<TagEvent>,
}

/// The budget file and what it holds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BudgetState {
    /// `budget.toml` in the workspace.
    pub path: PathBuf,
    /// Whether the file exists (an absent file is an empty budget).
    pub exists: bool,
    /// The constraints it holds.
    pub budget: Budget,
}

/// How a build fares against one budget constraint ([`ConstraintCheck`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Within the limit.
    Pass,
    /// Over the limit.
    Fail,
    /// Nothing to compare with yet (no benchmark of the build).
    Pending,
}

/// One constraint checked against a build.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConstraintCheck {
    /// Which constraint (`max_latency_ms`, `max_size_mb`, ...).
    pub constraint: Constraint,
    /// The limit, in the constraint's unit.
    pub limit: f64,
    /// Where the limit came from (a flag or `budget.toml`).
    pub source: LimitSource,
    /// The build's value; `None` when it has no benchmark yet.
    pub actual: Option<f64>,
    /// Pass, fail, or pending.
    pub status: CheckStatus,
}

/// `mlgate budget validate BUILD`: the budget applied to a build's size and latest benchmark.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BudgetCheck {
    /// The build checked.
    pub build: Build,
    /// Its latest benchmark, where latency and memory come from.
    pub latest: Option<LatestMetric>,
    /// One check per constraint in force.
    pub checks: Vec<ConstraintCheck>,
}

impl BudgetCheck {
    /// Whether any constraint failed (pending ones do not).
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == CheckStatus::Fail)
    }
}

/// A benchmark with the build it measured.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RecentBenchmark {
    /// The build measured.
    pub build_id: String,
    /// Its name.
    pub build_name: String,
    /// The benchmark's headline numbers.
    pub metric: LatestMetric,
}

/// The constraints `budget set` changes: at least one, checked when it is made, so a
/// command can refuse an empty update before it creates a workspace for it.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetUpdate(Budget);

impl BudgetUpdate {
    /// The update, checked.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `update` sets no constraint.
    pub fn new(update: Budget) -> Result<BudgetUpdate> {
        if update.is_empty() {
            return Err(Error::Invalid {
                what: "budget",
                value: "(no constraint)".into(),
                hint: "pass at least one of --max-latency, --max-p95, --max-memory, --max-size"
                    .into(),
            });
        }
        Ok(BudgetUpdate(update))
    }
}

/// Which commands `mlgate history` lists: one command by name (its first word matches the
/// whole group: `baseline` matches `baseline set`), or every command that exited non-zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistorySelect {
    /// Entries of this command (`benchmark`, `baseline`, ...).
    Command(String),
    /// Entries that exited non-zero.
    Failed,
}

impl std::str::FromStr for HistorySelect {
    type Err = std::convert::Infallible;

    /// `failed` selects failures; any other text is a command name (an unknown one simply
    /// matches nothing).
    fn from_str(text: &str) -> std::result::Result<HistorySelect, Self::Err> {
        Ok(if text == "failed" {
            HistorySelect::Failed
        } else {
            HistorySelect::Command(text.to_string())
        })
    }
}

/// A question to the command history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Which commands; `None`: all.
    pub select: Option<HistorySelect>,
    /// Only entries started at or after this time (Unix milliseconds).
    pub since: Option<i64>,
    /// Only entries that touched a build whose id starts with this.
    pub build_id_prefix: Option<String>,
    /// At most this many entries, newest first; `None`: all.
    pub limit: Option<usize>,
}

impl HistoryQuery {
    fn filter(&self) -> HistoryFilter {
        HistoryFilter {
            command: match &self.select {
                Some(HistorySelect::Command(c)) => Some(c.clone()),
                _ => None,
            },
            kinds: Vec::new(),
            failed_only: self.select == Some(HistorySelect::Failed),
            since: self.since,
            build_id_prefix: self.build_id_prefix.clone(),
            limit: self.limit,
        }
    }
}

/// `mlgate status`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WorkspaceStatus {
    /// The workspace directory.
    pub workspace: PathBuf,
    /// This machine's hostname.
    pub hostname: String,
    /// This machine's id in the workspace (random, kept in `machine-id`).
    pub machine_id: String,
    /// Number of builds.
    pub builds: u64,
    /// Number of benchmark results.
    pub benchmarks: u64,
    /// The newest build.
    pub last_build: Option<Build>,
    /// The newest benchmark result.
    pub last_benchmark: Option<RecentBenchmark>,
    /// The last gate run (`validate`, `ci` or `budget validate`: see
    /// [`CommandKind::is_validation`]), from the command history.
    pub last_validate: Option<CommandEntry>,
    /// The baseline build, with its latest benchmark.
    pub baseline: Option<BuildSummary>,
    /// `budget.toml`.
    pub budget: BudgetState,
}

/// What `mlgate init` did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InitOutcome {
    /// The workspace directory.
    pub workspace: PathBuf,
    /// False when it existed already.
    pub created: bool,
}

/// What `--quantize` may say an imported model is.
pub const QUANTIZE_METHODS: &[&str] = &["fp32", "fp16", "int8", "int8_static", "int4"];

fn invalid(what: &'static str, value: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::Invalid {
        what,
        value: value.into(),
        hint: hint.into(),
    }
}

/// The id a variant of `parent` made by `method` has (see `mlgate_registry::build_id`): its
/// source is the parent's artifact, its configuration names the method and the parent.
fn variant_config(parent: &Build, method: &str) -> String {
    let config = mlgate_registry::BuildConfig {
        format: parent.format.clone(),
        target: parent.target.clone(),
        method: Some(method.to_string()),
        parent_id: Some(parent.id.clone()),
    };
    mlgate_registry::build_id(&parent.artifact_hash, &config.hash())
}

/// Check a target against the model's format (`mlgate_backends::targets` is the one list);
/// returns the backend that measures it on this host.
fn check_target(model: &Path, format: ModelFormat, target: &str) -> Result<&'static str> {
    let target = mlgate_backends::targets::target(target)?;
    Ok(target.check(model, format)?.name())
}

const MB: f64 = 1_000_000.0;

impl Workspace {
    fn wrap(reg: Registry) -> Workspace {
        Workspace {
            reg: RefCell::new(reg),
            touched: RefCell::new(Vec::new()),
        }
    }

    /// Open the workspace in force; an error says how to create one if there is none.
    ///
    /// # Errors
    /// `Error::Registry`: there is no workspace (the message says how to create one), or
    /// its database cannot be opened or is from a newer mlgate.
    pub fn open(opts: &WorkspaceOptions) -> Result<Workspace> {
        let Some(dir) = opts.locate()? else {
            return Err(Error::Registry(
                mlgate_registry::RegistryError::NoWorkspace {
                    start: opts.start()?,
                },
            ));
        };
        let (reg, _) = Registry::open(&dir, false)?;
        Ok(Workspace::wrap(reg))
    }

    /// The workspace in force if one with a registry exists; `None` otherwise (including
    /// when none can be located), and never creates one.
    ///
    /// # Errors
    /// `Error::Registry` when a workspace exists but cannot be opened.
    pub fn open_existing(opts: &WorkspaceOptions) -> Result<Option<Workspace>> {
        match opts.locate() {
            Ok(Some(dir)) if Registry::exists(&dir) => Workspace::open(opts).map(Some),
            _ => Ok(None),
        }
    }

    /// Open the workspace in force, creating `.mlgate/` in the current directory (or the
    /// named directory) when there is none. The flag says whether this call created it.
    ///
    /// # Errors
    /// `Error::Registry` when the directory cannot be created or the database opened.
    pub fn open_or_create(opts: &WorkspaceOptions) -> Result<(Workspace, bool)> {
        let dir = match opts.locate()? {
            Some(d) => d,
            None => opts.new_location()?,
        };
        let (reg, created) = Registry::open(&dir, true)?;
        Ok((Workspace::wrap(reg), created))
    }

    /// `mlgate init`: create the workspace here (or in the named directory), or open the one
    /// already there.
    ///
    /// # Errors
    /// As [`Workspace::open_or_create`].
    pub fn init(opts: &WorkspaceOptions) -> Result<(Workspace, InitOutcome)> {
        let dir = opts.new_location()?;
        let (reg, created) = Registry::open(&dir, true)?;
        let ws = Workspace::wrap(reg);
        let workspace = ws.dir().to_path_buf();
        Ok((ws, InitOutcome { workspace, created }))
    }

    /// The workspace directory (`.mlgate`).
    pub fn dir(&self) -> PathBuf {
        self.reg.borrow().dir().to_path_buf()
    }

    /// `config.toml` (which may not exist).
    pub fn config_path(&self) -> PathBuf {
        self.reg.borrow().layout().config()
    }

    /// Where `ci_report.json` goes.
    pub fn ci_report_path(&self) -> PathBuf {
        self.reg.borrow().layout().ci_report()
    }

    fn touch(&self, id: &str) {
        let mut t = self.touched.borrow_mut();
        if !t.iter().any(|x| x == id) {
            t.push(id.to_string());
        }
    }

    /// The registry, for the facade's other modules (remotes).
    pub(crate) fn registry(&self) -> std::cell::RefMut<'_, Registry> {
        self.reg.borrow_mut()
    }

    /// Record that an operation touched build `id` (for the command history).
    pub(crate) fn touch_build(&self, id: &str) {
        self.touch(id);
    }

    /// Builds this workspace's operations resolved, created or changed, in order.
    pub fn touched_builds(&self) -> Vec<String> {
        self.touched.borrow().clone()
    }

    /// Register a model file or `.mlpackage` as a build. The artifact is copied into the
    /// store first and the row inserted after, so an interrupted import leaves at most an
    /// unreferenced artifact, never a row without its artifact.
    ///
    /// The same model with the same settings is the same build: importing it again returns
    /// the existing build with `created: false`.
    ///
    /// # Errors
    /// [`Error::Model`] when the model cannot be read; [`Error::Runtime`] for an unknown
    /// target or one that does not run the model's format; [`Error::Invalid`] for a
    /// `quantize` or `task` value that is not accepted; [`Error::Registry`] when the artifact
    /// cannot be stored or the row written.
    pub fn import(&self, req: &ImportRequest) -> Result<ImportOutcome> {
        let info = mlgate_ir::inspect(&req.model)?;
        let backend = check_target(&req.model, info.format, &req.target)?;
        if let Some(q) = &req.quantize {
            if !QUANTIZE_METHODS.contains(&q.as_str()) {
                return Err(invalid(
                    "--quantize",
                    q,
                    format!("use one of {}", QUANTIZE_METHODS.join(", ")),
                ));
            }
        }
        if let Some(t) = &req.task {
            if t.is_empty()
                || t.len() > 32
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(invalid(
                    "--task",
                    t,
                    "use a lowercase word such as vision, nlp or audio",
                ));
            }
        }
        let source = std::fs::canonicalize(&req.model).unwrap_or_else(|_| req.model.clone());
        let name = match &req.name {
            Some(n) => n.clone(),
            None => source
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
        };
        let external = match &info.details {
            crate::FormatDetails::Onnx {
                external_data_files,
                ..
            } => external_data_files.clone(),
            _ => Vec::new(),
        };
        let mut reg = self.reg.borrow_mut();
        let artifact = if external.is_empty() {
            reg.store().put(&source)?
        } else {
            reg.store().put_with_files(&source, &external)?
        };
        mlgate_registry::hook::pause("artifact-stored");
        let (build, created) = reg.insert_build(NewBuild {
            name,
            source_path: source.to_string_lossy().into_owned(),
            source_hash: info.sha256.clone(),
            artifact,
            format: info.format.name().to_string(),
            target: req.target.clone(),
            backend: Some(backend.to_string()),
            task: req.task.clone(),
            method: req.quantize.clone(),
            parent_id: None,
            imported: true,
            notes: req.notes.clone(),
            created_at: None,
        })?;
        drop(reg);
        self.touch(&build.id);
        Ok(ImportOutcome {
            build,
            created,
            model: info,
        })
    }

    /// The variant of `parent` that `method` (an optimization method id) made, if it is
    /// registered: the same chain on the same source is the same build.
    pub fn variant_of(&self, parent: &Build, method: &str) -> Result<Option<Build>> {
        let id = variant_config(parent, method);
        let build = self.reg.borrow().build(&id)?;
        if let Some(b) = &build {
            self.touch(&b.id);
        }
        Ok(build)
    }

    /// Where a file is staged before it is registered (the artifact store's `tmp/`).
    pub(crate) fn staging_dir(&self) -> Result<PathBuf> {
        Ok(self.reg.borrow().store().staging_dir()?)
    }

    /// Register `file` (an optimized model) as a child of `parent`, made by `method`, measured
    /// by `backend`. The artifact is stored first, then the row, as for imports.
    pub(crate) fn register_variant(
        &self,
        parent: &Build,
        file: &Path,
        method: &str,
        backend: &str,
        name: Option<String>,
        notes: Option<String>,
    ) -> Result<(Build, bool)> {
        let mut reg = self.reg.borrow_mut();
        let artifact = reg.store().put(file)?;
        let (build, created) = reg.insert_build(NewBuild {
            name: name.unwrap_or_else(|| parent.name.clone()),
            source_path: parent.source_path.clone(),
            source_hash: parent.artifact_hash.clone(),
            artifact,
            format: parent.format.clone(),
            target: parent.target.clone(),
            backend: Some(backend.to_string()),
            task: parent.task.clone(),
            method: Some(method.to_string()),
            parent_id: Some(parent.id.clone()),
            imported: false,
            notes,
            created_at: None,
        })?;
        drop(reg);
        self.touch(&build.id);
        Ok((build, created))
    }

    /// A build from a tag, a full id or a unique id prefix (at least 4 characters).
    ///
    /// # Errors
    /// [`Error::Registry`] for an unknown tag or id, or a prefix that matches several builds.
    pub fn resolve_build(&self, reference: &str) -> Result<Build> {
        let b = self.reg.borrow().resolve(reference)?;
        self.touch(&b.id);
        Ok(b)
    }

    /// The runnable model of a build, after checking the stored bytes against their hash
    /// (an error names the build when they do not match).
    ///
    /// # Errors
    /// [`Error::Registry`] when the artifact is missing or damaged.
    pub fn model_path(&self, build: &Build) -> Result<PathBuf> {
        let path = self.reg.borrow().verified_artifact(build)?;
        // An ONNX model with external data is stored as a folder holding the model file.
        if build.format == "onnx" && build.artifact_kind == ArtifactKind::Directory {
            if let Some(file) = Path::new(&build.source_path).file_name() {
                return Ok(path.join(file));
            }
        }
        Ok(path)
    }

    /// Record a benchmark result of a build. Returns the benchmark's id.
    ///
    /// # Errors
    /// [`Error::Registry`] for an unknown build or a failed write.
    pub fn record_benchmark(&self, build_id: &str, record: &NewBenchmark) -> Result<i64> {
        let id = self.reg.borrow_mut().record_benchmark(build_id, record)?;
        self.touch(build_id);
        Ok(id)
    }

    /// Record an accuracy check between two builds.
    ///
    /// # Errors
    /// [`Error::Registry`] for an unknown build or a failed write.
    pub fn record_accuracy_check(&self, check: &AccuracyCheck) -> Result<i64> {
        let id = self.reg.borrow_mut().record_accuracy_check(check)?;
        self.touch(&check.baseline_build_id);
        self.touch(&check.candidate_build_id);
        Ok(id)
    }

    /// A build's benchmarks, newest first, with their raw samples.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn benchmarks(&self, build_id: &str, limit: usize) -> Result<Vec<Benchmark>> {
        Ok(self.reg.borrow().benchmarks(build_id, limit)?)
    }

    /// Every build of the lineage tree whose root is `root_id` ([`Build::root_id`]), parents
    /// before children, with their latest benchmarks; empty for an unknown root.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn tree(&self, root_id: &str) -> Result<Vec<BuildSummary>> {
        Ok(self.reg.borrow().tree(root_id)?)
    }

    /// The accuracy checks `mlgate accuracy` stored in which any of `build_ids` is the
    /// baseline or the candidate, oldest first.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn accuracy_checks(&self, build_ids: &[String]) -> Result<Vec<StoredAccuracyCheck>> {
        Ok(self.reg.borrow().accuracy_checks(build_ids)?)
    }

    /// Records an interleaved latency comparison of two builds; returns its id.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be written.
    pub fn record_comparison(&self, comparison: &Comparison) -> Result<i64> {
        Ok(self.reg.borrow_mut().record_comparison(comparison)?)
    }

    /// Every recorded comparison, oldest first.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn comparisons(&self) -> Result<Vec<StoredComparison>> {
        Ok(self.reg.borrow().comparisons()?)
    }

    /// Builds matching a filter, newest first, with their latest benchmark.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn builds(&self, filter: &BuildFilter) -> Result<Vec<BuildSummary>> {
        Ok(self.reg.borrow().builds(filter)?)
    }

    /// The lineage trees containing a matching build (parents before children).
    ///
    /// Each tree lists a root (a build derived from no other) and then its descendants;
    /// follow [`Build::parent_id`] to draw it, or ask [`Workspace::build_detail`] for one
    /// build's parent and children.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn lineage(&self, filter: &BuildFilter) -> Result<Vec<BuildSummary>> {
        Ok(self.reg.borrow().lineage(filter)?)
    }

    /// One build in detail; checks its artifact.
    ///
    /// # Errors
    /// As [`Workspace::resolve_build`] and [`Workspace::model_path`].
    pub fn build_detail(&self, reference: &str) -> Result<BuildDetail> {
        let build = self.resolve_build(reference)?;
        let artifact_path = self.model_path(&build)?;
        let reg = self.reg.borrow();
        let parent = match &build.parent_id {
            Some(p) => reg.build(p)?.as_ref().map(BuildRef::from),
            None => None,
        };
        let children = reg
            .children(&build.id)?
            .iter()
            .map(BuildRef::from)
            .collect();
        let benchmarks = reg
            .benchmarks(&build.id, 10)?
            .into_iter()
            .map(|b| metric_of(&b))
            .collect();
        let tags = reg.tags_of_build(&build.id)?;
        Ok(BuildDetail {
            build,
            tags,
            parent,
            children,
            benchmarks,
            artifact_path,
        })
    }

    /// Two builds side by side: what the models are (read from their verified artifacts) and
    /// their latest benchmarks.
    ///
    /// # Errors
    /// As [`Workspace::resolve_build`] and [`Workspace::model_path`], and [`Error::Model`] when
    /// a stored model cannot be read.
    pub fn diff(&self, a: &str, b: &str) -> Result<BuildDiff> {
        let side = |reference: &str| -> Result<DiffSide> {
            let build = self.resolve_build(reference)?;
            let path = self.model_path(&build)?;
            let mut model = mlgate_ir::inspect(&path)?;
            model.path = build.source_path.clone();
            let latest = self
                .reg
                .borrow()
                .latest_benchmark(&build.id)?
                .map(|b| metric_of(&b));
            Ok(DiffSide {
                build,
                model,
                latest,
            })
        };
        Ok(BuildDiff {
            a: side(a)?,
            b: side(b)?,
        })
    }

    /// Point a tag at a build. A tag that points elsewhere moves only with `force` (and its
    /// history is kept). The baseline tag is reserved for the baseline methods.
    ///
    /// # Errors
    /// [`Error::Registry`] for an unknown build, an invalid or reserved tag name, or a tag
    /// that points elsewhere without `force`.
    pub fn tag_create(&self, reference: &str, name: &str, force: bool) -> Result<TagChange> {
        let build = self.resolve_build(reference)?;
        Ok(self
            .reg
            .borrow_mut()
            .set_tag(name, &build.id, force, false)?)
    }

    /// All tags, with the names of their builds.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn tags(&self) -> Result<Vec<TagEntry>> {
        let reg = self.reg.borrow();
        let mut out = Vec::new();
        for tag in reg.tags()? {
            let build_name = reg
                .build(&tag.build_id)?
                .map(|b| b.name)
                .unwrap_or_default();
            out.push(TagEntry { tag, build_name });
        }
        Ok(out)
    }

    /// Delete a tag; returns it as it was (its history is kept).
    ///
    /// # Errors
    /// [`Error::Registry`] for an unknown tag or the reserved baseline tag (use
    /// [`Workspace::baseline_unset`]).
    pub fn tag_delete(&self, name: &str) -> Result<Tag> {
        let tag = self.reg.borrow_mut().delete_tag(name, false)?;
        self.touch(&tag.build_id);
        Ok(tag)
    }

    /// The current baseline, with its latest benchmark.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn baseline(&self) -> Result<Option<BuildSummary>> {
        let reg = self.reg.borrow();
        let Some(tag) = reg.tag(BASELINE_TAG)? else {
            return Ok(None);
        };
        let Some(build) = reg.build(&tag.build_id)? else {
            return Ok(None);
        };
        let latest = reg.latest_benchmark(&build.id)?.map(|b| metric_of(&b));
        drop(reg);
        self.touch(&build.id);
        Ok(Some(BuildSummary { build, latest }))
    }

    /// Make a build the baseline. Replacing a different baseline needs `replace`; ask the
    /// user before passing it.
    ///
    /// # Errors
    /// As [`Workspace::resolve_build`]; [`Error::Registry`] when a different baseline is set
    /// and `replace` is false.
    pub fn baseline_set(&self, reference: &str, replace: bool) -> Result<TagChange> {
        let build = self.resolve_build(reference)?;
        Ok(self
            .reg
            .borrow_mut()
            .set_tag(BASELINE_TAG, &build.id, replace, true)?)
    }

    /// Remove the baseline. Returns the tag as it was, or `None` if there was none.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be written.
    pub fn baseline_unset(&self) -> Result<Option<Tag>> {
        let mut reg = self.reg.borrow_mut();
        if reg.tag(BASELINE_TAG)?.is_none() {
            return Ok(None);
        }
        let tag = reg.delete_tag(BASELINE_TAG, true)?;
        drop(reg);
        self.touch(&tag.build_id);
        Ok(Some(tag))
    }

    /// The baseline tag's history and the baseline-style tags in force
    /// (`mlgate-baseline`, `main-*`, `production-*`).
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn baseline_history(&self) -> Result<BaselineHistory> {
        const PREFIXES: [&str; 2] = ["main-", "production-"];
        let tags = self
            .tags()?
            .into_iter()
            .filter(|t| {
                t.tag.name == BASELINE_TAG || PREFIXES.iter().any(|p| t.tag.name.starts_with(p))
            })
            .collect();
        let events = self.reg.borrow().tag_events(&[BASELINE_TAG], &PREFIXES)?;
        Ok(BaselineHistory { tags, events })
    }

    /// `budget.toml`: where it is, whether it exists, and its constraints.
    ///
    /// # Errors
    /// [`Error::Registry`] when the file cannot be read or parsed (naming the line).
    pub fn budget(&self) -> Result<BudgetState> {
        let path = self.reg.borrow().layout().budget();
        let budget = Budget::load(&path)?;
        Ok(BudgetState {
            exists: path.exists(),
            path,
            budget,
        })
    }

    /// Set the constraints given in `update`, keeping the others.
    ///
    /// # Errors
    /// As [`Workspace::budget`], and [`Error::Registry`] when the file cannot be written.
    pub fn budget_set(&self, update: &BudgetUpdate) -> Result<BudgetState> {
        let update = &update.0;
        let mut state = self.budget()?;
        for c in Constraint::ALL {
            if let Some(v) = update.get(c) {
                state.budget.set(c, Some(v));
            }
        }
        state.budget.save(&state.path)?;
        state.exists = true;
        Ok(state)
    }

    /// Remove one constraint, or all of them.
    ///
    /// # Errors
    /// As [`Workspace::budget_set`].
    pub fn budget_clear(&self, constraint: Option<Constraint>) -> Result<BudgetState> {
        let mut state = self.budget()?;
        match constraint {
            Some(c) => state.budget.set(c, None),
            None => state.budget = Budget::default(),
        }
        state.budget.save(&state.path)?;
        state.exists = true;
        Ok(state)
    }

    /// The budget (flags over the file) applied to a build: size now, latency and memory
    /// from its latest benchmark (pending when it has none).
    ///
    /// # Errors
    /// As [`Workspace::resolve_build`] and [`Workspace::budget`].
    pub fn budget_validate(&self, reference: &str, flags: &Budget) -> Result<BudgetCheck> {
        let build = self.resolve_build(reference)?;
        let state = self.budget()?;
        let latest = self
            .reg
            .borrow()
            .latest_benchmark(&build.id)?
            .map(|b| metric_of(&b));
        let checks = Budget::resolve(flags, &state.budget, &state.path)
            .into_iter()
            .map(|limit| {
                let actual = match limit.constraint {
                    Constraint::MaxSizeMb => Some(build.size_bytes as f64 / MB),
                    Constraint::MaxLatencyMs => latest.as_ref().map(|m| m.p50_ms),
                    Constraint::MaxP95Ms => latest.as_ref().and_then(|m| m.p95_ms),
                    Constraint::MaxMemoryMb => latest.as_ref().and_then(|m| m.memory_mb),
                };
                let status = match actual {
                    None => CheckStatus::Pending,
                    Some(a) if a <= limit.value => CheckStatus::Pass,
                    Some(_) => CheckStatus::Fail,
                };
                ConstraintCheck {
                    constraint: limit.constraint,
                    limit: limit.value,
                    source: limit.source,
                    actual,
                    status,
                }
            })
            .collect();
        Ok(BudgetCheck {
            build,
            latest,
            checks,
        })
    }

    /// `config.toml`.
    ///
    /// # Errors
    /// [`Error::Registry`] when the file cannot be read or parsed.
    pub fn ci_config(&self) -> Result<CiConfig> {
        Ok(CiConfig::load(&self.reg.borrow().layout().config())?)
    }

    /// The `[ci]` settings in force: command-line values over `config.toml`, with sources.
    ///
    /// # Errors
    /// As [`Workspace::ci_config`].
    pub fn resolve_ci(&self, flags: &CiSection) -> Result<ResolvedCi> {
        let path = self.reg.borrow().layout().config();
        Ok(CiConfig::load(&path)?.resolve(flags, &path))
    }

    /// Command history entries matching a registry filter, newest first.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn history(&self, filter: &HistoryFilter) -> Result<Vec<CommandEntry>> {
        Ok(self.reg.borrow().history(filter)?)
    }

    /// The history entries a [`HistoryQuery`] selects, newest first.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be read.
    pub fn history_matching(&self, query: &HistoryQuery) -> Result<Vec<CommandEntry>> {
        self.history(&query.filter())
    }

    /// Delete one history entry by id (or unique id prefix); returns the full id.
    ///
    /// # Errors
    /// [`Error::Registry`] for an unknown or ambiguous id.
    pub fn history_delete(&self, id: &str) -> Result<String> {
        Ok(self.reg.borrow_mut().delete_history(id)?)
    }

    /// Delete the whole command history; returns how many entries went.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be written.
    pub fn history_clear(&self) -> Result<u64> {
        Ok(self.reg.borrow_mut().clear_history()?)
    }

    /// Append a command to the history.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database cannot be written.
    pub fn record_command(&self, cmd: &NewCommand) -> Result<String> {
        Ok(self.reg.borrow_mut().record_command(cmd)?)
    }

    /// Counts, the newest build and benchmark, the last gate run, the baseline and the
    /// budget: `mlgate status`.
    ///
    /// # Errors
    /// [`Error::Registry`] when the database or `budget.toml` cannot be read.
    pub fn status(&self) -> Result<WorkspaceStatus> {
        let reg = self.reg.borrow();
        let (builds, benchmarks) = reg.counts()?;
        let last_build = reg
            .builds(&BuildFilter {
                limit: Some(1),
                ..BuildFilter::default()
            })?
            .into_iter()
            .next()
            .map(|s| s.build);
        let last_benchmark = match reg.last_benchmark()? {
            Some(b) => {
                let build_name = reg.build(&b.build_id)?.map(|x| x.name).unwrap_or_default();
                Some(RecentBenchmark {
                    build_id: b.build_id.clone(),
                    build_name,
                    metric: metric_of(&b),
                })
            }
            None => None,
        };
        let last_validate = reg
            .history(&HistoryFilter {
                kinds: CommandKind::all().filter(|k| k.is_validation()).collect(),
                limit: Some(1),
                ..HistoryFilter::default()
            })?
            .into_iter()
            .next();
        let workspace = reg.dir().to_path_buf();
        let machine = reg.machine().clone();
        drop(reg);
        Ok(WorkspaceStatus {
            workspace,
            hostname: machine.hostname,
            machine_id: machine.id,
            builds,
            benchmarks,
            last_build,
            last_benchmark,
            last_validate,
            baseline: self.baseline()?,
            budget: self.budget()?,
        })
    }

    /// Check every row and artifact; changes nothing.
    ///
    /// # Errors
    /// [`Error::Registry`] when the check itself cannot run (problems found are the report).
    pub fn verify(&self) -> Result<VerifyReport> {
        Ok(self.reg.borrow().verify()?)
    }

    /// Fix what `report` marked repairable (ask the user first).
    ///
    /// # Errors
    /// [`Error::Registry`] when a repair cannot be written.
    pub fn repair(&self, report: &VerifyReport) -> Result<RepairOutcome> {
        Ok(self.reg.borrow().repair(report)?)
    }
}

fn metric_of(b: &Benchmark) -> LatestMetric {
    LatestMetric {
        benchmark_id: b.id,
        backend: b.backend.clone(),
        p50_ms: b.p50_ms,
        p95_ms: b.p95_ms,
        memory_mb: b.memory_mb,
        n: b.n,
        created_at: b.created_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_the_format() {
        assert_eq!(
            check_target(Path::new("m.onnx"), ModelFormat::Onnx, "onnxruntime_cpu").unwrap(),
            "onnxruntime"
        );
        let err = check_target(Path::new("m.onnx"), ModelFormat::Onnx, "android_arm64")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("android_arm64") && err.contains("onnxruntime_cpu"),
            "{err}"
        );
        assert!(check_target(Path::new("m.mlpackage"), ModelFormat::Coreml, "apple_m9").is_err());
    }
}
