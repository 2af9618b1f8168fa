//! `verify` (fsck): check every row and artifact, report what is wrong, change nothing.
//! `repair` then fixes only what can be fixed without guessing: leftovers of interrupted
//! writes, unreferenced artifacts, and damaged or missing artifacts whose source file still
//! has the recorded content. Data that cannot be restored is reported, never deleted.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::ArtifactState;
use crate::{Budget, CiConfig, Registry};

/// An entry younger than this under `tmp/` or an unreferenced artifact may belong to an
/// import running right now (artifact stored, row not yet committed): repair leaves it.
const GRACE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Data is damaged or missing.
    Error,
    /// Clutter: nothing is lost.
    Warning,
}

/// One thing `verify` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    pub severity: Severity,
    /// `corrupt_artifact`, `missing_artifact`, `damaged_samples`, `database`,
    /// `orphan_artifact`, `temporary_file`, `bad_file`.
    pub kind: String,
    /// The build id, benchmark id or path concerned.
    pub subject: String,
    pub message: String,
    /// What `verify --repair` would do, if it can do anything.
    pub repair: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyReport {
    pub builds_checked: u64,
    pub artifacts_checked: u64,
    pub benchmarks_checked: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }
    pub fn repairable(&self) -> usize {
        self.problems.iter().filter(|p| p.repair.is_some()).count()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RepairOutcome {
    pub repaired: Vec<String>,
    pub not_repaired: Vec<String>,
}

fn older_than_grace(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age >= GRACE)
}

impl Registry {
    /// Check the database, every build's artifact, every benchmark's samples, leftovers in
    /// the store and the workspace files. Read-only.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let mut problems = Vec::new();
        let mut push = |severity, kind: &str, subject: String, message: String, repair| {
            problems.push(Problem {
                severity,
                kind: kind.to_string(),
                subject,
                message,
                repair,
            })
        };

        let quick: Vec<String> = self
            .conn
            .prepare("PRAGMA quick_check")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if quick != ["ok"] {
            push(
                Severity::Error,
                "database",
                self.layout.db().display().to_string(),
                format!("SQLite integrity check: {}", quick.join("; ")),
                None,
            );
        }
        let fk: Vec<(String, i64)> = self
            .conn
            .prepare("SELECT \"table\", rowid FROM pragma_foreign_key_check")?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (table, rowid) in fk {
            push(
                Severity::Error,
                "database",
                format!("{table} row {rowid}"),
                "refers to a row that does not exist".into(),
                None,
            );
        }

        // Hash each artifact once, however many builds share it.
        let mut by_artifact: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT id, name, artifact_hash, source_path FROM builds ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            for row in rows {
                let (id, name, hash, source) = row?;
                report.builds_checked += 1;
                by_artifact
                    .entry(hash)
                    .or_default()
                    .push((id, name, source));
            }
        }
        for (hash, builds) in &by_artifact {
            report.artifacts_checked += 1;
            let state = match self.store.state(hash) {
                Ok(s) => s,
                Err(e) => {
                    for (id, name, _) in builds {
                        push(
                            Severity::Error,
                            "corrupt_artifact",
                            id.clone(),
                            format!("build {id} ({name}): {e}"),
                            None,
                        );
                    }
                    continue;
                }
            };
            let (kind, what) = match &state {
                ArtifactState::Ok => continue,
                ArtifactState::Missing => ("missing_artifact", "is missing".to_string()),
                ArtifactState::Corrupt { actual } => (
                    "corrupt_artifact",
                    format!("is corrupted (expected sha256 {hash}, found {actual})"),
                ),
            };
            let restorable = builds
                .iter()
                .find(|(_, _, source)| source_matches(Path::new(source), hash));
            for (id, name, _) in builds {
                push(
                    Severity::Error,
                    kind,
                    id.clone(),
                    format!(
                        "build {id} ({name}): artifact {} {what}",
                        self.store.path(hash)?.display()
                    ),
                    restorable.map(|(_, _, s)| {
                        format!("restore it from {s}, which still has the recorded content")
                    }),
                );
            }
        }

        let referenced: HashSet<&str> = by_artifact.keys().map(String::as_str).collect();
        for (name, path) in self.store.entries()? {
            if !referenced.contains(name.as_str()) {
                push(
                    Severity::Warning,
                    "orphan_artifact",
                    path.display().to_string(),
                    "artifact no build refers to (an import interrupted after storing it, or \
                     one running now)"
                        .into(),
                    older_than_grace(&path).then(|| "remove it".to_string()),
                );
            }
        }
        for path in self.store.temp_entries()? {
            push(
                Severity::Warning,
                "temporary_file",
                path.display().to_string(),
                "leftover of an interrupted write (never visible as an artifact)".into(),
                older_than_grace(&path).then(|| "remove it".to_string()),
            );
        }

        report.benchmarks_checked = self.counts()?.1;
        for (id, build) in self.damaged_benchmarks()? {
            push(
                Severity::Error,
                "damaged_samples",
                format!("benchmark {id}"),
                format!("benchmark {id} of build {build}: raw samples do not decode"),
                None,
            );
        }

        for path in [self.layout.budget(), self.layout.config()] {
            let result = if path == self.layout.budget() {
                Budget::load(&path).map(|_| ())
            } else {
                CiConfig::load(&path).map(|_| ())
            };
            if let Err(e) = result {
                push(
                    Severity::Error,
                    "bad_file",
                    path.display().to_string(),
                    e.to_string(),
                    None,
                );
            }
        }
        report.problems = problems;
        Ok(report)
    }

    /// Fix what `report` marked repairable. Damaged artifacts are moved to
    /// `artifacts/corrupt/` before being restored, never deleted.
    pub fn repair(&self, report: &VerifyReport) -> Result<RepairOutcome> {
        let mut out = RepairOutcome::default();
        let mut restored: HashSet<String> = HashSet::new();
        for p in &report.problems {
            if p.repair.is_none() {
                out.not_repaired.push(p.message.clone());
                continue;
            }
            let result: Result<String> = match p.kind.as_str() {
                "orphan_artifact" | "temporary_file" => {
                    let path = Path::new(&p.subject);
                    self.store
                        .remove(path)
                        .map(|()| format!("removed {}", path.display()))
                }
                "corrupt_artifact" | "missing_artifact" => self.restore(&p.subject, &mut restored),
                _ => Ok(String::new()),
            };
            match result {
                Ok(msg) if !msg.is_empty() => out.repaired.push(msg),
                Ok(_) => {}
                Err(e) => out.not_repaired.push(format!("{}: {e}", p.subject)),
            }
        }
        Ok(out)
    }

    fn restore(&self, build_id: &str, done: &mut HashSet<String>) -> Result<String> {
        let Some(build) = self.build(build_id)? else {
            return Ok(String::new());
        };
        if !done.insert(build.artifact_hash.clone()) {
            return Ok(format!("build {build_id}: artifact restored"));
        }
        if let ArtifactState::Corrupt { .. } = self.store.state(&build.artifact_hash)? {
            self.store.quarantine(&build.artifact_hash)?;
        }
        let stored = self.store.put(Path::new(&build.source_path))?;
        if stored.hash != build.artifact_hash {
            return Err(crate::RegistryError::invalid(
                "source",
                build.source_path,
                "changed while repairing; re-import the model",
            ));
        }
        Ok(format!(
            "build {build_id}: artifact restored from {}",
            build.source_path
        ))
    }
}

/// Whether the file a build was imported from still has the stored artifact's content.
fn source_matches(source: &Path, hash: &str) -> bool {
    source.exists() && mlgate_ir::content_hash(source).is_ok_and(|h| h == hash)
}
