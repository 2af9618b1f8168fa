//! The committed workspace files: `budget.toml` (absolute performance limits) and
//! `config.toml` (`[ci]` thresholds, `[ci.accuracy]`). Every limit in force is resolved with
//! one rule — a CLI flag beats the file, the file beats nothing — and carries where it came
//! from, so a failed check can say "limit 10 ms from .mlgate/budget.toml".
//!
//! Unknown keys are errors: a typo such as `max_latncy_ms` must not silently disable a gate.

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};

/// The four budget constraints. Sizes and memory are in MB (10^6 bytes).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    MaxLatencyMs,
    MaxP95Ms,
    MaxMemoryMb,
    MaxSizeMb,
}

impl Constraint {
    pub const ALL: [Constraint; 4] = [
        Constraint::MaxLatencyMs,
        Constraint::MaxP95Ms,
        Constraint::MaxMemoryMb,
        Constraint::MaxSizeMb,
    ];

    /// The key in `budget.toml`.
    pub fn key(self) -> &'static str {
        match self {
            Constraint::MaxLatencyMs => "max_latency_ms",
            Constraint::MaxP95Ms => "max_p95_ms",
            Constraint::MaxMemoryMb => "max_memory_mb",
            Constraint::MaxSizeMb => "max_size_mb",
        }
    }

    /// The CLI flag, without dashes.
    pub fn flag(self) -> &'static str {
        match self {
            Constraint::MaxLatencyMs => "max-latency",
            Constraint::MaxP95Ms => "max-p95",
            Constraint::MaxMemoryMb => "max-memory",
            Constraint::MaxSizeMb => "max-size",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Constraint::MaxLatencyMs => "max latency (p50)",
            Constraint::MaxP95Ms => "max latency (p95)",
            Constraint::MaxMemoryMb => "max memory",
            Constraint::MaxSizeMb => "max size",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Constraint::MaxLatencyMs | Constraint::MaxP95Ms => "ms",
            Constraint::MaxMemoryMb | Constraint::MaxSizeMb => "MB",
        }
    }

    /// Accepts the flag (`max-latency`), the file key (`max_latency_ms`) or the short word
    /// (`latency`, `p95`, `memory`, `size`).
    pub fn parse(text: &str) -> Result<Constraint> {
        let t = text.trim().to_ascii_lowercase().replace('-', "_");
        let t = t.trim_start_matches("max_");
        let found = match t {
            "latency" | "latency_ms" | "p50" | "p50_ms" => Constraint::MaxLatencyMs,
            "p95" | "p95_ms" => Constraint::MaxP95Ms,
            "memory" | "memory_mb" => Constraint::MaxMemoryMb,
            "size" | "size_mb" => Constraint::MaxSizeMb,
            _ => {
                return Err(RegistryError::invalid(
                    "constraint",
                    text,
                    "use max-latency, max-p95, max-memory or max-size",
                ))
            }
        };
        Ok(found)
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// `budget.toml`: absolute limits, each optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_p95_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memory_mb: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_size_mb: Option<f64>,
}

const BUDGET_HEADER: &str = "\
# mlgate performance budget: absolute limits every build must meet.
# Commit this file so the whole team gates on the same numbers. Latencies in ms, sizes and
# memory in MB (10^6 bytes). A CLI flag (--max-latency ...) overrides a value for one run.
";

impl Budget {
    pub fn get(&self, c: Constraint) -> Option<f64> {
        match c {
            Constraint::MaxLatencyMs => self.max_latency_ms,
            Constraint::MaxP95Ms => self.max_p95_ms,
            Constraint::MaxMemoryMb => self.max_memory_mb,
            Constraint::MaxSizeMb => self.max_size_mb,
        }
    }

    pub fn set(&mut self, c: Constraint, value: Option<f64>) {
        let slot = match c {
            Constraint::MaxLatencyMs => &mut self.max_latency_ms,
            Constraint::MaxP95Ms => &mut self.max_p95_ms,
            Constraint::MaxMemoryMb => &mut self.max_memory_mb,
            Constraint::MaxSizeMb => &mut self.max_size_mb,
        };
        *slot = value;
    }

    pub fn is_empty(&self) -> bool {
        Constraint::ALL.iter().all(|c| self.get(*c).is_none())
    }

    /// Every value must be a positive, finite number.
    pub fn check(&self) -> Result<()> {
        for c in Constraint::ALL {
            if let Some(v) = self.get(c) {
                check_positive(c.key(), v)?;
            }
        }
        Ok(())
    }

    /// Read `budget.toml`; a missing file is an empty budget.
    pub fn load(path: &Path) -> Result<Budget> {
        let Some(text) = read_optional(path)? else {
            return Ok(Budget::default());
        };
        let b: Budget = toml::from_str(&text).map_err(|e| RegistryError::BadFile {
            path: path.to_path_buf(),
            message: format!(
                "{}; expected keys max_latency_ms, max_p95_ms, max_memory_mb, max_size_mb",
                e.message()
            ),
        })?;
        b.check().map_err(|e| RegistryError::BadFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(b)
    }

    /// Write `budget.toml` atomically (a concurrent reader sees the old or the new file).
    /// An existing file is edited in place: only the constraints' values change, so the
    /// comments, order and other formatting a team committed stay as they were.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.check()?;
        let text = read_optional(path)?.unwrap_or_else(|| BUDGET_HEADER.to_string());
        let mut doc: toml_edit::DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| RegistryError::BadFile {
                    path: path.to_path_buf(),
                    message: format!("{}; fix or remove the file", e.message()),
                })?;
        for c in Constraint::ALL {
            match self.get(c) {
                Some(v) => match doc.get_mut(c.key()).and_then(|i| i.as_value_mut()) {
                    Some(old) => {
                        // Keep a trailing comment on the line (`max_size_mb = 8  # app store`).
                        let decor = old.decor().clone();
                        *old = toml_edit::Value::from(v);
                        *old.decor_mut() = decor;
                    }
                    None => {
                        doc[c.key()] = toml_edit::value(v);
                        // In a file of comments only (the header, after `budget clear`) they
                        // are the document's trailer, which prints after every key; they
                        // belong above the first one.
                        if doc.len() == 1 {
                            let trailer = doc.trailing().as_str().unwrap_or("").to_string();
                            doc.set_trailing("");
                            if let Some(mut key) = doc.key_mut(c.key()) {
                                key.leaf_decor_mut().set_prefix(trailer);
                            }
                        }
                    }
                },
                None => {
                    doc.remove(c.key());
                }
            }
        }
        crate::store::write_atomic(path, doc.to_string().as_bytes())
    }

    /// The limits in force: each constraint from `flags` if given there, else from the file.
    pub fn resolve(flags: &Budget, file: &Budget, file_path: &Path) -> Vec<Limit> {
        Constraint::ALL
            .iter()
            .filter_map(|&c| {
                pick(flags.get(c), file.get(c), file_path).map(|s| Limit {
                    constraint: c,
                    value: s.value,
                    source: s.source,
                })
            })
            .collect()
    }
}

/// Where a limit came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LimitSource {
    /// A command-line flag of this run.
    Flag,
    /// A workspace file (`budget.toml`, `config.toml`).
    File { path: PathBuf },
    /// mlgate's default, because neither a flag nor a file set it.
    Default,
}

impl fmt::Display for LimitSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitSource::Flag => f.write_str("flag"),
            LimitSource::Default => f.write_str("default"),
            LimitSource::File { path } => write!(
                f,
                "{}",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string())
            ),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sourced<T> {
    pub value: T,
    pub source: LimitSource,
}

/// A budget constraint in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Limit {
    pub constraint: Constraint,
    pub value: f64,
    pub source: LimitSource,
}

/// The merge rule: a flag beats the file, the file beats nothing.
pub fn pick<T>(flag: Option<T>, file: Option<T>, file_path: &Path) -> Option<Sourced<T>> {
    match (flag, file) {
        (Some(v), _) => Some(Sourced {
            value: v,
            source: LimitSource::Flag,
        }),
        (None, Some(v)) => Some(Sourced {
            value: v,
            source: LimitSource::File {
                path: file_path.to_path_buf(),
            },
        }),
        (None, None) => None,
    }
}

/// `config.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiConfig {
    #[serde(default)]
    pub ci: CiSection,
    /// `[remote.NAME]`: where `push`, `pull` and `sync` go (see `crate::remote`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub remote: std::collections::BTreeMap<String, crate::remote::RemoteSpec>,
}

/// `[ci]`: relative regression thresholds and absolute budgets for the CI gate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiSection {
    pub latency_regression_pct: Option<f64>,
    pub size_regression_pct: Option<f64>,
    /// Relative growth of the peak memory a model adds; not gated unless set.
    pub memory_regression_pct: Option<f64>,
    /// The latency statistic gated: p50 (default), p90, p95, p99 or mean.
    pub metric: Option<String>,
    pub latency_budget_ms: Option<f64>,
    pub size_budget_mb: Option<f64>,
    #[serde(default)]
    pub accuracy: AccuracySection,
}

/// `[ci.accuracy]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccuracySection {
    pub cosine_threshold: Option<f64>,
    pub top1_threshold: Option<f64>,
}

/// The `[ci]` settings in force for one run, each with its source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResolvedCi {
    pub latency_regression_pct: Option<Sourced<f64>>,
    pub size_regression_pct: Option<Sourced<f64>>,
    pub memory_regression_pct: Option<Sourced<f64>>,
    pub metric: Option<Sourced<String>>,
    pub latency_budget_ms: Option<Sourced<f64>>,
    pub size_budget_mb: Option<Sourced<f64>>,
    pub cosine_threshold: Option<Sourced<f64>>,
    pub top1_threshold: Option<Sourced<f64>>,
}

impl CiConfig {
    /// Read `config.toml`; a missing file is the empty configuration.
    pub fn load(path: &Path) -> Result<CiConfig> {
        let Some(text) = read_optional(path)? else {
            return Ok(CiConfig::default());
        };
        let c: CiConfig = toml::from_str(&text).map_err(|e| RegistryError::BadFile {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        crate::remote::config::check_all(&c.remote, path)?;
        let s = &c.ci;
        let checks = [
            ("ci.latency_regression_pct", s.latency_regression_pct),
            ("ci.size_regression_pct", s.size_regression_pct),
            ("ci.memory_regression_pct", s.memory_regression_pct),
            ("ci.latency_budget_ms", s.latency_budget_ms),
            ("ci.size_budget_mb", s.size_budget_mb),
        ];
        for (key, v) in checks {
            if let Some(v) = v {
                check_positive(key, v).map_err(|e| RegistryError::BadFile {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
            }
        }
        for (key, v) in [
            ("ci.accuracy.cosine_threshold", s.accuracy.cosine_threshold),
            ("ci.accuracy.top1_threshold", s.accuracy.top1_threshold),
        ] {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    return Err(RegistryError::BadFile {
                        path: path.to_path_buf(),
                        message: format!("{key} = {v}: must be between 0 and 1"),
                    });
                }
            }
        }
        Ok(c)
    }

    /// The settings in force: `flags` (what the command line gave, in the same shape) over
    /// this file.
    pub fn resolve(&self, flags: &CiSection, file_path: &Path) -> ResolvedCi {
        let f = &self.ci;
        ResolvedCi {
            latency_regression_pct: pick(
                flags.latency_regression_pct,
                f.latency_regression_pct,
                file_path,
            ),
            size_regression_pct: pick(flags.size_regression_pct, f.size_regression_pct, file_path),
            memory_regression_pct: pick(
                flags.memory_regression_pct,
                f.memory_regression_pct,
                file_path,
            ),
            metric: pick(flags.metric.clone(), f.metric.clone(), file_path),
            latency_budget_ms: pick(flags.latency_budget_ms, f.latency_budget_ms, file_path),
            size_budget_mb: pick(flags.size_budget_mb, f.size_budget_mb, file_path),
            cosine_threshold: pick(
                flags.accuracy.cosine_threshold,
                f.accuracy.cosine_threshold,
                file_path,
            ),
            top1_threshold: pick(
                flags.accuracy.top1_threshold,
                f.accuracy.top1_threshold,
                file_path,
            ),
        }
    }
}

fn check_positive(key: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(RegistryError::invalid(
            "limit",
            format!("{key} = {v}"),
            "must be a positive number",
        ))
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RegistryError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.toml");
        let file = Budget {
            max_latency_ms: Some(10.0),
            max_size_mb: Some(8.0),
            ..Budget::default()
        };
        file.save(&path).unwrap();
        let loaded = Budget::load(&path).unwrap();
        assert_eq!(loaded, file);
        let flags = Budget {
            max_latency_ms: Some(3.0),
            ..Budget::default()
        };
        let limits = Budget::resolve(&flags, &loaded, &path);
        assert_eq!(limits.len(), 2);
        assert_eq!(limits[0].constraint, Constraint::MaxLatencyMs);
        assert_eq!(limits[0].value, 3.0);
        assert_eq!(limits[0].source, LimitSource::Flag);
        assert_eq!(limits[1].constraint, Constraint::MaxSizeMb);
        assert_eq!(limits[1].source.to_string(), "budget.toml");
    }

    #[test]
    fn saving_keeps_comments_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.toml");
        let committed = "# Team budget, agreed 2024-05.\n\
                         # Size first: the app store limit.\n\
                         max_size_mb = 8.0  # store limit\n\
                         \n\
                         # p50 on the mid-range phone\n\
                         max_latency_ms = 10.0\n\
                         max_p95_ms = 20.0\n";
        std::fs::write(&path, committed).unwrap();
        let mut budget = Budget::load(&path).unwrap();
        budget.set(Constraint::MaxLatencyMs, Some(12.5));
        budget.set(Constraint::MaxP95Ms, None);
        budget.set(Constraint::MaxMemoryMb, Some(300.0));
        budget.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "# Team budget, agreed 2024-05.\n\
             # Size first: the app store limit.\n\
             max_size_mb = 8.0  # store limit\n\
             \n\
             # p50 on the mid-range phone\n\
             max_latency_ms = 12.5\n\
             max_memory_mb = 300.0\n"
        );
        assert_eq!(Budget::load(&path).unwrap(), budget);
    }

    #[test]
    fn a_new_budget_file_explains_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.toml");
        let budget = Budget {
            max_latency_ms: Some(10.0),
            ..Budget::default()
        };
        budget.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{BUDGET_HEADER}max_latency_ms = 10.0\n"));
    }

    #[test]
    fn typos_and_bad_values_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.toml");
        std::fs::write(&path, "max_latncy_ms = 3\n").unwrap();
        let err = Budget::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("budget.toml") && err.contains("max_latncy_ms"),
            "{err}"
        );
        std::fs::write(&path, "max_size_mb = -1\n").unwrap();
        assert!(Budget::load(&path).is_err());
        assert_eq!(
            Budget::load(&dir.path().join("none.toml")).unwrap(),
            Budget::default()
        );
    }

    #[test]
    fn ci_config_reads_sections_and_merges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[ci]\nlatency_regression_pct = 10\nsize_regression_pct = 5\n\n[ci.accuracy]\ncosine_threshold = 0.99\n",
        )
        .unwrap();
        let c = CiConfig::load(&path).unwrap();
        let flags = CiSection {
            latency_regression_pct: Some(15.0),
            ..CiSection::default()
        };
        let r = c.resolve(&flags, &path);
        assert_eq!(r.latency_regression_pct.unwrap().source, LimitSource::Flag);
        let size = r.size_regression_pct.unwrap();
        assert_eq!(size.value, 5.0);
        assert!(matches!(size.source, LimitSource::File { .. }));
        assert_eq!(r.cosine_threshold.unwrap().value, 0.99);
        assert!(r.top1_threshold.is_none());
    }

    #[test]
    fn constraint_names() {
        assert_eq!(
            Constraint::parse("max-latency").unwrap(),
            Constraint::MaxLatencyMs
        );
        assert_eq!(
            Constraint::parse("max_size_mb").unwrap(),
            Constraint::MaxSizeMb
        );
        assert_eq!(Constraint::parse("p95").unwrap(), Constraint::MaxP95Ms);
        assert!(Constraint::parse("speed").is_err());
    }
}
