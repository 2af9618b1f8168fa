//! Versioned machine-readable outputs: what every command prints under `--json`.
//!
//! Each output is a [`Report`]: a type with its own schema id `mlgate.<kind>/v<N>`, one id
//! per JSON shape. Most are an [`Envelope`] around a [`Body`] (the body's fields sit beside
//! `schema` and `mlgate_version`); a few are top-level types that carry those fields
//! themselves ([`InspectReport`], [`crate::runtime::InferReport`],
//! [`crate::benchmark::BenchmarkReport`], [`crate::benchmark::CompareReport`],
//! [`DoctorReport`], [`ErrorReport`]).
//!
//! A schema's version changes only when a field is removed or changes meaning; adding fields
//! is compatible. The JSON Schema of every id is generated from these types ([`SCHEMAS`]) by
//! `cargo xtask schemas` into `docs/schemas/<kind>.v<N>.json`, and a test fails when the
//! committed files differ from what the types generate.
//!
//! Adding a command's output: a body type (or an existing one) and one line in the
//! `reports!` list below; the CLI prints it with `Envelope::new(body)`.
//!
//! ```
//! use mlgate::report::{to_json, Envelope, InspectReport};
//! # let dir = tempfile::tempdir()?;
//! # let path = mlgate::fixtures::write(dir.path(), mlgate::fixtures::TINY_MLP)?;
//! let report = InspectReport::new(mlgate::inspect(&path)?);
//! let json: serde_json::Value = serde_json::from_str(&to_json(&report)?)?;
//! assert_eq!(json["schema"], "mlgate.inspect/v1");
//! // A workspace command's output: its body's fields beside `schema` and `mlgate_version`.
//! let text = to_json(&Envelope::new(mlgate::report::Cancelled::new()))?;
//! assert!(text.contains("\"schema\": \"mlgate.cancelled/v1\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::benchmark::{BenchmarkReport, CompareReport, BENCHMARK_SCHEMA, COMPARE_SCHEMA};
use crate::build_report::BuildReport;
use crate::explore::{ExploreReport, QuantizationReport};
use crate::llm::{LlmBenchReport, LLM_BENCH_SCHEMA};
use crate::optimize::{AccuracyReport, OptimizeOutcome};
use crate::remote::{NamedRemote, SyncOutcome, TransferReport};
use crate::runtime::{InferReport, Installed, INFER_SCHEMA};
use crate::workspace::{
    BaselineHistory, BudgetCheck, BudgetState, BuildDetail, BuildDiff, BuildSummary, CommandEntry,
    ImportOutcome, InitOutcome, RepairOutcome, Tag, TagChange, TagEntry, VerifyReport,
    WorkspaceStatus,
};
use crate::{ErrorKind, ModelInfo, Result};

/// A `--json` output: serializable, described by a JSON Schema, with its own schema id.
pub trait Report: Serialize + JsonSchema {
    /// `mlgate.<kind>/v<N>`, the value of the output's `schema` field.
    const SCHEMA: &'static str;
}

/// The body of an [`Envelope`]: its fields are printed beside `schema` and `mlgate_version`.
pub trait Body: Serialize + JsonSchema {
    /// The schema id of `Envelope<Self>`.
    const SCHEMA: &'static str;
}

/// A versioned envelope whose body's fields sit beside `schema` and `mlgate_version`.
/// The workspace commands' outputs use it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<T> {
    /// The body's schema id.
    pub schema: String,
    /// The version of mlgate that wrote it.
    pub mlgate_version: String,
    /// The command's output; its fields are written beside the two above.
    #[serde(flatten)]
    pub body: T,
}

impl<T: Body> Envelope<T> {
    /// `body` with its schema id and this mlgate's version.
    pub fn new(body: T) -> Self {
        Envelope {
            schema: T::SCHEMA.to_string(),
            mlgate_version: VERSION.to_string(),
            body,
        }
    }
}

impl<T: Body> Report for Envelope<T> {
    const SCHEMA: &'static str = T::SCHEMA;
}

/// The version of mlgate that wrote a report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The JSON text of a report, as `--json` prints it (pretty, no trailing newline).
///
/// # Errors
/// [`crate::Error::Output`] when the report cannot be serialized (a bug: every report
/// type serializes).
pub fn to_json<R: Report>(report: &R) -> Result<String> {
    serde_json::to_string_pretty(report).map_err(crate::Error::Output)
}

/// One `--json` output in [`SCHEMAS`]: its id and how to make its JSON Schema.
#[derive(Debug, Clone, Copy)]
pub struct SchemaEntry {
    /// The schema id, `mlgate.<kind>/v<N>`.
    pub id: &'static str,
    /// Makes the JSON Schema (draft 2020-12) of the output.
    pub schema: fn() -> Schema,
}

impl SchemaEntry {
    const fn of<R: Report>() -> SchemaEntry {
        SchemaEntry {
            id: R::SCHEMA,
            schema: schema_for::<R>,
        }
    }

    const fn of_body<T: Body>() -> SchemaEntry {
        SchemaEntry {
            id: T::SCHEMA,
            schema: body_schema_for::<T>,
        }
    }

    /// `docs/schemas/` file name: `mlgate.baseline-history/v1` → `baseline-history.v1.json`.
    pub fn file_name(&self) -> String {
        let rest = self.id.strip_prefix("mlgate.").unwrap_or(self.id);
        format!("{}.json", rest.replace('/', "."))
    }

    /// The schema as the committed file holds it: pretty JSON and a final newline.
    pub fn file_text(&self) -> String {
        let text =
            serde_json::to_string_pretty(&(self.schema)()).expect("a JSON Schema is plain JSON");
        format!("{text}\n")
    }
}

/// The JSON Schema (draft 2020-12) of a report, describing what serde_json writes: fields
/// skipped when empty are optional, every other field is required, and `schema` must be the
/// report's own id.
pub fn schema_for<R: Report>() -> Schema {
    let mut schema = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<R>();
    schema.insert("title".into(), Value::String(R::SCHEMA.into()));
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        properties.insert(
            "schema".into(),
            serde_json::json!({
                "description": "The schema id of this output.",
                "const": R::SCHEMA,
            }),
        );
        if let Some(version) = properties.get_mut("mlgate_version") {
            *version = serde_json::json!({
                "description": "The version of mlgate that wrote this output.",
                "type": "string",
            });
        }
    }
    schema
}

/// [`schema_for`] an [`Envelope`], described by its body's documentation.
fn body_schema_for<T: Body>() -> Schema {
    let mut schema = schema_for::<Envelope<T>>();
    let body = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>();
    match body.get("description") {
        Some(d) => schema.insert("description".into(), d.clone()),
        None => schema.remove("description"),
    };
    schema
}

/// Declares which type each schema id belongs to, and lists them all in [`SCHEMAS`].
/// `report T = ID;` for a top-level report type, `body T = ID;` for a type printed in an
/// [`Envelope`].
macro_rules! reports {
    ($($what:ident $ty:ty = $id:expr;)*) => {
        $(reports!(@impl $what $ty = $id);)*

        /// Every `--json` output of mlgate, one entry per schema id.
        pub const SCHEMAS: &[SchemaEntry] = &[$(reports!(@entry $what $ty)),*];
    };
    (@impl report $ty:ty = $id:expr) => {
        impl Report for $ty {
            const SCHEMA: &'static str = $id;
        }
    };
    (@impl body $ty:ty = $id:expr) => {
        impl Body for $ty {
            const SCHEMA: &'static str = $id;
        }
    };
    (@entry report $ty:ty) => { SchemaEntry::of::<$ty>() };
    (@entry body $ty:ty) => { SchemaEntry::of_body::<$ty>() };
}

reports! {
    report mlgate_ci::CiReport = mlgate_ci::CI_SCHEMA;
    report mlgate_ci::GateReport = mlgate_ci::CI_CHECK_SCHEMA;
    report mlgate_ci::ValidateReport = mlgate_ci::VALIDATE_SCHEMA;
    report InspectReport = INSPECT_SCHEMA;
    report InferReport = INFER_SCHEMA;
    report DoctorReport = DOCTOR_SCHEMA;
    report BenchmarkReport = BENCHMARK_SCHEMA;
    report CompareReport = COMPARE_SCHEMA;
    report LlmBenchReport = LLM_BENCH_SCHEMA;
    report ErrorReport = ERROR_SCHEMA;
    body RuntimeInstall = "mlgate.runtime-install/v1";
    body InitOutcome = "mlgate.init/v1";
    body ImportOutcome = "mlgate.import/v1";
    body BuildList = "mlgate.log/v1";
    body BuildDetail = "mlgate.build/v1";
    body BuildDiff = "mlgate.diff/v1";
    body TagList = "mlgate.tags/v1";
    body TagCreate = "mlgate.tag-create/v1";
    body TagDelete = "mlgate.tag-delete/v1";
    body Baseline = "mlgate.baseline/v1";
    body BaselineSet = "mlgate.baseline-set/v1";
    body BaselineUnset = "mlgate.baseline-unset/v1";
    body BaselineHistory = "mlgate.baseline-history/v1";
    body BudgetState = "mlgate.budget/v1";
    body BudgetCheck = "mlgate.budget-check/v1";
    body HistoryList = "mlgate.history/v1";
    body HistoryDeleted = "mlgate.history-delete/v1";
    body WorkspaceStatus = "mlgate.status/v1";
    body Verification = "mlgate.verify/v1";
    body Cancelled = "mlgate.cancelled/v1";
    body OptimizeOutcome = "mlgate.optimize/v1";
    body AccuracyReport = "mlgate.accuracy/v1";
    body ExploreReport = "mlgate.explore/v1";
    body QuantizationReport = "mlgate.compare-quantization/v1";
    body BuildReport = "mlgate.report/v1";
    body TimelinePlot = "mlgate.plot-timeline/v1";
    body RemoteList = "mlgate.remote-list/v1";
    body RemoteAdded = "mlgate.remote-add/v1";
    body RemoteRemoved = "mlgate.remote-remove/v1";
    body RemoteDefault = "mlgate.remote-set-default/v1";
    body PushReport = "mlgate.push/v1";
    body PullReport = "mlgate.pull/v1";
    body SyncOutcome = "mlgate.sync/v1";
    body crate::profile::ProfileReport = "mlgate.profile/v1";
    body crate::insights::InsightsReport = "mlgate.insights/v1";
}

/// `mlgate remote list`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RemoteList {
    /// Every configured remote (where its data lives; never a credential).
    pub remotes: Vec<NamedRemote>,
}

/// `mlgate remote add`: the remote as configured.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RemoteAdded(
    /// The new remote.
    pub NamedRemote,
);

/// `mlgate remote remove`: the remote as it was.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RemoteRemoved(
    /// The removed remote.
    pub NamedRemote,
);

/// `mlgate remote set-default`: the new default remote.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RemoteDefault(
    /// The default remote.
    pub NamedRemote,
);

/// `mlgate push`: what was sent and what was already there.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct PushReport(
    /// Counts per kind of object, the builds covered.
    pub TransferReport,
);

/// `mlgate pull`: what was fetched, the tags updated and any tag conflicts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct PullReport(
    /// Counts per kind of object, the builds covered, tags updated, conflicts.
    pub TransferReport,
);

/// Schema id of one line of a benchmark timeline (`mlgate benchmark --timeline FILE.jsonl`):
/// a [`crate::benchmark::TimelineSample`]. The lines carry no `schema` field; the id names
/// the shape.
pub const TIMELINE_SAMPLE_SCHEMA: &str = "mlgate.timeline-sample/v1";

/// The shapes of JSON Lines files mlgate writes, one entry per line shape; `cargo xtask
/// schemas` writes them to `docs/schemas/lines/<kind>.v<N>.json`.
pub const LINE_SCHEMAS: &[SchemaEntry] = &[
    SchemaEntry {
        id: TIMELINE_SAMPLE_SCHEMA,
        schema: timeline_sample_schema,
    },
    SchemaEntry {
        id: crate::llm::LLM_BENCH_LINE_SCHEMA,
        schema: llm_bench_line_schema,
    },
];

fn llm_bench_line_schema() -> Schema {
    let mut schema = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<crate::llm::LlmBenchLine>();
    schema.insert(
        "title".into(),
        Value::String(crate::llm::LLM_BENCH_LINE_SCHEMA.into()),
    );
    schema.insert(
        "description".into(),
        Value::String(
            "One line of `mlgate llm-bench -o jsonl`: one test (prompt and generation \
             length) with every request's clock readings."
                .into(),
        ),
    );
    schema
}

fn timeline_sample_schema() -> Schema {
    let mut schema = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<crate::benchmark::TimelineSample>();
    schema.insert("title".into(), Value::String(TIMELINE_SAMPLE_SCHEMA.into()));
    schema.insert(
        "description".into(),
        Value::String(
            "One line of `mlgate benchmark --timeline FILE.jsonl`: one sample of the \
             process's resident memory and CPU use."
                .into(),
        ),
    );
    schema
}

/// Schema id of [`InspectReport`].
pub const INSPECT_SCHEMA: &str = "mlgate.inspect/v1";

/// `mlgate inspect --json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InspectReport {
    /// [`INSPECT_SCHEMA`].
    pub schema: String,
    /// The version of mlgate that read the model.
    pub mlgate_version: String,
    /// What the model is.
    pub model: ModelInfo,
    /// What the model is for, detected from its graph, names and shapes. Added within v1:
    /// older reports lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<crate::TaskReport>,
}

impl InspectReport {
    /// The report of `model`, without a task.
    pub fn new(model: ModelInfo) -> Self {
        InspectReport {
            schema: INSPECT_SCHEMA.to_string(),
            mlgate_version: VERSION.to_string(),
            model,
            task: None,
        }
    }

    /// The report with the detected task added.
    pub fn with_task(mut self, task: crate::TaskReport) -> Self {
        self.task = Some(task);
        self
    }
}

/// Schema id of [`ErrorReport`].
pub const ERROR_SCHEMA: &str = "mlgate.error/v1";

/// `--json` output of a failed command (exit 2): what went wrong, in the same words as on
/// stderr.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorReport {
    /// [`ERROR_SCHEMA`].
    pub schema: String,
    /// Added within v1: older reports lack it.
    #[serde(default)]
    pub mlgate_version: String,
    /// The error's message.
    pub error: String,
    /// Whose mistake it is.
    pub kind: ErrorKind,
}

impl ErrorReport {
    /// The report of a facade error.
    pub fn new(error: &crate::Error) -> Self {
        ErrorReport::message(error.kind(), error.to_string())
    }

    /// An error that is not a facade [`crate::Error`], such as a command line that does not
    /// parse.
    pub fn message(kind: ErrorKind, error: impl Into<String>) -> Self {
        ErrorReport {
            schema: ERROR_SCHEMA.to_string(),
            mlgate_version: VERSION.to_string(),
            error: error.into(),
            kind,
        }
    }
}

/// Schema id of [`DoctorReport`].
pub const DOCTOR_SCHEMA: &str = "mlgate.doctor/v1";

/// `mlgate doctor --json`: the host and each runtime's status.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DoctorReport {
    /// [`DOCTOR_SCHEMA`].
    pub schema: String,
    /// The version of mlgate that looked.
    pub mlgate_version: String,
    /// True when the embedded default backend (tract) works.
    pub default_backend_ok: bool,
    /// The host and every runtime's status; written beside the fields above.
    #[serde(flatten)]
    pub doctor: crate::runtime::Doctor,
}

impl DoctorReport {
    /// The report of `doctor`.
    pub fn new(doctor: crate::runtime::Doctor) -> Self {
        DoctorReport {
            schema: DOCTOR_SCHEMA.to_string(),
            mlgate_version: VERSION.to_string(),
            default_backend_ok: crate::runtime::default_backend_works(&doctor),
            doctor,
        }
    }
}

/// `mlgate plot timeline`: the page written and the timeline it shows.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TimelinePlot {
    /// The HTML page written.
    pub output: std::path::PathBuf,
    /// The timeline read: samples, observed interval, phases.
    #[serde(flatten)]
    pub timeline: crate::benchmark::Timeline,
}

/// `mlgate runtime install`: each runtime installed, or found already installed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RuntimeInstall {
    /// One entry per runtime.
    pub installed: Vec<Installed>,
}

/// `mlgate log` (also with `--tree`): the builds, newest first, or parents before children.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BuildList {
    /// The builds, each with its latest benchmark.
    pub builds: Vec<BuildSummary>,
}

/// `mlgate tag list`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TagList {
    /// Every tag, with its build's name.
    pub tags: Vec<TagEntry>,
}

/// `mlgate tag create`: what setting the tag did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct TagCreate(
    /// The tag before and after.
    pub TagChange,
);

/// `mlgate tag delete`: the tag as it was.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct TagDelete(
    /// The deleted tag.
    pub Tag,
);

/// `mlgate baseline show`: the baseline build with its latest benchmark; no fields besides
/// `schema` and `mlgate_version` when there is no baseline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Baseline {
    /// The baseline build and its latest benchmark; `None`: no baseline.
    #[serde(flatten)]
    pub baseline: Option<BuildSummary>,
}

/// `mlgate baseline set`: what moving the baseline tag did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct BaselineSet(
    /// The baseline tag before and after.
    pub TagChange,
);

/// `mlgate baseline unset`: the baseline tag as it was; no fields besides `schema` and
/// `mlgate_version` when there was none.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BaselineUnset {
    /// The removed tag; `None`: there was none.
    #[serde(flatten)]
    pub removed: Option<Tag>,
}

/// `mlgate history`: matching entries, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HistoryList {
    /// The entries, newest first.
    pub entries: Vec<CommandEntry>,
}

/// `mlgate history delete ID` and `mlgate history clear`: the ids deleted (`clear` lists
/// none) and how many entries went.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HistoryDeleted {
    /// Ids of the deleted entries (empty for `clear`).
    pub deleted: Vec<String>,
    /// How many entries were deleted.
    pub count: u64,
}

/// `mlgate verify`: what the check found, after the repair when `--repair` ran one.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Verification {
    /// The problems found.
    pub report: VerifyReport,
    /// What `--repair` did; `null` when it did not run.
    pub repair: Option<RepairOutcome>,
}

/// A command that asked for confirmation and was told no: nothing changed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Cancelled {
    /// Always true.
    pub cancelled: bool,
}

impl Cancelled {
    /// The body of a cancelled command.
    pub fn new() -> Self {
        Cancelled { cancelled: true }
    }
}

impl Default for Cancelled {
    fn default() -> Self {
        Cancelled::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_ids_are_unique_and_versioned() {
        let mut seen = std::collections::BTreeSet::new();
        for entry in SCHEMAS {
            assert!(seen.insert(entry.id), "{} is listed twice", entry.id);
            let (kind, version) = entry
                .id
                .strip_prefix("mlgate.")
                .and_then(|rest| rest.split_once("/v"))
                .unwrap_or_else(|| panic!("{} is not mlgate.<kind>/v<N>", entry.id));
            assert!(
                !kind.is_empty()
                    && kind
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                entry.id
            );
            assert!(version.parse::<u32>().is_ok(), "{}", entry.id);
        }
    }

    #[test]
    fn envelopes_carry_their_body_id() {
        let v = serde_json::to_value(Envelope::new(Cancelled::new())).unwrap();
        assert_eq!(v["schema"], "mlgate.cancelled/v1");
        assert_eq!(v["cancelled"], true);
        assert_eq!(v["mlgate_version"], VERSION);
        // An absent optional body adds no fields, as before the body had a type.
        let v = serde_json::to_value(Envelope::new(Baseline { baseline: None })).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    }

    /// A report whose serialization fails, as a map with non-string keys would.
    #[derive(JsonSchema)]
    struct Broken;

    impl Serialize for Broken {
        fn serialize<S: serde::Serializer>(&self, _: S) -> std::result::Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no JSON for this"))
        }
    }

    impl Report for Broken {
        const SCHEMA: &'static str = "mlgate.broken/v1";
    }

    #[test]
    fn a_report_that_cannot_be_serialized_is_an_error() {
        let err = to_json(&Broken).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Environment);
        assert!(err.to_string().contains("no JSON for this"), "{err}");
    }

    #[test]
    fn schemas_pin_the_id_and_allow_null_for_not_a_number() {
        let entry = SCHEMAS
            .iter()
            .find(|e| e.id == COMPARE_SCHEMA)
            .expect("compare is listed");
        let text = entry.file_text();
        assert_eq!(entry.file_name(), "compare.v1.json");
        let schema: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(schema["title"], COMPARE_SCHEMA);
        assert_eq!(schema["properties"]["schema"]["const"], COMPARE_SCHEMA);
        // NaN is written as null; the schema must accept what serde_json writes.
        let p_value = &schema["$defs"]["Comparison"]["properties"]["p_value"];
        assert_eq!(
            p_value["type"],
            serde_json::json!(["number", "null"]),
            "{p_value}"
        );
    }
}
