//! The command history: an audit log of CLI invocations, separate from builds and
//! benchmarks. Deleting history never touches a build or a result.

use rusqlite::types::Value;
use rusqlite::{params, Row};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{RegistryError, Result};
use crate::Registry;

/// Which mlgate command an invocation was. The history stores its stable name
/// ([`CommandKind::name`]), so what reads the history (the last validation in `status`, the
/// `--filter` of `history`) never depends on how the command line spells its commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum CommandKind {
    Inspect,
    Infer,
    Doctor,
    RuntimeInstall,
    Benchmark,
    Compare,
    Init,
    Import,
    Log,
    Diff,
    TagCreate,
    TagList,
    TagDelete,
    BaselineShow,
    BaselineSet,
    BaselineUnset,
    BaselineHistory,
    BudgetShow,
    BudgetSet,
    BudgetClear,
    BudgetValidate,
    History,
    HistoryDelete,
    HistoryClear,
    Status,
    Verify,
    Validate,
    Ci,
    CiCheck,
    Optimize,
    Accuracy,
    Explore,
    CompareQuantization,
    Report,
    PlotTimeline,
    LlmBench,
    RemoteAdd,
    RemoteList,
    RemoteRemove,
    RemoteSetDefault,
    Push,
    Pull,
    Sync,
    Profile,
    Insights,
}

impl CommandKind {
    /// Every kind with its stable name. A name never changes once released: entries already
    /// in a history keep it. A command's group comes first (`tag create`), so filtering on
    /// `tag` finds every tag command.
    const NAMES: [(CommandKind, &'static str); 45] = [
        (CommandKind::Inspect, "inspect"),
        (CommandKind::Infer, "infer"),
        (CommandKind::Doctor, "doctor"),
        (CommandKind::RuntimeInstall, "runtime install"),
        (CommandKind::Benchmark, "benchmark"),
        (CommandKind::Compare, "compare"),
        (CommandKind::Init, "init"),
        (CommandKind::Import, "import"),
        (CommandKind::Log, "log"),
        (CommandKind::Diff, "diff"),
        (CommandKind::TagCreate, "tag create"),
        (CommandKind::TagList, "tag list"),
        (CommandKind::TagDelete, "tag delete"),
        (CommandKind::BaselineShow, "baseline show"),
        (CommandKind::BaselineSet, "baseline set"),
        (CommandKind::BaselineUnset, "baseline unset"),
        (CommandKind::BaselineHistory, "baseline history"),
        (CommandKind::BudgetShow, "budget show"),
        (CommandKind::BudgetSet, "budget set"),
        (CommandKind::BudgetClear, "budget clear"),
        (CommandKind::BudgetValidate, "budget validate"),
        (CommandKind::History, "history"),
        (CommandKind::HistoryDelete, "history delete"),
        (CommandKind::HistoryClear, "history clear"),
        (CommandKind::Status, "status"),
        (CommandKind::Verify, "verify"),
        (CommandKind::Validate, "validate"),
        (CommandKind::Ci, "ci"),
        (CommandKind::CiCheck, "ci-check"),
        (CommandKind::Optimize, "optimize"),
        (CommandKind::Accuracy, "accuracy"),
        (CommandKind::Explore, "explore"),
        (CommandKind::CompareQuantization, "compare-quantization"),
        (CommandKind::Report, "report"),
        (CommandKind::PlotTimeline, "plot timeline"),
        (CommandKind::LlmBench, "llm-bench"),
        (CommandKind::RemoteAdd, "remote add"),
        (CommandKind::RemoteList, "remote list"),
        (CommandKind::RemoteRemove, "remote remove"),
        (CommandKind::RemoteSetDefault, "remote set-default"),
        (CommandKind::Push, "push"),
        (CommandKind::Pull, "pull"),
        (CommandKind::Sync, "sync"),
        (CommandKind::Profile, "profile"),
        (CommandKind::Insights, "insights"),
    ];

    /// Every kind.
    pub fn all() -> impl Iterator<Item = CommandKind> {
        Self::NAMES.into_iter().map(|(k, _)| k)
    }

    /// The stable name stored in the history: `import`, `tag create`, `ci-check`.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .expect("every kind has a name")
    }

    /// The kind a stored name stands for; `None` for a name no kind has (an entry written
    /// by another version of mlgate).
    pub fn from_name(name: &str) -> Option<CommandKind> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(k, _)| *k)
    }

    /// A gate that passes (exit 0) or fails (exit 1) a build: what `status` shows as the last
    /// validation.
    pub fn is_validation(self) -> bool {
        matches!(
            self,
            CommandKind::Validate | CommandKind::Ci | CommandKind::BudgetValidate
        )
    }
}

impl std::fmt::Display for CommandKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl From<CommandKind> for &'static str {
    fn from(kind: CommandKind) -> &'static str {
        kind.name()
    }
}

impl TryFrom<String> for CommandKind {
    type Error = String;

    fn try_from(name: String) -> std::result::Result<CommandKind, String> {
        CommandKind::from_name(&name).ok_or_else(|| format!("unknown command `{name}`"))
    }
}

/// An invocation to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCommand {
    /// Which command it was; stored as its stable name.
    pub command: CommandKind,
    /// Every argument after the program name.
    pub args: Vec<String>,
    pub exit_code: i32,
    pub duration_ms: u64,
    pub started_at: i64,
    pub cwd: String,
    /// Builds the command read or wrote.
    pub build_ids: Vec<String>,
}

/// A recorded invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandEntry {
    /// 16 hex digits.
    pub id: String,
    /// The command's stable name ([`CommandKind::name`]): `import`, `tag create`, ...
    pub command: String,
    pub args: Vec<String>,
    pub exit_code: i32,
    pub duration_ms: u64,
    #[serde(with = "crate::time::rfc3339")]
    #[schemars(with = "crate::time::Rfc3339")]
    pub started_at: i64,
    pub cwd: String,
    pub machine_id: String,
    pub hostname: String,
    pub build_ids: Vec<String>,
}

impl CommandEntry {
    /// The command this entry records; `None` for a name this version does not know.
    pub fn kind(&self) -> Option<CommandKind> {
        CommandKind::from_name(&self.command)
    }
}

/// Which history entries to list.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// First word of the command's name (`baseline` matches `baseline set`), or the whole
    /// name, as a user types it.
    pub command: Option<String>,
    /// Only these commands (none: any).
    pub kinds: Vec<CommandKind>,
    /// Only entries that exited non-zero.
    pub failed_only: bool,
    pub since: Option<i64>,
    /// Only entries that touched a build whose id starts with this.
    pub build_id_prefix: Option<String>,
    pub limit: Option<usize>,
}

fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<CommandEntry> {
    let args: String = r.get(2)?;
    let builds: Option<String> = r.get(9)?;
    Ok(CommandEntry {
        id: r.get(0)?,
        command: r.get(1)?,
        args: serde_json::from_str(&args).unwrap_or_default(),
        exit_code: r.get(3)?,
        duration_ms: r.get::<_, i64>(4)?.max(0) as u64,
        started_at: r.get(5)?,
        cwd: r.get(6)?,
        machine_id: r.get(7)?,
        hostname: r.get(8)?,
        build_ids: builds
            .map(|b| b.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
    })
}

const ENTRY_SELECT: &str = "SELECT h.id, h.command, h.args, h.exit_code, h.duration_ms, \
    h.started_at, h.cwd, h.machine_id, h.hostname, \
    (SELECT group_concat(build_id, ',') FROM command_builds c WHERE c.history_id = h.id) \
    FROM command_history h";

impl Registry {
    /// Append one invocation. One short transaction: cheap enough to run after every command.
    pub fn record_command(&mut self, cmd: &NewCommand) -> Result<String> {
        let machine = self.machine.clone();
        let mut h = Sha256::new();
        h.update(cmd.started_at.to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update(machine.id.as_bytes());
        h.update(crate::machine::random_hex(8).as_bytes());
        let id = hex::encode(&h.finalize()[..8]);
        let args = serde_json::to_string(&cmd.args).unwrap_or_else(|_| "[]".into());
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO command_history (id, command, args, exit_code, duration_ms, \
             started_at, cwd, machine_id, hostname) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                cmd.command.name(),
                args,
                cmd.exit_code,
                cmd.duration_ms as i64,
                cmd.started_at,
                cmd.cwd,
                machine.id,
                machine.hostname
            ],
        )?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR IGNORE INTO command_builds (history_id, build_id) VALUES (?1, ?2)",
            )?;
            for b in &cmd.build_ids {
                ins.execute(params![id, b])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// History entries, newest first.
    pub fn history(&self, f: &HistoryFilter) -> Result<Vec<CommandEntry>> {
        let kinds_clause = format!("h.command IN ({})", vec!["?"; f.kinds.len()].join(", "));
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let Some(c) = &f.command {
            clauses.push("(h.command = ? OR h.command LIKE ? ESCAPE '\\')");
            values.push(Value::Text(c.clone()));
            values.push(Value::Text(format!(
                "{} %",
                c.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )));
        }
        if !f.kinds.is_empty() {
            clauses.push(&kinds_clause);
            values.extend(f.kinds.iter().map(|k| Value::Text(k.name().into())));
        }
        if f.failed_only {
            clauses.push("h.exit_code <> 0");
        }
        if let Some(t) = f.since {
            clauses.push("h.started_at >= ?");
            values.push(Value::Integer(t));
        }
        if let Some(p) = &f.build_id_prefix {
            let p = p.to_ascii_lowercase();
            clauses.push(
                "h.id IN (SELECT history_id FROM command_builds WHERE build_id >= ? AND build_id < ?)",
            );
            values.push(Value::Text(p.clone()));
            values.push(Value::Text(format!("{p}g")));
        }
        let mut sql = ENTRY_SELECT.to_string();
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY h.started_at DESC, h.rowid DESC");
        if let Some(limit) = f.limit {
            sql.push_str(" LIMIT ?");
            values.push(Value::Integer(limit as i64));
        }
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), entry_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Delete one entry by id or unique prefix (at least 4 characters). Returns its id.
    pub fn delete_history(&mut self, reference: &str) -> Result<String> {
        let p = reference.trim().to_ascii_lowercase();
        if p.len() < 4 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RegistryError::invalid(
                "history id",
                reference,
                "use at least 4 hex characters of an id shown by `mlgate history`",
            ));
        }
        let tx = self.write_tx()?;
        let ids: Vec<String> = tx
            .prepare_cached(
                "SELECT id FROM command_history WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 11",
            )?
            .query_map(params![p, format!("{p}g")], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match ids.len() {
            0 => Err(RegistryError::UnknownHistoryEntry(reference.to_string())),
            1 => {
                tx.execute("DELETE FROM command_history WHERE id = ?1", [&ids[0]])?;
                tx.commit()?;
                Ok(ids[0].clone())
            }
            _ => Err(RegistryError::AmbiguousHistoryEntry {
                reference: reference.to_string(),
                candidates: ids,
            }),
        }
    }

    /// Delete every history entry. Returns how many there were.
    pub fn clear_history(&mut self) -> Result<u64> {
        let tx = self.write_tx()?;
        tx.execute("DELETE FROM command_builds", [])?;
        let n = tx.execute("DELETE FROM command_history", [])?;
        tx.commit()?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_stable_name() {
        let mut names = std::collections::BTreeSet::new();
        for kind in CommandKind::all() {
            assert!(names.insert(kind.name()), "{kind} twice");
            assert_eq!(CommandKind::from_name(kind.name()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
            assert_eq!(serde_json::from_str::<CommandKind>(&json).unwrap(), kind);
        }
        assert_eq!(CommandKind::TagCreate.name(), "tag create");
        assert_eq!(CommandKind::from_name("mlgate"), None);
    }

    #[test]
    fn history_filters_by_kind_and_by_the_name_a_user_types() {
        let dir = tempfile::tempdir().unwrap();
        let (mut reg, _) = Registry::open(&dir.path().join(".mlgate"), true).unwrap();
        let record = |reg: &mut Registry, command, exit_code, started_at| {
            reg.record_command(&NewCommand {
                command,
                args: Vec::new(),
                exit_code,
                duration_ms: 1,
                started_at,
                cwd: String::new(),
                build_ids: Vec::new(),
            })
            .unwrap();
        };
        record(&mut reg, CommandKind::BudgetValidate, 1, 1_000);
        record(&mut reg, CommandKind::TagCreate, 0, 2_000);
        record(&mut reg, CommandKind::Status, 0, 3_000);
        let commands = |f: &HistoryFilter| -> Vec<String> {
            reg.history(f)
                .unwrap()
                .into_iter()
                .map(|e| e.command)
                .collect()
        };
        let gates = HistoryFilter {
            kinds: CommandKind::all().filter(|k| k.is_validation()).collect(),
            ..HistoryFilter::default()
        };
        assert_eq!(commands(&gates), ["budget validate"]);
        let typed = HistoryFilter {
            command: Some("tag".into()),
            ..HistoryFilter::default()
        };
        assert_eq!(commands(&typed), ["tag create"]);
        let entry = reg.history(&HistoryFilter::default()).unwrap().remove(0);
        assert_eq!(entry.kind(), Some(CommandKind::Status));
    }
}
