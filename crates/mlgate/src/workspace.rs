//! The workspace: a `.mlgate/` directory holding the registry (builds, benchmarks, tags,
//! history), the artifact store, `budget.toml` and `config.toml`.
//!
//! Found like git finds `.git` — the nearest `.mlgate/` in the current directory or a parent
//! — unless `--workspace DIR` or `MLGATE_WORKSPACE` names the directory itself (not its
//! parent). (`MLGATE_HOME` is the runtimes directory of mlgate-backends, a different thing.)
//!
//! A [`Workspace`] remembers which builds its operations touched, so the CLI can log them in
//! the command history.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use mlgate_registry::{
    method_label, time, AccuracyCheck, ArtifactKind, Benchmark, Budget, Build, BuildFilter,
    BuildSummary, CiConfig, CiSection, CommandEntry, CommandKind, Constraint, HistoryFilter,
    LatestMetric, Limit, LimitSource, NewBenchmark, NewCommand, Problem, RepairOutcome, ResolvedCi,
    Severity, Sourced, Tag, TagChange, TagEvent, VerifyReport, BASELINE_TAG, WORKSPACE_DIR_NAME,
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

/// An open workspace.
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
    pub task: Option<String>,
    pub notes: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImportOutcome {
    pub build: Build,
    /// False when the same model was already registered with the same settings.
    pub created: bool,
    pub model: ModelInfo,
}

/// One build in detail (`mlgate log BUILD`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BuildDetail {
    pub build: Build,
    pub tags: Vec<String>,
    pub parent: Option<BuildRef>,
    pub children: Vec<BuildRef>,
    /// Most recent first.
    pub benchmarks: Vec<LatestMetric>,
    /// The stored artifact, checked against its hash.
    pub artifact_path: PathBuf,
}

/// A short reference to a build, for lineage lists.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BuildRef {
    pub id: String,
    pub name: String,
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
    pub build: Build,
    pub model: ModelInfo,
    pub latest: Option<LatestMetric>,
}

/// `mlgate diff A B`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BuildDiff {
    pub a: DiffSide,
    pub b: DiffSide,
}

/// A tag with the name of its build.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TagEntry {
    #[serde(flatten)]
    pub tag: Tag,
    pub build_name: String,
}

/// `mlgate baseline history`: changes of the baseline tag, and the baseline-style tags in
/// force (`mlgate-baseline`, `main-*`, `production-*`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BaselineHistory {
    pub tags: Vec<TagEntry>,
    pub events: Vec<TagEvent>,
}

/// The budget file and what it holds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BudgetState {
    pub path: PathBuf,
    pub exists: bool,
    pub budget: Budget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
    /// Nothing to compare with yet (no benchmark of the build).
    Pending,
}

/// One constraint checked against a build.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConstraintCheck {
    pub constraint: Constraint,
    pub limit: f64,
    pub source: LimitSource,
    pub actual: Option<f64>,
    pub status: CheckStatus,
}

/// `mlgate budget validate BUILD`: the budget applied to a build's size and latest benchmark.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BudgetCheck {
    pub build: Build,
    pub latest: Option<LatestMetric>,
    pub checks: Vec<ConstraintCheck>,
}

impl BudgetCheck {
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == CheckStatus::Fail)
    }
}

/// A benchmark with the build it measured.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RecentBenchmark {
    pub build_id: String,
    pub build_name: String,
    pub metric: LatestMetric,
}

/// The constraints `budget set` changes: at least one, checked when it is made, so a
/// command can refuse an empty update before it creates a workspace for it.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetUpdate(Budget);

impl BudgetUpdate {
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
    Command(String),
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
    pub select: Option<HistorySelect>,
    /// Only entries started at or after this time (Unix milliseconds).
    pub since: Option<i64>,
    /// Only entries that touched a build whose id starts with this.
    pub build_id_prefix: Option<String>,
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
    pub workspace: PathBuf,
    pub hostname: String,
    pub machine_id: String,
    pub builds: u64,
    pub benchmarks: u64,
    pub last_build: Option<Build>,
    pub last_benchmark: Option<RecentBenchmark>,
    /// The last gate run (`validate`, `ci` or `budget validate`: see
    /// [`CommandKind::is_validation`]), from the command history.
    pub last_validate: Option<CommandEntry>,
    pub baseline: Option<BuildSummary>,
    pub budget: BudgetState,
}

/// What `mlgate init` did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InitOutcome {
    pub workspace: PathBuf,
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
    pub fn open_existing(opts: &WorkspaceOptions) -> Result<Option<Workspace>> {
        match opts.locate() {
            Ok(Some(dir)) if Registry::exists(&dir) => Workspace::open(opts).map(Some),
            _ => Ok(None),
        }
    }

    /// Open the workspace in force, creating `.mlgate/` in the current directory (or the
    /// named directory) when there is none. The flag says whether this call created it.
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

    /// Builds this workspace's operations resolved, created or changed, in order.
    pub fn touched_builds(&self) -> Vec<String> {
        self.touched.borrow().clone()
    }

    /// Register a model file or `.mlpackage` as a build. The artifact is copied into the
    /// store first and the row inserted after, so an interrupted import leaves at most an
    /// unreferenced artifact, never a row without its artifact.
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
    pub fn resolve_build(&self, reference: &str) -> Result<Build> {
        let b = self.reg.borrow().resolve(reference)?;
        self.touch(&b.id);
        Ok(b)
    }

    /// The runnable model of a build, after checking the stored bytes against their hash
    /// (an error names the build when they do not match).
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
    pub fn record_benchmark(&self, build_id: &str, record: &NewBenchmark) -> Result<i64> {
        let id = self.reg.borrow_mut().record_benchmark(build_id, record)?;
        self.touch(build_id);
        Ok(id)
    }

    /// Record an accuracy check between two builds.
    pub fn record_accuracy_check(&self, check: &AccuracyCheck) -> Result<i64> {
        let id = self.reg.borrow_mut().record_accuracy_check(check)?;
        self.touch(&check.baseline_build_id);
        self.touch(&check.candidate_build_id);
        Ok(id)
    }

    /// A build's benchmarks, newest first, with their raw samples.
    pub fn benchmarks(&self, build_id: &str, limit: usize) -> Result<Vec<Benchmark>> {
        Ok(self.reg.borrow().benchmarks(build_id, limit)?)
    }

    /// Builds matching a filter, newest first, with their latest benchmark.
    pub fn builds(&self, filter: &BuildFilter) -> Result<Vec<BuildSummary>> {
        Ok(self.reg.borrow().builds(filter)?)
    }

    /// The lineage trees containing a matching build (parents before children).
    pub fn lineage(&self, filter: &BuildFilter) -> Result<Vec<BuildSummary>> {
        Ok(self.reg.borrow().lineage(filter)?)
    }

    /// One build in detail; checks its artifact.
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
    pub fn tag_create(&self, reference: &str, name: &str, force: bool) -> Result<TagChange> {
        let build = self.resolve_build(reference)?;
        Ok(self
            .reg
            .borrow_mut()
            .set_tag(name, &build.id, force, false)?)
    }

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

    pub fn tag_delete(&self, name: &str) -> Result<Tag> {
        let tag = self.reg.borrow_mut().delete_tag(name, false)?;
        self.touch(&tag.build_id);
        Ok(tag)
    }

    /// The current baseline, with its latest benchmark.
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
    pub fn baseline_set(&self, reference: &str, replace: bool) -> Result<TagChange> {
        let build = self.resolve_build(reference)?;
        Ok(self
            .reg
            .borrow_mut()
            .set_tag(BASELINE_TAG, &build.id, replace, true)?)
    }

    /// Remove the baseline. Returns the tag as it was, or `None` if there was none.
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
    pub fn ci_config(&self) -> Result<CiConfig> {
        Ok(CiConfig::load(&self.reg.borrow().layout().config())?)
    }

    /// The `[ci]` settings in force: command-line values over `config.toml`, with sources.
    pub fn resolve_ci(&self, flags: &CiSection) -> Result<ResolvedCi> {
        let path = self.reg.borrow().layout().config();
        Ok(CiConfig::load(&path)?.resolve(flags, &path))
    }

    pub fn history(&self, filter: &HistoryFilter) -> Result<Vec<CommandEntry>> {
        Ok(self.reg.borrow().history(filter)?)
    }

    /// The history entries a [`HistoryQuery`] selects, newest first.
    pub fn history_matching(&self, query: &HistoryQuery) -> Result<Vec<CommandEntry>> {
        self.history(&query.filter())
    }

    pub fn history_delete(&self, id: &str) -> Result<String> {
        Ok(self.reg.borrow_mut().delete_history(id)?)
    }

    pub fn history_clear(&self) -> Result<u64> {
        Ok(self.reg.borrow_mut().clear_history()?)
    }

    /// Append a command to the history.
    pub fn record_command(&self, cmd: &NewCommand) -> Result<String> {
        Ok(self.reg.borrow_mut().record_command(cmd)?)
    }

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
    pub fn verify(&self) -> Result<VerifyReport> {
        Ok(self.reg.borrow().verify()?)
    }

    /// Fix what `report` marked repairable (ask the user first).
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
