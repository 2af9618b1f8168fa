//! The limits of one gate run and where each came from.
//!
//! One merge rule for every value: a command-line flag beats `.mlgate/config.toml` `[ci]`,
//! which beats `.mlgate/budget.toml` (for the absolute budgets both can set), which beats
//! mlgate's default. The source travels with the value into every check, so a failure can
//! say "limit 10 ms from budget.toml".

use std::path::Path;

use mlgate_bench::Metric;
use mlgate_registry::{Budget, CiConfig, CiSection, Constraint, Limit, LimitSource, Sourced};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default relative latency threshold, percent (as the reference tool's `ci`).
pub const DEFAULT_LATENCY_REGRESSION_PCT: f64 = 10.0;
/// Default relative size threshold, percent.
pub const DEFAULT_SIZE_REGRESSION_PCT: f64 = 5.0;

/// What the command line said; `None` means "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThresholdFlags {
    pub latency_regression_pct: Option<f64>,
    pub size_regression_pct: Option<f64>,
    pub memory_regression_pct: Option<f64>,
    pub metric: Option<Metric>,
    /// `--strict`: any statistically significant slowdown fails (latency threshold 0).
    pub strict: bool,
    /// `--fail-on-inconclusive`: evidence that cannot decide (an interval straddling the
    /// threshold, a marginal budget) fails instead of passing with a warning.
    pub fail_on_inconclusive: bool,
    /// Absolute budgets given as flags (`--max-latency`, `--latency-budget`, ...).
    pub budget: Budget,
    pub cosine_min: Option<f64>,
    pub top1_min: Option<f64>,
}

/// The limits in force, each with its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Thresholds {
    /// The latency statistic gated (p50 by default).
    pub metric: Sourced<Metric>,
    /// Largest tolerated slowdown of `metric`, percent; 0 under `--strict`.
    pub latency_regression_pct: Sourced<f64>,
    pub size_regression_pct: Sourced<f64>,
    /// Growth of the memory a model adds; `None`: reported, not gated.
    pub memory_regression_pct: Option<Sourced<f64>>,
    /// Absolute budgets in force (`budget.toml`, `[ci]`, flags).
    pub budgets: Vec<Limit>,
    pub cosine_min: Option<Sourced<f64>>,
    pub top1_min: Option<Sourced<f64>>,
    pub strict: bool,
    pub fail_on_inconclusive: bool,
}

/// A threshold or budget value the gate cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ThresholdError {
    #[error("invalid {what} `{value}` (from {origin}): {hint}")]
    Invalid {
        what: String,
        value: String,
        origin: LimitSource,
        hint: String,
    },
}

fn default<T>(value: T) -> Sourced<T> {
    Sourced {
        value,
        source: LimitSource::Default,
    }
}

fn check_pct(name: &str, s: &Sourced<f64>) -> Result<(), ThresholdError> {
    if s.value.is_finite() && s.value >= 0.0 {
        Ok(())
    } else {
        Err(ThresholdError::Invalid {
            what: name.to_string(),
            value: s.value.to_string(),
            origin: s.source.clone(),
            hint: "give a percentage ≥ 0, e.g. 10 for 10%".into(),
        })
    }
}

impl Thresholds {
    /// Defaults only: latency p50 10%, size 5%, nothing else gated.
    pub fn defaults() -> Thresholds {
        Thresholds {
            metric: default(Metric::P50),
            latency_regression_pct: default(DEFAULT_LATENCY_REGRESSION_PCT),
            size_regression_pct: default(DEFAULT_SIZE_REGRESSION_PCT),
            memory_regression_pct: None,
            budgets: Vec::new(),
            cosine_min: None,
            top1_min: None,
            strict: false,
            fail_on_inconclusive: false,
        }
    }

    /// Merges flags, `config.toml` and `budget.toml` (either may be missing: pass the
    /// default value) into the limits of this run.
    pub fn resolve(
        flags: &ThresholdFlags,
        config: &CiConfig,
        config_path: &Path,
        budget: &Budget,
        budget_path: &Path,
    ) -> Result<Thresholds, ThresholdError> {
        let flag_section = CiSection {
            latency_regression_pct: flags.latency_regression_pct,
            size_regression_pct: flags.size_regression_pct,
            memory_regression_pct: flags.memory_regression_pct,
            metric: flags.metric.map(|m| m.name().to_string()),
            latency_budget_ms: flags.budget.max_latency_ms,
            size_budget_mb: flags.budget.max_size_mb,
            accuracy: mlgate_registry::config::AccuracySection {
                cosine_threshold: flags.cosine_min,
                top1_threshold: flags.top1_min,
            },
        };
        let ci = config.resolve(&flag_section, config_path);
        let metric = match ci.metric {
            None => default(Metric::P50),
            Some(s) => Sourced {
                value: s
                    .value
                    .parse::<Metric>()
                    .map_err(|e| ThresholdError::Invalid {
                        what: "metric".into(),
                        value: s.value.clone(),
                        origin: s.source.clone(),
                        hint: e.to_string(),
                    })?,
                source: s.source,
            },
        };
        let latency = if flags.strict {
            Sourced {
                value: 0.0,
                source: LimitSource::Flag,
            }
        } else {
            ci.latency_regression_pct
                .unwrap_or_else(|| default(DEFAULT_LATENCY_REGRESSION_PCT))
        };
        let size = ci
            .size_regression_pct
            .unwrap_or_else(|| default(DEFAULT_SIZE_REGRESSION_PCT));
        check_pct("latency threshold", &latency)?;
        check_pct("size threshold", &size)?;
        if let Some(m) = &ci.memory_regression_pct {
            check_pct("memory threshold", m)?;
        }
        // Budgets: flags first, then `[ci]` (latency and size), then budget.toml.
        let mut budgets = Vec::new();
        for c in Constraint::ALL {
            let from_ci = match c {
                Constraint::MaxLatencyMs => ci.latency_budget_ms.clone(),
                Constraint::MaxSizeMb => ci.size_budget_mb.clone(),
                _ => None,
            };
            let picked = match (flags.budget.get(c), from_ci) {
                (Some(v), _) => Some(Sourced {
                    value: v,
                    source: LimitSource::Flag,
                }),
                (None, Some(s)) => Some(s),
                (None, None) => budget.get(c).map(|v| Sourced {
                    value: v,
                    source: LimitSource::File {
                        path: budget_path.to_path_buf(),
                    },
                }),
            };
            if let Some(s) = picked {
                if !(s.value.is_finite() && s.value > 0.0) {
                    return Err(ThresholdError::Invalid {
                        what: c.description().into(),
                        value: s.value.to_string(),
                        origin: s.source,
                        hint: format!("give a positive number of {}", c.unit()),
                    });
                }
                budgets.push(Limit {
                    constraint: c,
                    value: s.value,
                    source: s.source,
                });
            }
        }
        Ok(Thresholds {
            metric,
            latency_regression_pct: latency,
            size_regression_pct: size,
            memory_regression_pct: ci.memory_regression_pct,
            budgets,
            cosine_min: ci.cosine_threshold,
            top1_min: ci.top1_threshold,
            strict: flags.strict,
            fail_on_inconclusive: flags.fail_on_inconclusive,
        })
    }

    /// The budget on `constraint`, if one is in force.
    pub fn budget(&self, constraint: Constraint) -> Option<&Limit> {
        self.budgets.iter().find(|l| l.constraint == constraint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files(tempfile::TempDir);
    impl Files {
        fn path(&self, name: &str) -> std::path::PathBuf {
            self.0.path().join(name)
        }
    }

    fn files(config: &str, budget: &str) -> (Files, CiConfig, Budget) {
        let dir = Files(tempfile::tempdir().unwrap());
        std::fs::write(dir.path("config.toml"), config).unwrap();
        std::fs::write(dir.path("budget.toml"), budget).unwrap();
        let c = CiConfig::load(&dir.path("config.toml")).unwrap();
        let b = Budget::load(&dir.path("budget.toml")).unwrap();
        (dir, c, b)
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let (dir, c, b) = files("", "");
        let t = Thresholds::resolve(
            &ThresholdFlags::default(),
            &c,
            &dir.path("config.toml"),
            &b,
            &dir.path("budget.toml"),
        )
        .unwrap();
        assert_eq!(t, Thresholds::defaults());
        assert_eq!(t.latency_regression_pct.source, LimitSource::Default);
    }

    #[test]
    fn flag_beats_config_beats_budget_file_and_sources_say_so() {
        let (dir, c, b) = files(
            "[ci]\nlatency_regression_pct = 7\nsize_regression_pct = 3\nmetric = \"p95\"\nlatency_budget_ms = 20\n",
            "max_latency_ms = 30\nmax_size_mb = 8\nmax_memory_mb = 100\n",
        );
        let cfg = dir.path("config.toml");
        let bud = dir.path("budget.toml");
        let t = Thresholds::resolve(&ThresholdFlags::default(), &c, &cfg, &b, &bud).unwrap();
        assert_eq!(t.metric.value, Metric::P95);
        assert_eq!(t.latency_regression_pct.value, 7.0);
        assert_eq!(t.latency_regression_pct.source.to_string(), "config.toml");
        let lat = t.budget(Constraint::MaxLatencyMs).unwrap();
        assert_eq!(
            (lat.value, lat.source.to_string().as_str()),
            (20.0, "config.toml")
        );
        let size = t.budget(Constraint::MaxSizeMb).unwrap();
        assert_eq!(
            (size.value, size.source.to_string().as_str()),
            (8.0, "budget.toml")
        );

        let flags = ThresholdFlags {
            latency_regression_pct: Some(12.0),
            metric: Some(Metric::P50),
            budget: Budget {
                max_latency_ms: Some(5.0),
                ..Budget::default()
            },
            ..ThresholdFlags::default()
        };
        let t = Thresholds::resolve(&flags, &c, &cfg, &b, &bud).unwrap();
        assert_eq!(t.latency_regression_pct.value, 12.0);
        assert_eq!(t.latency_regression_pct.source, LimitSource::Flag);
        assert_eq!(t.metric.value, Metric::P50);
        assert_eq!(t.budget(Constraint::MaxLatencyMs).unwrap().value, 5.0);
        assert_eq!(t.size_regression_pct.value, 3.0);
    }

    #[test]
    fn strict_sets_the_latency_threshold_to_zero() {
        let (dir, c, b) = files("[ci]\nlatency_regression_pct = 7\n", "");
        let flags = ThresholdFlags {
            strict: true,
            latency_regression_pct: Some(20.0),
            ..ThresholdFlags::default()
        };
        let t = Thresholds::resolve(
            &flags,
            &c,
            &dir.path("config.toml"),
            &b,
            &dir.path("budget.toml"),
        )
        .unwrap();
        assert_eq!(t.latency_regression_pct.value, 0.0);
        assert!(t.strict);
    }

    #[test]
    fn bad_values_name_their_source() {
        let (dir, c, b) = files("[ci]\nmetric = \"p42\"\n", "");
        let err = Thresholds::resolve(
            &ThresholdFlags::default(),
            &c,
            &dir.path("config.toml"),
            &b,
            &dir.path("budget.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("p42") && err.contains("config.toml"), "{err}");
        let flags = ThresholdFlags {
            size_regression_pct: Some(-1.0),
            ..ThresholdFlags::default()
        };
        let err = Thresholds::resolve(
            &flags,
            &CiConfig::default(),
            Path::new("c"),
            &Budget::default(),
            Path::new("b"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("size threshold") && err.contains("flag"),
            "{err}"
        );
    }
}
