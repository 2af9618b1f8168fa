//! Builds: one registered model artifact with how it was made, and its lineage.

use std::path::PathBuf;

use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension, Row};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::benchmarks::LatestMetric;
use crate::error::{RegistryError, Result};
use crate::store::{ArtifactKind, StoredArtifact};
use crate::Registry;

/// Version of the build-id recipe. Part of every id, so a future change to what goes into
/// an id can never collide with ids made the old way. Deliberately not the database schema
/// version: migrating a database must not change the ids people have in their CI configs.
pub const BUILD_ID_SCHEME: &str = "mlgate.build/v1";

/// What made a build, besides its source: the part of the id that is not the model's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildConfig {
    pub format: String,
    pub target: String,
    /// Optimization method (`fp16`, `int8_static`, `prune_0.50`), or what an imported
    /// model already is (`--quantize`).
    pub method: Option<String>,
    pub parent_id: Option<String>,
}

impl BuildConfig {
    /// sha256 of the configuration's canonical JSON (fixed field order, no whitespace).
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(json))
    }
}

/// A build's id: sha256 over the id scheme, the source hash and the configuration hash.
/// Deterministic — never a time, a random seed or a path — so the same model registered the
/// same way is the same build on every machine.
pub fn build_id(source_hash: &str, config_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(BUILD_ID_SCHEME.as_bytes());
    h.update([0]);
    h.update(source_hash.as_bytes());
    h.update([0]);
    h.update(config_hash.as_bytes());
    hex::encode(h.finalize())
}

/// A method as people read it: `prune_0.50` → `prune(0.50)`, `int8_static` →
/// `int8(static)`, `fp16` → `fp16`; no method → `original`.
pub fn method_label(method: Option<&str>) -> String {
    match method {
        None | Some("") => "original".to_string(),
        Some(m) => match m.split_once('_') {
            Some((head, tail)) if !head.is_empty() && !tail.is_empty() => {
                format!("{head}({})", tail.replace('_', ","))
            }
            _ => m.to_string(),
        },
    }
}

/// A build to register.
#[derive(Debug, Clone)]
pub struct NewBuild {
    pub name: String,
    pub source_path: String,
    /// Content hash of the model the build came from (the imported file; for an optimized
    /// variant, the parent's artifact).
    pub source_hash: String,
    pub artifact: StoredArtifact,
    pub format: String,
    pub target: String,
    pub backend: Option<String>,
    pub task: Option<String>,
    pub method: Option<String>,
    pub parent_id: Option<String>,
    pub imported: bool,
    pub notes: Option<String>,
    /// `None` means now; set when importing history from elsewhere.
    pub created_at: Option<i64>,
}

impl NewBuild {
    pub fn config(&self) -> BuildConfig {
        BuildConfig {
            format: self.format.clone(),
            target: self.target.clone(),
            method: self.method.clone(),
            parent_id: self.parent_id.clone(),
        }
    }

    pub fn id(&self) -> String {
        build_id(&self.source_hash, &self.config().hash())
    }
}

/// A registered build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Build {
    /// 64 hex digits; see [`build_id`].
    pub id: String,
    pub name: String,
    pub source_path: String,
    pub source_hash: String,
    pub artifact_hash: String,
    pub artifact_kind: ArtifactKind,
    pub format: String,
    pub target: String,
    pub backend: Option<String>,
    pub task: Option<String>,
    pub size_bytes: u64,
    pub parent_id: Option<String>,
    /// The first build of this lineage (itself for a root).
    pub root_id: String,
    pub method: Option<String>,
    pub imported: bool,
    pub notes: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    #[schemars(with = "crate::time::Rfc3339")]
    pub created_at: i64,
    pub machine_id: String,
    pub hostname: String,
}

impl Build {
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }
    pub fn method_label(&self) -> String {
        method_label(self.method.as_deref())
    }
}

/// A build with its latest benchmark, as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BuildSummary {
    pub build: Build,
    pub latest: Option<LatestMetric>,
}

/// Which builds `log` shows. Text filters are substrings (case-insensitive); the others
/// match exactly.
#[derive(Debug, Clone, Default)]
pub struct BuildFilter {
    /// Substring of the source path (`mobilenet.onnx`).
    pub source: Option<String>,
    pub name: Option<String>,
    pub format: Option<String>,
    pub task: Option<String>,
    pub target: Option<String>,
    /// Unix ms, inclusive.
    pub since: Option<i64>,
    /// Unix ms, exclusive.
    pub until: Option<i64>,
    pub roots_only: bool,
    /// Most recent first; `None` for all. For a lineage, the number of trees.
    pub limit: Option<usize>,
}

pub(crate) const BUILD_COLS: &str = "b.id, b.name, b.source_path, b.source_hash, \
    b.artifact_hash, b.artifact_kind, b.format, b.target, b.backend, b.task, b.size_bytes, \
    b.parent_id, b.root_id, b.method, b.imported, b.notes, b.created_at, b.machine_id, \
    b.hostname";

/// The latest benchmark of `b`, joined in one pass (the index on (build_id, created_at)
/// makes it one lookup per build).
const LATEST_JOIN: &str = "LEFT JOIN benchmarks m ON m.id = (SELECT id FROM benchmarks \
    WHERE build_id = b.id ORDER BY created_at DESC, id DESC LIMIT 1)";
const LATEST_COLS: &str = "m.id, m.backend, m.p50_ms, m.p95_ms, m.memory_mb, m.n, m.created_at";

pub(crate) fn build_from_row(r: &Row<'_>) -> rusqlite::Result<Build> {
    Ok(Build {
        id: r.get(0)?,
        name: r.get(1)?,
        source_path: r.get(2)?,
        source_hash: r.get(3)?,
        artifact_hash: r.get(4)?,
        artifact_kind: ArtifactKind::parse(&r.get::<_, String>(5)?),
        format: r.get(6)?,
        target: r.get(7)?,
        backend: r.get(8)?,
        task: r.get(9)?,
        size_bytes: r.get::<_, i64>(10)? as u64,
        parent_id: r.get(11)?,
        root_id: r.get(12)?,
        method: r.get(13)?,
        imported: r.get(14)?,
        notes: r.get(15)?,
        created_at: r.get(16)?,
        machine_id: r.get(17)?,
        hostname: r.get(18)?,
    })
}

fn summary_from_row(r: &Row<'_>) -> rusqlite::Result<BuildSummary> {
    let build = build_from_row(r)?;
    let latest = match r.get::<_, Option<i64>>(19)? {
        None => None,
        Some(id) => Some(LatestMetric {
            benchmark_id: id,
            backend: r.get(20)?,
            p50_ms: r.get(21)?,
            p95_ms: r.get(22)?,
            memory_mb: r.get(23)?,
            n: r.get::<_, i64>(24)? as u64,
            created_at: r.get(25)?,
        }),
    };
    Ok(BuildSummary { build, latest })
}

/// Names are shown in tables and logs: anything printable is fine (they are data, never
/// SQL or shell), but a newline or escape sequence would forge output lines.
pub(crate) fn check_text(what: &'static str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(RegistryError::invalid(what, value, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(RegistryError::invalid(
            what,
            value,
            format!("at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(RegistryError::invalid(
            what,
            value.escape_debug().to_string(),
            "control characters (newlines, escapes) are not allowed",
        ));
    }
    Ok(())
}

impl Registry {
    /// Register a build whose artifact is already in the store. Returns the build and
    /// whether it is new; registering the same build again returns the existing one.
    pub fn insert_build(&mut self, new: NewBuild) -> Result<(Build, bool)> {
        let mut out = self.insert_builds(vec![new])?;
        Ok(out.remove(0))
    }

    /// Register several builds in one transaction (a parent may precede its children).
    pub fn insert_builds(&mut self, news: Vec<NewBuild>) -> Result<Vec<(Build, bool)>> {
        for new in &news {
            check_text("build name", &new.name, 256)?;
            check_text("target", &new.target, 64)?;
            if let Some(notes) = &new.notes {
                if notes.chars().count() > 4096 {
                    return Err(RegistryError::invalid(
                        "notes",
                        notes.chars().take(40).collect::<String>(),
                        "at most 4096 characters",
                    ));
                }
            }
        }
        // The artifact must be in place before a row may point at it.
        for new in &news {
            let path = self.store.path(&new.artifact.hash)?;
            if std::fs::symlink_metadata(&path).is_err() {
                return Err(RegistryError::MissingArtifact {
                    build: new.id(),
                    path,
                });
            }
        }
        let machine = self.machine.clone();
        let now = crate::time::now_ms();
        let tx = self.write_tx()?;
        let mut out = Vec::with_capacity(news.len());
        {
            let mut parent_root = tx.prepare_cached("SELECT root_id FROM builds WHERE id = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO builds (id, name, source_path, source_hash, artifact_hash, \
                 artifact_kind, format, target, backend, task, size_bytes, parent_id, root_id, \
                 method, imported, notes, created_at, machine_id, hostname) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                 ?17, ?18, ?19) ON CONFLICT(id) DO NOTHING",
            )?;
            let mut select = tx.prepare_cached(&format!(
                "SELECT {BUILD_COLS} FROM builds b WHERE b.id = ?1"
            ))?;
            for new in news {
                let id = new.id();
                let root_id = match &new.parent_id {
                    None => id.clone(),
                    Some(parent) => parent_root
                        .query_row([parent], |r| r.get::<_, String>(0))
                        .optional()?
                        .ok_or_else(|| RegistryError::UnknownBuild {
                            reference: parent.clone(),
                        })?,
                };
                let inserted = insert.execute(params![
                    id,
                    new.name,
                    new.source_path,
                    new.source_hash,
                    new.artifact.hash,
                    new.artifact.kind.as_str(),
                    new.format,
                    new.target,
                    new.backend,
                    new.task,
                    new.artifact.size as i64,
                    new.parent_id,
                    root_id,
                    new.method,
                    new.imported,
                    new.notes,
                    new.created_at.unwrap_or(now),
                    machine.id,
                    machine.hostname,
                ])? == 1;
                crate::hook::pause("build-inserted");
                let build = select.query_row([&id], build_from_row)?;
                out.push((build, inserted));
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// The build with exactly this id.
    pub fn build(&self, id: &str) -> Result<Option<Build>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {BUILD_COLS} FROM builds b WHERE b.id = ?1"
            ))?
            .query_row([id], build_from_row)
            .optional()?)
    }

    /// A build from what a person typed: a tag, a full id, or a unique id prefix of at least
    /// 4 hex digits. Tags win over prefixes, so a tag named `cafe` is never shadowed.
    pub fn resolve(&self, reference: &str) -> Result<Build> {
        let r = reference.trim();
        if r.is_empty() {
            return Err(RegistryError::invalid(
                "build reference",
                reference,
                "pass a tag, a build id or an id prefix of at least 4 characters",
            ));
        }
        if let Some(tag) = self.tag(r)? {
            return self
                .build(&tag.build_id)?
                .ok_or_else(|| RegistryError::UnknownBuild {
                    reference: r.to_string(),
                });
        }
        let lower = r.to_ascii_lowercase();
        let is_hex = lower.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_hex {
            return Err(RegistryError::UnknownBuild {
                reference: r.to_string(),
            });
        }
        if lower.len() < 4 {
            return Err(RegistryError::invalid(
                "build id prefix",
                r,
                "use at least 4 characters of the id (`mlgate log` shows ids)",
            ));
        }
        if lower.len() == 64 {
            return self
                .build(&lower)?
                .ok_or_else(|| RegistryError::UnknownBuild {
                    reference: r.to_string(),
                });
        }
        // Ids are lowercase hex, so every id starting with the prefix sorts between the
        // prefix and the prefix followed by 'g': a range scan on the primary key.
        let upper = format!("{lower}g");
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name FROM builds WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 11",
        )?;
        let rows: Vec<(String, String)> = stmt
            .query_map([&lower, &upper], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        match rows.len() {
            0 => Err(RegistryError::UnknownBuild {
                reference: r.to_string(),
            }),
            1 => self
                .build(&rows[0].0)?
                .ok_or_else(|| RegistryError::UnknownBuild {
                    reference: r.to_string(),
                }),
            _ => {
                let mut candidates: Vec<String> = rows
                    .iter()
                    .take(10)
                    .map(|(id, name)| format!("{} {name}", &id[..16]))
                    .collect();
                if rows.len() > 10 {
                    candidates.push("…".into());
                }
                Err(RegistryError::AmbiguousBuild {
                    reference: r.to_string(),
                    candidates,
                })
            }
        }
    }

    /// Builds matching `filter`, newest first, each with its latest benchmark.
    pub fn builds(&self, filter: &BuildFilter) -> Result<Vec<BuildSummary>> {
        let (where_sql, mut values) = filter_sql(filter);
        // Pinned to the listing index: with a small LIMIT, SQLite's cost model otherwise
        // sometimes prefers a full scan and sort (seconds at 100,000 builds, not ms).
        let mut sql = format!(
            "SELECT {BUILD_COLS}, {LATEST_COLS} FROM builds b INDEXED BY builds_listing \
             {LATEST_JOIN} {where_sql} ORDER BY b.created_at DESC, b.id"
        );
        if let Some(limit) = filter.limit {
            sql.push_str(" LIMIT ?");
            values.push(Value::Integer(limit as i64));
        }
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), summary_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every build of the lineages (trees) that contain a build matching `filter`, oldest
    /// first within a tree, trees newest first. `filter.limit` bounds the number of trees.
    pub fn lineage(&self, filter: &BuildFilter) -> Result<Vec<BuildSummary>> {
        // Newest matching builds first, keeping each root once, until `limit` trees: a
        // walk down `builds_listing` that stops early (a GROUP BY would make SQLite visit
        // every build through the root index instead).
        let (where_sql, values) = filter_sql(filter);
        let sql = format!(
            "SELECT b.root_id FROM builds b INDEXED BY builds_listing {where_sql} \
             ORDER BY b.created_at DESC"
        );
        let mut roots: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        {
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
            while let Some(row) = rows.next()? {
                let root: String = row.get(0)?;
                if seen.insert(root.clone()) {
                    roots.push(root);
                    if filter.limit.is_some_and(|l| roots.len() >= l) {
                        break;
                    }
                }
            }
        }
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {BUILD_COLS}, {LATEST_COLS} FROM builds b {LATEST_JOIN} \
             WHERE b.root_id = ?1 ORDER BY b.created_at, b.id"
        ))?;
        let mut out = Vec::new();
        for root in roots {
            let rows = stmt.query_map([&root], summary_from_row)?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    /// Every build of the lineage tree whose root is `root_id` (parents before children,
    /// oldest first), with their latest benchmarks; empty for an unknown root.
    pub fn tree(&self, root_id: &str) -> Result<Vec<BuildSummary>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {BUILD_COLS}, {LATEST_COLS} FROM builds b {LATEST_JOIN} \
             WHERE b.root_id = ?1 ORDER BY b.created_at, b.id"
        ))?;
        let rows = stmt
            .query_map([root_id], summary_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Builds derived directly from `id`.
    pub fn children(&self, id: &str) -> Result<Vec<Build>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {BUILD_COLS} FROM builds b WHERE b.parent_id = ?1 ORDER BY b.created_at, b.id"
        ))?;
        let rows = stmt
            .query_map([id], build_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The artifact of a build, after checking its bytes against its hash.
    pub fn verified_artifact(&self, build: &Build) -> Result<PathBuf> {
        self.store.verified_path(&build.artifact_hash, &build.id)
    }
}

/// `WHERE` clause for a filter. The SQL text is fixed fragments only; every value the user
/// typed travels as a bound parameter.
fn filter_sql(f: &BuildFilter) -> (String, Vec<Value>) {
    let mut clauses: Vec<&str> = Vec::new();
    let mut values = Vec::new();
    if let Some(s) = &f.source {
        clauses.push("b.source_path LIKE ? ESCAPE '\\'");
        values.push(Value::Text(like_pattern(s)));
    }
    if let Some(s) = &f.name {
        clauses.push("b.name LIKE ? ESCAPE '\\'");
        values.push(Value::Text(like_pattern(s)));
    }
    if let Some(s) = &f.format {
        clauses.push("b.format = ?");
        values.push(Value::Text(s.to_ascii_lowercase()));
    }
    if let Some(s) = &f.task {
        clauses.push("b.task = ?");
        values.push(Value::Text(s.to_ascii_lowercase()));
    }
    if let Some(s) = &f.target {
        clauses.push("b.target = ?");
        values.push(Value::Text(s.clone()));
    }
    if let Some(t) = f.since {
        clauses.push("b.created_at >= ?");
        values.push(Value::Integer(t));
    }
    if let Some(t) = f.until {
        clauses.push("b.created_at < ?");
        values.push(Value::Integer(t));
    }
    if f.roots_only {
        clauses.push("b.parent_id IS NULL");
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, values)
}

/// `%text%` with LIKE's wildcards in the text escaped, so `_` and `%` match themselves.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_depend_on_config() {
        let cfg = BuildConfig {
            format: "onnx".into(),
            target: "onnxruntime_cpu".into(),
            method: None,
            parent_id: None,
        };
        let a = build_id("abc", &cfg.hash());
        assert_eq!(a, build_id("abc", &cfg.hash()));
        assert_eq!(a.len(), 64);
        let other = BuildConfig {
            method: Some("fp16".into()),
            ..cfg.clone()
        };
        assert_ne!(a, build_id("abc", &other.hash()));
        assert_ne!(a, build_id("abd", &cfg.hash()));
    }

    #[test]
    fn method_labels_read_well() {
        assert_eq!(method_label(Some("prune_0.50")), "prune(0.50)");
        assert_eq!(method_label(Some("int8_static")), "int8(static)");
        assert_eq!(method_label(Some("fp16")), "fp16");
        assert_eq!(method_label(None), "original");
    }

    fn registry_with(n: usize) -> (tempfile::TempDir, Registry, Vec<Build>) {
        let dir = tempfile::tempdir().unwrap();
        let (mut reg, created) = Registry::open(&dir.path().join(".mlgate"), true).unwrap();
        assert!(created);
        let model = dir.path().join("m.onnx");
        std::fs::write(&model, b"bytes").unwrap();
        let artifact = reg.store().put(&model).unwrap();
        let news = (0..n)
            .map(|i| NewBuild {
                name: format!("model_{i}"),
                source_path: format!("/m/model_{i}.onnx"),
                source_hash: format!("{i:064x}"),
                artifact: artifact.clone(),
                format: "onnx".into(),
                target: "onnxruntime_cpu".into(),
                backend: None,
                task: None,
                method: None,
                parent_id: None,
                imported: true,
                notes: None,
                created_at: Some(i as i64),
            })
            .collect();
        let builds = reg
            .insert_builds(news)
            .unwrap()
            .into_iter()
            .map(|(b, inserted)| {
                assert!(inserted);
                b
            })
            .collect();
        (dir, reg, builds)
    }

    #[test]
    fn references_resolve_by_tag_id_and_unique_prefix() {
        // 1000 deterministic ids: some share a 4-digit prefix, which must be reported.
        let (_dir, mut reg, builds) = registry_with(1000);
        let b = &builds[7];
        assert_eq!(reg.resolve(&b.id).unwrap().id, b.id);
        assert_eq!(reg.resolve(&b.id[..20].to_uppercase()).unwrap().id, b.id);
        let mut by_prefix: std::collections::HashMap<&str, Vec<&Build>> = Default::default();
        for b in &builds {
            by_prefix.entry(&b.id[..4]).or_default().push(b);
        }
        let (prefix, shared) = by_prefix.iter().find(|(_, v)| v.len() > 1).unwrap();
        match reg.resolve(prefix).unwrap_err() {
            RegistryError::AmbiguousBuild { candidates, .. } => {
                assert_eq!(candidates.len(), shared.len());
                for s in shared {
                    assert!(candidates.iter().any(|c| s.id.starts_with(&c[..16])));
                }
            }
            e => panic!("{e}"),
        }
        assert!(matches!(
            reg.resolve("abc").unwrap_err(),
            RegistryError::Invalid { .. }
        ));
        // A tag wins over an id prefix that spells the same.
        reg.set_tag(prefix, &b.id, false, false).unwrap();
        assert_eq!(reg.resolve(prefix).unwrap().id, b.id);
    }

    #[test]
    fn lineage_and_tag_history() {
        let (_dir, mut reg, builds) = registry_with(2);
        let root = &builds[0];
        let child = NewBuild {
            name: "child".into(),
            source_path: root.source_path.clone(),
            source_hash: root.artifact_hash.clone(),
            artifact: crate::StoredArtifact {
                hash: root.artifact_hash.clone(),
                kind: ArtifactKind::File,
                size: 5,
            },
            format: "onnx".into(),
            target: "onnxruntime_cpu".into(),
            backend: None,
            task: None,
            method: Some("prune_0.50".into()),
            parent_id: Some(root.id.clone()),
            imported: false,
            notes: None,
            created_at: Some(10),
        };
        let grandchild = NewBuild {
            name: "grandchild".into(),
            method: Some("int8".into()),
            parent_id: Some(child.id()),
            created_at: Some(11),
            ..child.clone()
        };
        let out = reg.insert_builds(vec![child, grandchild]).unwrap();
        assert_eq!(out[1].0.root_id, root.id);
        let tree = reg
            .lineage(&BuildFilter {
                name: Some("grandchild".into()),
                ..BuildFilter::default()
            })
            .unwrap();
        let names: Vec<&str> = tree.iter().map(|s| s.build.name.as_str()).collect();
        assert_eq!(names, ["model_0", "child", "grandchild"]);
        // The same tree, asked for by its root; another root's tree is its own.
        let by_root: Vec<String> = reg
            .tree(&root.id)
            .unwrap()
            .into_iter()
            .map(|s| s.build.name)
            .collect();
        assert_eq!(by_root, ["model_0", "child", "grandchild"]);
        assert_eq!(reg.tree(&builds[1].id).unwrap().len(), 1);
        assert!(reg.tree("no-such-root").unwrap().is_empty());
        // Accuracy checks are found from either side, once each.
        let check = crate::AccuracyCheck {
            baseline_build_id: root.id.clone(),
            candidate_build_id: out[1].0.id.clone(),
            passed: true,
            metrics: serde_json::json!([{"output": "y"}]),
            settings: serde_json::json!({"samples": 4}),
        };
        let id = reg.record_accuracy_check(&check).unwrap();
        let found = reg
            .accuracy_checks(&[root.id.clone(), out[1].0.id.clone()])
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].id, &found[0].check), (id, &check));
        assert!(reg
            .accuracy_checks(&[builds[1].id.clone()])
            .unwrap()
            .is_empty());
        let roots = reg
            .builds(&BuildFilter {
                roots_only: true,
                ..BuildFilter::default()
            })
            .unwrap();
        assert_eq!(roots.len(), 2);

        reg.set_tag("main", &root.id, false, false).unwrap();
        assert!(matches!(
            reg.set_tag("main", &builds[1].id, false, false),
            Err(RegistryError::TagExists { .. })
        ));
        let moved = reg.set_tag("main", &builds[1].id, true, false).unwrap();
        assert_eq!(moved.previous_build_id.as_deref(), Some(root.id.as_str()));
        reg.delete_tag("main", false).unwrap();
        let events = reg.tag_events(&["main"], &[]).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].build_id, None);
        assert!(reg.set_tag(BASELINE, &root.id, false, false).is_err());
    }

    const BASELINE: &str = crate::BASELINE_TAG;

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(like_pattern("a_b%"), "%a\\_b\\%%");
    }
}
