//! Open a workspace, list its builds with their latest results, and follow a build's lineage
//! back to its root — a report a dashboard or a release script might build.
//!
//! ```sh
//! cargo run -p mlgate --example registry_report [-- WORKSPACE_DIR [BUILD]]
//! ```
//!
//! WORKSPACE_DIR is a `.mlgate` directory (as `mlgate init` made it); BUILD is a tag, build id
//! or id prefix (default: the newest build). Without arguments it makes a workspace in a
//! temporary directory, imports two fixture models, benchmarks them (the results are
//! recorded against the builds) and reports on that.

use std::collections::HashMap;
use std::error::Error;
use std::path::Path;

use mlgate::benchmark::{self, BenchmarkRequest, InputSpec, MeasureLimits, NoProgress};
use mlgate::workspace::{time, BuildFilter, ImportRequest};
use mlgate::{RuntimeConfig, Workspace, WorkspaceOptions};

fn main() -> Result<(), Box<dyn Error>> {
    let scratch = tempfile::tempdir()?;
    let mut args = std::env::args_os().skip(1);
    let ws = match args.next() {
        Some(dir) => Workspace::open(&WorkspaceOptions {
            dir: Some(dir.into()),
            start: None,
        })?,
        None => demo_workspace(scratch.path())?,
    };
    let build = args.next().map(|b| b.to_string_lossy().into_owned());

    // The workspace at a glance.
    let status = ws.status()?;
    println!(
        "workspace {}: {} builds, {} benchmarks",
        status.workspace.display(),
        status.builds,
        status.benchmarks
    );
    if let Some(baseline) = &status.baseline {
        println!(
            "baseline: {} ({})",
            baseline.build.name,
            baseline.build.short_id()
        );
    }

    // Every build, newest first, with its latest result.
    println!();
    for summary in ws.builds(&BuildFilter::default())? {
        let b = &summary.build;
        let latest = match &summary.latest {
            Some(m) => format!(
                "p50 {:.3} ms, n = {}, on {} at {}",
                m.p50_ms,
                m.n,
                m.backend,
                time::format_utc(m.created_at)
            ),
            None => "not benchmarked".to_string(),
        };
        println!(
            "{}  {:<16} {:<6} {:<10} {latest}",
            b.short_id(),
            b.name,
            b.format,
            b.target
        );
    }

    // The lineage trees: each build under the build it was derived from.
    println!("\nlineage:");
    let trees = ws.lineage(&BuildFilter::default())?;
    let mut depth: HashMap<&str, usize> = HashMap::new();
    for summary in &trees {
        let b = &summary.build;
        let d = b
            .parent_id
            .as_deref()
            .and_then(|p| depth.get(p))
            .map_or(0, |d| d + 1);
        depth.insert(&b.id, d);
        println!(
            "{}{} {} [{}]",
            "  ".repeat(d + 1),
            b.short_id(),
            b.name,
            b.method_label()
        );
    }

    // One build's ancestry, parent by parent, up to its root.
    let start = match build {
        Some(reference) => reference,
        None => match trees.iter().max_by_key(|s| s.build.created_at) {
            Some(newest) => newest.build.id.clone(),
            None => return Ok(()), // an empty workspace: nothing to follow
        },
    };
    let mut detail = ws.build_detail(&start)?;
    println!(
        "\n{} has {} child build(s); its ancestry:",
        detail.build.name,
        detail.children.len()
    );
    loop {
        let b = &detail.build;
        let tags = if detail.tags.is_empty() {
            String::new()
        } else {
            format!(" [tags: {}]", detail.tags.join(", "))
        };
        println!("  {} {} ({}){tags}", b.short_id(), b.name, b.method_label());
        match &detail.parent {
            Some(parent) => detail = ws.build_detail(&parent.id)?,
            None => break,
        }
    }
    Ok(())
}

/// A workspace in `dir` with the CNN and its slower variant imported, the CNN as the
/// baseline, and one short benchmark of each recorded.
fn demo_workspace(dir: &Path) -> Result<Workspace, Box<dyn Error>> {
    let (ws, _) = Workspace::init(&WorkspaceOptions {
        dir: Some(dir.join(".mlgate")),
        start: None,
    })?;
    let models = [
        mlgate::fixtures::VISION_CNN,
        mlgate::fixtures::VISION_CNN_SLOW,
    ];
    for (i, fixture) in models.into_iter().enumerate() {
        let path = mlgate::fixtures::write(&dir.join("models"), fixture)?;
        let imported = ws.import(&ImportRequest {
            model: path,
            target: "tract_cpu".into(),
            task: Some("vision".into()),
            ..ImportRequest::default()
        })?;
        if i == 0 {
            ws.baseline_set(&imported.build.id, false)?;
        }
        // A build is benchmarked from its stored artifact, and the result is recorded.
        let request = BenchmarkRequest {
            model: mlgate::model::resolve(Some(&ws), &imported.build.id)?,
            backend: None,
            threads: None,
            inputs: InputSpec::default(),
            config: MeasureLimits {
                max_time_s: Some(0.5),
                ..MeasureLimits::default()
            }
            .config(),
            runtimes: RuntimeConfig::from_env(),
        };
        benchmark::benchmark(Some(&ws), &request, &mut NoProgress)?;
    }
    Ok(ws)
}
