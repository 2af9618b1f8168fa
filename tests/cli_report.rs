//! `mlgate report` and `mlgate plot timeline` end to end on the fixture CNN and its int8
//! variant: the HTML page carries the stored numbers (the p50 as `log --json` has it), its
//! charts, and nothing fetched from anywhere; Markdown and JSON carry the same facts; a build
//! without benchmarks gets a page that says so; a timeline line that does not parse is an
//! error naming the line. `needs_downloads` opens the pages in headless Chromium.

use std::path::{Path, PathBuf};

use mlgate_testkit::{sandbox, stderr, stdout, Sandbox};
use serde_json::Value;

struct Lineage {
    s: Sandbox,
    root: String,
    int8: String,
    timeline: PathBuf,
}

/// The CNN imported and benchmarked (with a timeline), its int8 variant benchmarked, and an
/// accuracy check between them.
fn benchmarked_lineage() -> Lineage {
    let s = sandbox!();
    let cnn = s.fixtures().join("vision_cnn.onnx");
    let import = s.json_ok(&[
        "import",
        "--model",
        cnn.to_str().unwrap(),
        "--target",
        "tract_cpu",
    ]);
    let root = import["build"]["id"].as_str().unwrap().to_string();
    let timeline = s.path().join("cnn.jsonl");
    let quick = ["--runs", "30", "--warmup", "1", "--max-time", "1"];
    let mut args = vec![
        "benchmark",
        &root[..12],
        "--timeline",
        timeline.to_str().unwrap(),
    ];
    args.extend(quick);
    s.json_ok(&args);
    let variant = s.json_ok(&[
        "optimize",
        &root[..12],
        "--pass",
        "quantize",
        "--method",
        "int8",
    ]);
    let int8 = variant["build"]["id"].as_str().unwrap().to_string();
    let mut args = vec!["benchmark", &int8[..12]];
    args.extend(quick);
    s.json_ok(&args);
    s.json_ok(&["accuracy", &root[..12], &int8[..12], "--samples", "2"]);
    Lineage {
        s,
        root,
        int8,
        timeline,
    }
}

/// The latest p50 of a build as the pages print it (3 decimals), `None` when withheld (fewer
/// than 10 timed runs); when reported it must equal what `log --json` shows.
fn logged_p50(s: &Sandbox, id: &str) -> Option<String> {
    let report = s.json_ok(&["report", &id[..12]]);
    let p50 = &report["builds"][0]["latest"]["summary"]["percentiles"][0];
    assert_eq!(p50["percentile"], 50.0);
    let value = p50["value_ms"].as_f64()?;
    let detail = s.json_ok(&["log", &id[..12]]);
    let logged = detail["benchmarks"][0]["p50_ms"].as_f64().unwrap();
    assert_eq!(
        format!("{value:.3}"),
        format!("{logged:.3}"),
        "report and log disagree"
    );
    Some(format!("{value:.3}"))
}

/// The text a page shows for a p50: the value, or that it is withheld.
fn shown(p50: &Option<String>) -> &str {
    p50.as_deref().unwrap_or("withheld")
}

fn run_ok(s: &Sandbox, args: &[&str]) -> String {
    let o = s.run(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Every `http://` or `https://` in the page is an `xmlns` attribute's namespace name.
fn assert_offline(page: &str) {
    let mut rest = page;
    while let Some(i) = rest.find("http") {
        let after = &rest[i..];
        if after.starts_with("http://") || after.starts_with("https://") {
            let before = &rest[..i];
            assert!(
                before.ends_with("xmlns=\""),
                "a URL outside an xmlns attribute: {}",
                &after[..after.len().min(80)]
            );
        }
        rest = &rest[i + 4..];
    }
    assert!(!page.contains("<script"), "the page needs no script");
    assert!(
        !page.contains("<link") && !page.contains("@import"),
        "nothing linked"
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn reports_of_a_build_a_pair_and_a_build_without_benchmarks() {
    let l = benchmarked_lineage();
    let s = &l.s;
    let root_p50 = logged_p50(s, &l.root).expect("30 runs of the CNN report a p50");
    let int8_p50 = logged_p50(s, &l.int8);

    // One build: written to the default name here, the path said on stdout.
    let out = run_ok(s, &["report", &l.root[..12]]);
    let default = s
        .path()
        .join(format!("mlgate-report-{}.html", &l.root[..12]));
    assert!(
        out.contains(&format!("mlgate-report-{}.html", &l.root[..12])),
        "{out}"
    );
    let page = read(&default);
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..100]);
    assert!(
        page.contains(&format!("{root_p50} ms [")),
        "p50 {root_p50} not in the page"
    );
    assert!(
        page.contains(shown(&int8_p50)),
        "the variant's p50 {int8_p50:?} (history)"
    );
    assert!(
        page.matches("<svg").count() >= 3,
        "distribution, history, scatter"
    );
    assert_eq!(page.matches("<svg").count(), page.matches("</svg>").count());
    for text in [
        "Latency distribution",
        "History",
        "Size against latest p50",
        "Cold start and memory",
        "Environment of every number",
        "latency per inference (ms)",
        "@media print",
        "passed", // the accuracy check
        "int8",
    ] {
        assert!(page.contains(text), "`{text}` missing");
    }
    assert_offline(&page);

    // A..B: both distributions, and what kind of comparison this is.
    let pair_path = s.path().join("pair.html");
    let pair = format!("{}..{}", &l.root[..12], &l.int8[..12]);
    run_ok(s, &["report", &pair, "-o", pair_path.to_str().unwrap()]);
    let page = read(&pair_path);
    assert!(page.contains("stored benchmarks, not an interleaved comparison"));
    assert!(
        page.contains(&format!("A p50 {root_p50}"))
            && int8_p50
                .as_ref()
                .is_none_or(|p| page.contains(&format!("B p50 {p}")))
    );
    assert!(page.contains("A of A..B"));
    assert_offline(&page);

    // Markdown: the same facts.
    let md = run_ok(s, &["report", &l.int8[..12], "--format", "md", "-o", "-"]);
    assert!(md.starts_with("# mlgate report"), "{md}");
    match &int8_p50 {
        Some(p50) => assert!(md.contains(&format!("| p50 | {p50} ms [")), "{md}"),
        None => assert!(md.contains("| p50 | withheld"), "{md}"),
    }
    assert!(md.contains("## Recommendation") && md.contains("| latency bin (ms) |"));

    // JSON to a file: the versioned report, the same p50.
    let json_path = s.path().join("r.json");
    run_ok(
        s,
        &[
            "report",
            &l.root[..12],
            "--format",
            "json",
            "-o",
            json_path.to_str().unwrap(),
        ],
    );
    let v: Value = serde_json::from_str(&read(&json_path)).unwrap();
    assert_eq!(v["schema"], "mlgate.report/v1");
    let p50 = v["builds"][0]["latest"]["summary"]["percentiles"][0]["value_ms"]
        .as_f64()
        .unwrap();
    assert_eq!(format!("{p50:.3}"), root_p50);
    assert_eq!(v["lineage"].as_array().unwrap().len(), 2);
    assert_eq!(v["accuracy"][0]["passed"], true);

    // A build never benchmarked: a page that says so, with no empty charts.
    let mlp = s.fixtures().join("tiny_mlp.onnx");
    let lone = s.json_ok(&[
        "import",
        "--model",
        mlp.to_str().unwrap(),
        "--target",
        "tract_cpu",
    ]);
    let lone = lone["build"]["id"].as_str().unwrap().to_string();
    let lone_path = s.path().join("lone.html");
    run_ok(
        s,
        &["report", &lone[..12], "-o", lone_path.to_str().unwrap()],
    );
    let page = read(&lone_path);
    assert!(
        page.contains("has no stored benchmark"),
        "the page says why there is no chart"
    );
    assert!(page.contains("Not enough data for a recommendation"));
    assert!(!page.contains("<svg"), "no empty charts");
    assert_offline(&page);

    // Not a subject: exit 2, saying why.
    let o = s.run(&["report", "..x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("A..B"), "{}", stderr(&o));

    // The timeline the benchmark wrote: every line matches its schema, and it plots.
    check_timeline_lines(&l.timeline);
    let html = s.path().join("t.html");
    run_ok(
        s,
        &[
            "plot",
            "timeline",
            l.timeline.to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ],
    );
    let page = read(&html);
    assert_eq!(page.matches("<svg").count(), 2, "an RSS row and a CPU row");
    assert!(page.contains("sampling interval") && page.contains("RSS (MB)"));
    assert!(page.contains("measure"), "the phases are marked");
    assert!(
        page.contains("user") && page.contains("system"),
        "the CPU split"
    );
    assert_offline(&page);

    // The gate's page: the verdict, the shift against the threshold, every check, and the
    // stored distributions of both builds.
    let gate = gate_page(s, &l);
    assert!(gate.contains("Every check of the verdict"), "{gate}");
    assert!(gate.contains("threshold +10%"), "the threshold is drawn");
    assert!(gate.contains("latency.p50"), "the latency check is listed");
    assert!(
        gate.contains("Empirical distribution"),
        "the stored distributions"
    );
    assert_offline(&gate);
}

/// `ci-check ROOT INT8 --html`: the int8 variant is several times slower on tract, so the
/// gate fails (exit 1); the page is written either way.
fn gate_page(s: &Sandbox, l: &Lineage) -> String {
    let path = s.path().join("gate.html");
    let o = s.run(&[
        "ci-check",
        &l.root[..12],
        &l.int8[..12],
        "--max-time",
        "2",
        "--html",
        path.to_str().unwrap(),
    ]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(stderr(&o).contains("gate page:"), "{}", stderr(&o));
    read(&path)
}

/// Each line of a timeline file against `docs/schemas/lines/timeline-sample.v1.json`.
fn check_timeline_lines(path: &Path) {
    let schema_path =
        mlgate_testkit::workspace_root().join("docs/schemas/lines/timeline-sample.v1.json");
    let schema: Value = serde_json::from_str(&read(&schema_path)).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let text = read(path);
    assert!(text.lines().count() >= 2, "{text}");
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "line {}: {errors:?}\n{line}", i + 1);
    }
}

#[test]
fn a_timeline_line_that_does_not_parse_is_an_error_naming_the_line() {
    let s = sandbox!();
    let bad = s.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"t_ms\":0.0,\"rss_bytes\":1000,\"cpu_percent\":0.0,\"phase\":\"load\"}\n\
         {\"t_ms\":\"soon\"}\n",
    )
    .unwrap();
    let o = s.run(&["plot", "timeline", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("bad.jsonl:2") && err.contains("line 2"),
        "{err}"
    );
    let empty = s.path().join("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    let o = s.run(&["plot", "timeline", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no sample"), "{}", stderr(&o));
    let o = s.run(&[
        "plot",
        "timeline",
        s.path().join("missing.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.jsonl"), "{}", stderr(&o));
}

mod needs_downloads {
    use super::*;
    use std::process::Command;

    /// Headless Chromium, which `cargo xtask test` installs (Debian's `chromium`).
    fn chromium() -> PathBuf {
        let found = std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("chromium"))
                .find(|c| c.is_file())
        });
        found.unwrap_or_else(|| {
            panic!(
                "chromium is not on PATH: this test opens the report pages in headless \
                 Chromium; run `cargo xtask test` (it installs it) or `apt-get install -y \
                 chromium`"
            )
        })
    }

    /// Chromium on a local page, with every host unresolvable: a page that tried to load
    /// anything would log a network error.
    fn chromium_run(page: &Path, extra: &[String]) -> (String, String) {
        let profile = tempfile::tempdir().unwrap();
        let o = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--enable-logging=stderr",
                "--v=0",
                "--host-resolver-rules=MAP * ~NOTFOUND",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("chromium runs");
        let (out, err) = (stdout(&o), stderr(&o));
        assert!(
            o.status.success(),
            "chromium failed on {}:\n{err}",
            page.display()
        );
        (out, err)
    }

    /// The DOM as Chromium parsed it has the charts; nothing was logged by the console or the
    /// network stack; a screenshot is kept in target/report-screenshots/.
    fn open(page: &Path, name: &str, svgs: usize) {
        let (dom, err) = chromium_run(page, &["--dump-dom".to_string()]);
        assert!(
            dom.matches("<svg").count() >= svgs,
            "{name}: the DOM lacks its charts"
        );
        assert!(
            dom.contains("</html>"),
            "{name}: the DOM is not a whole page"
        );
        for bad in ["CONSOLE", "Uncaught", "net::ERR", "Failed to load"] {
            assert!(
                !err.contains(bad),
                "{name}: chromium logged `{bad}`:\n{err}"
            );
        }
        let dir = mlgate_testkit::workspace_root().join("target/report-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let shot = dir.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&shot);
        chromium_run(
            page,
            &[
                format!("--screenshot={}", shot.display()),
                "--window-size=1280,2000".into(),
            ],
        );
        let bytes = std::fs::read(&shot).unwrap_or_default();
        assert!(
            bytes.starts_with(b"\x89PNG"),
            "{name}: no screenshot at {}",
            shot.display()
        );
    }

    #[test]
    fn the_pages_render_in_headless_chromium_without_errors_or_requests() {
        chromium();
        let l = benchmarked_lineage();
        let s = &l.s;
        let build = s.path().join("build.html");
        run_ok(s, &["report", &l.root[..12], "-o", build.to_str().unwrap()]);
        open(&build, "report-build", 3);
        let pair = s.path().join("pair.html");
        let subject = format!("{}..{}", &l.root[..12], &l.int8[..12]);
        run_ok(s, &["report", &subject, "-o", pair.to_str().unwrap()]);
        open(&pair, "report-pair", 3);
        let timeline = s.path().join("timeline.html");
        run_ok(
            s,
            &[
                "plot",
                "timeline",
                l.timeline.to_str().unwrap(),
                "-o",
                timeline.to_str().unwrap(),
            ],
        );
        open(&timeline, "timeline", 2);
        gate_page(s, &l);
        open(&s.path().join("gate.html"), "gate", 3);
    }
}
