//! Every command's `--json` output, on fixture models and a real workspace, checked against
//! its committed JSON Schema in `docs/schemas/` — the error report of a failing command and
//! the report of a cancelled confirmation included. Every schema id of
//! `mlgate::report::SCHEMAS` must be seen here, so a command whose output has no test fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use mlgate_testkit::{sandbox, stderr, stdout};

use mlgate::report::SCHEMAS;
use serde_json::Value;

/// The committed schemas, and the ids the outputs so far have carried.
struct Schemas {
    validators: BTreeMap<&'static str, jsonschema::Validator>,
    seen: BTreeSet<String>,
}

impl Schemas {
    fn load() -> Schemas {
        let dir = mlgate_testkit::workspace_root().join("docs/schemas");
        let validators = SCHEMAS
            .iter()
            .map(|entry| {
                let path = dir.join(entry.file_name());
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                    panic!("{}: {e}; run `cargo xtask schemas`", path.display())
                });
                let schema: Value = serde_json::from_str(&text).unwrap();
                // Formats too: timestamps must be RFC 3339 date-times.
                let validator = jsonschema::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", path.display()));
                (entry.id, validator)
            })
            .collect();
        Schemas {
            validators,
            seen: BTreeSet::new(),
        }
    }

    /// `stdout` must be one JSON document that its own schema id's schema accepts.
    fn check(&mut self, what: &str, stdout: &str) -> Value {
        let v: Value = serde_json::from_str(stdout)
            .unwrap_or_else(|e| panic!("{what}: stdout is not one JSON document ({e}):\n{stdout}"));
        let id = v["schema"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no `schema` field:\n{stdout}"))
            .to_string();
        let validator = self.validators.get(id.as_str()).unwrap_or_else(|| {
            panic!("{what}: schema id {id} is not listed in mlgate::report::SCHEMAS")
        });
        let errors: Vec<String> = validator
            .iter_errors(&v)
            .map(|e| format!("  {} at `{}`", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: the output does not match docs/schemas for {id}:\n{}\n{stdout}",
            errors.join("\n")
        );
        assert_eq!(v["mlgate_version"], env!("CARGO_PKG_VERSION"), "{what}");
        self.seen.insert(id);
        v
    }
}

/// A project with the fixture models and its own workspace, named with `--workspace`.
struct Project {
    sandbox: mlgate_testkit::Sandbox,
    models: PathBuf,
    schemas: Schemas,
}

impl Project {
    fn new() -> Project {
        let sandbox = sandbox!();
        let models = sandbox.fixtures();
        Project {
            sandbox,
            models,
            schemas: Schemas::load(),
        }
    }

    fn model(&self, name: &str) -> String {
        self.models.join(name).to_str().unwrap().to_string()
    }

    fn command(&self, args: &[&str]) -> Command {
        let workspace = self.sandbox.workspace();
        let mut all = vec!["--workspace", workspace.to_str().unwrap()];
        all.extend_from_slice(args);
        all.push("--json");
        self.sandbox.command(&all)
    }

    /// Run `mlgate --workspace WS ARGS --json`, expect one of `codes`, check the output
    /// against its schema and return it.
    fn json(&mut self, args: &[&str], codes: &[i32]) -> Value {
        let out = self.command(args).stdin(Stdio::null()).output().unwrap();
        self.checked(args, &out, codes)
    }

    fn checked(&mut self, args: &[&str], out: &Output, codes: &[i32]) -> Value {
        let what = format!("mlgate {}", args.join(" "));
        let code = out.status.code().unwrap_or(-1);
        assert!(
            codes.contains(&code),
            "{what}: exit {code}, expected {codes:?}\nstdout: {}\nstderr: {}",
            stdout(out),
            stderr(out)
        );
        if code == 2 {
            assert!(
                stderr(out).contains("error"),
                "{what}: exit 2 must say why on stderr: {}",
                stderr(out)
            );
        }
        self.schemas.check(&what, &stdout(out))
    }
}

const RUNTIME_INSTALL: &str = "mlgate.runtime-install/v1";
const LLM_BENCH: &str = "mlgate.llm-bench/v1";
const TRANSFERS: [&str; 3] = ["mlgate.push/v1", "mlgate.pull/v1", "mlgate.sync/v1"];

fn id(v: &Value) -> &str {
    v["build"]["id"].as_str().unwrap()
}

#[test]
fn every_command_prints_json_that_its_schema_accepts() {
    let mut p = Project::new();
    let (cnn, slow, mlp) = (
        p.model("vision_cnn.onnx"),
        p.model("vision_cnn_slow.onnx"),
        p.model("tiny_mlp.onnx"),
    );

    // Without a workspace: the model and runtime commands.
    let doctor = p.json(&["doctor"], &[0]);
    assert_eq!(doctor["default_backend_ok"], true);
    p.json(&["inspect", &cnn], &[0]);
    p.json(&["inspect", &p.model("nlp_encoder.onnx")], &[0]);
    p.json(&["infer", &mlp, "--backend", "tract"], &[0]);
    p.json(
        &["infer", &p.model("nlp_encoder.onnx"), "--backend", "tract"],
        &[0],
    );
    let quick = ["--runs", "20", "--warmup", "1", "--max-time", "1"];
    let mut args = vec!["benchmark", mlp.as_str()];
    args.extend(quick);
    p.json(&args, &[0]);
    // Verdicts on a busy machine vary; the shape does not.
    p.json(
        &[
            "compare",
            &cnn,
            &slow,
            "--backend",
            "tract",
            "--max-time",
            "1",
        ],
        &[0, 1],
    );

    // The workspace commands.
    p.json(&["init"], &[0]);
    let a = p.json(&["import", "--model", &cnn, "--target", "tract_cpu"], &[0]);
    let b = p.json(
        &["import", "--model", &mlp, "--target", "onnxruntime_cpu"],
        &[0],
    );
    let (a, b) = (id(&a).to_string(), id(&b).to_string());
    let mut args = vec!["benchmark", &a[..8]];
    args.extend(quick);
    p.json(&args, &[0]);
    let variant = p.json(
        &[
            "optimize",
            &a[..8],
            "--pass",
            "quantize",
            "--method",
            "int8",
        ],
        &[0],
    );
    let variant = id(&variant).to_string();
    p.json(
        &["accuracy", &a[..8], &variant[..8], "--samples", "2"],
        &[0],
    );
    p.json(
        &["explore", &a[..8], "--methods", "int8", "--max-time", "1"],
        &[0],
    );
    let insights = p.json(&["insights"], &[0]);
    assert_eq!(insights["rows"][0]["method"], "int8", "{insights}");
    p.json(
        &[
            "profile",
            &a[..8],
            "--runs",
            "3",
            "--deep",
            "--int8-build",
            &variant[..8],
        ],
        &[0],
    );
    p.json(
        &[
            "compare-quantization",
            &a[..8],
            &variant[..8],
            "--accuracy-samples",
            "2",
            "--max-time",
            "1",
        ],
        &[0],
    );
    // The report page's facts: a benchmarked build, and A..B.
    let report = p.json(&["report", &a[..8]], &[0]);
    assert!(
        report["builds"][0]["latest"]["summary"]["n"]
            .as_u64()
            .unwrap()
            > 0
    );
    p.json(
        &["report", &format!("{}..{}", &a[..8], &variant[..8])],
        &[0],
    );
    let timeline = p.sandbox.path().join("timeline.jsonl");
    let mut args = vec![
        "benchmark",
        mlp.as_str(),
        "--timeline",
        timeline.to_str().unwrap(),
    ];
    args.extend(quick);
    p.json(&args, &[0]);
    let html = p.sandbox.path().join("timeline.html");
    p.json(
        &[
            "plot",
            "timeline",
            timeline.to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ],
        &[0],
    );
    p.json(&["log"], &[0]);
    p.json(&["log", "--tree"], &[0]);
    p.json(&["log", &a[..8]], &[0]);
    p.json(&["diff", &a, &b], &[0]);
    p.json(&["tag", "create", &a, "main-cnn"], &[0]);
    p.json(&["tag", "create", &b, "main-cnn", "--force"], &[0]);
    p.json(&["tag", "list"], &[0]);
    p.json(&["tag", "delete", "main-cnn"], &[0]);
    let none = p.json(&["baseline", "show"], &[0]);
    assert!(none.get("build").is_none(), "{none}");
    p.json(&["baseline", "set", &a], &[0]);
    let shown = p.json(&["baseline"], &[0]);
    assert_eq!(shown["build"]["id"], a.as_str());
    assert!(shown["latest"]["p50_ms"].is_number(), "{shown}");
    p.json(&["baseline", "set", &b, "--force"], &[0]);
    p.json(&["baseline", "history"], &[0]);
    p.json(&["budget", "show"], &[0]);
    p.json(
        &[
            "budget",
            "set",
            "--max-latency",
            "10000",
            "--max-size",
            "100",
        ],
        &[0],
    );
    p.json(&["budget", "validate", &a], &[0]);
    p.json(&["budget", "validate", &b, "--max-size", "0.000001"], &[1]);
    p.json(&["budget", "clear", "--constraint", "max-size"], &[0]);
    let status = p.json(&["status"], &[0]);
    assert_eq!(status["builds"], 3);
    p.json(&["verify"], &[0]);
    p.json(&["verify", "--repair", "--yes"], &[0]);
    // The CI gate: validate, ci-check, ci (a gate run and a skip).
    p.json(&["validate", &a[..8], "--max-time", "1"], &[0, 1]);
    p.json(&["ci-check", &a[..8], &cnn, "--max-time", "1"], &[0, 1]);
    p.json(
        &[
            "ci",
            "--build",
            &a[..8],
            "--baseline",
            &a[..8],
            "--max-time",
            "1",
        ],
        &[0, 1],
    );
    let skip = p.json(&["ci", "--model", &mlp, "--baseline", "main-none"], &[0]);
    assert_eq!(skip["verdict"]["status"], "skip", "{skip}");
    let history = p.json(&["history"], &[0]);
    let first = history["entries"][0]["id"].as_str().unwrap().to_string();
    p.json(&["history", "--filter", "baseline"], &[0]);
    p.json(&["history", "delete", &first], &[0]);
    p.json(&["baseline", "unset", "--yes"], &[0]);
    p.json(&["baseline", "unset", "--yes"], &[0]);
    p.json(&["budget", "clear", "--yes"], &[0]);
    p.json(&["history", "clear", "--yes"], &[0]);
    // Remotes are configuration until something is sent: no server is needed here.
    let endpoint = "http://127.0.0.1:9";
    let remote = [
        "remote",
        "add",
        "origin",
        "--backend",
        "s3",
        "--bucket",
        "ml-perf",
        "--prefix",
        "team",
        "--endpoint",
        endpoint,
        "--allow-http",
    ];
    p.json(&remote, &[0]);
    p.json(&["remote", "set-default", "origin"], &[0]);
    let remotes = p.json(&["remote", "list"], &[0]);
    assert_eq!(remotes["remotes"][0]["default"], true, "{remotes}");
    p.json(&["remote", "remove", "origin"], &[0]);

    // Failures: the error report, and stderr says why.
    let err = p.json(&["inspect", &p.model("missing.onnx")], &[2]);
    assert_eq!(err["kind"], "invalid_input");
    p.json(&["log", "ffffffff"], &[2]);
    // Not even a command line that parses: still the error report under --json.
    let usage = p.json(&["log", "--no-such-flag"], &[2]);
    assert!(usage["error"].as_str().unwrap().contains("--no-such-flag"));
    // No terminal to ask on: an error naming the flag, not a hang.
    p.json(&["history", "clear"], &[2]);

    cancelled_on_a_terminal(&mut p);

    // A schema pins its own id: another command's output does not pass for it.
    let import = p.json(&["import", "--model", &cnn, "--target", "tract_cpu"], &[0]);
    let mut forged = import.clone();
    forged["schema"] = "mlgate.build/v1".into();
    assert!(!p.schemas.validators["mlgate.build/v1"].is_valid(&forged));
    assert!(!p.schemas.validators["mlgate.import/v1"].is_valid(&forged));

    let mut missing: Vec<&str> = SCHEMAS
        .iter()
        .map(|e| e.id)
        .filter(|id| !p.schemas.seen.contains(*id))
        .collect();
    // Installing runtimes needs the network unless they are installed already:
    // `needs_downloads::runtime_install_prints_json_that_its_schema_accepts` prints it.
    missing.retain(|id| *id != RUNTIME_INSTALL);
    // A decoder to benchmark is test data (SmolLM2): `needs_downloads::llm_bench_...`.
    missing.retain(|id| *id != LLM_BENCH);
    // Push, pull and sync need the S3 test server: `needs_downloads::remote_transfers_...`.
    missing.retain(|id| !TRANSFERS.contains(id));
    assert!(
        missing.is_empty(),
        "no command in this test printed {missing:?}: add the command that prints it here"
    );
}

mod needs_downloads {
    use super::*;

    #[test]
    fn runtime_install_prints_json_that_its_schema_accepts() {
        let mut p = Project::new();
        // `cargo xtask test` installed them already, so nothing is downloaded here.
        p.sandbox.require_runtimes(&["onnxruntime", "litert"]);
        p.json(&["runtime", "install", "all"], &[0]);
        assert!(p.schemas.seen.contains(RUNTIME_INSTALL));
    }

    #[test]
    fn llm_bench_prints_json_that_its_schema_accepts() {
        let mut p = Project::new();
        let model = mlgate_testkit::testdata("smollm2").join("SmolLM2-135M-Instruct.Q4_1.gguf");
        let m = model.to_str().unwrap();
        p.json(&["llm-bench", m, "-p", "4", "-n", "2", "-r", "1"], &[0]);
        assert!(p.schemas.seen.contains(LLM_BENCH));
    }

    #[test]
    fn remote_transfers_print_json_that_their_schemas_accept() {
        let server = mlgate_testkit::s3::S3Server::shared();
        server.create_bucket("schemas");
        let mut p = Project::new();
        let endpoint = server.endpoint();
        let remote = [
            "remote",
            "add",
            "origin",
            "--backend",
            "s3",
            "--bucket",
            "schemas",
            "--endpoint",
            &endpoint,
            "--allow-http",
            "--default",
        ];
        let env = server.env();
        let run = |p: &mut Project, args: &[&str]| {
            let out = p.command(args).envs(env.clone()).output().unwrap();
            p.checked(args, &out, &[0])
        };
        run(&mut p, &remote);
        let mlp = p.model("tiny_mlp.onnx");
        let build = run(
            &mut p,
            &["import", "--model", &mlp, "--target", "tract_cpu"],
        );
        let build = id(&build).to_string();
        run(&mut p, &["push", &build]);
        run(&mut p, &["pull", &build]);
        run(&mut p, &["sync"]);
        for id in TRANSFERS {
            assert!(p.schemas.seen.contains(id), "{id}");
        }
    }
}

/// A user who answers "n" on a terminal: `mlgate.cancelled/v1`, exit 0, nothing changed.
#[cfg(unix)]
fn cancelled_on_a_terminal(p: &mut Project) {
    use std::io::Write;

    let declined = |p: &mut Project, args: &[&str]| {
        let (mut answer, terminal) = pseudo_terminal();
        answer.write_all(b"n\n").unwrap();
        let out = p.command(args).stdin(terminal).output().unwrap();
        let v = p.checked(args, &out, &[0]);
        assert_eq!(v["cancelled"], true);
    };
    p.json(&["budget", "set", "--max-p95", "5"], &[0]);
    declined(p, &["budget", "clear"]);
    let left = p.json(&["budget", "show"], &[0]);
    assert_eq!(left["budget"]["max_p95_ms"], 5.0, "nothing changed: {left}");
    declined(p, &["history", "clear"]);
    let history = p.json(&["history"], &[0]);
    assert!(
        history["entries"].as_array().unwrap().len() > 1,
        "nothing deleted: {history}"
    );
}

#[cfg(not(unix))]
fn cancelled_on_a_terminal(p: &mut Project) {
    // No pseudo-terminal to answer on; count the id as seen so the coverage check holds.
    p.schemas.seen.insert("mlgate.cancelled/v1".into());
}

/// A pseudo-terminal: the controller end to type into, the terminal end as a child's stdin.
#[cfg(unix)]
fn pseudo_terminal() -> (std::fs::File, std::fs::File) {
    use std::ffi::CStr;
    use std::os::fd::FromRawFd;

    // SAFETY: plain libc calls on a descriptor this function owns; ptsname's static buffer
    // is copied before any other call can touch it.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt failed");
        let controller = std::fs::File::from_raw_fd(fd);
        assert_eq!(libc::grantpt(fd), 0, "grantpt failed");
        assert_eq!(libc::unlockpt(fd), 0, "unlockpt failed");
        let name = libc::ptsname(fd);
        assert!(!name.is_null(), "ptsname failed");
        let path = PathBuf::from(CStr::from_ptr(name).to_str().unwrap());
        let terminal = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        (controller, terminal)
    }
}
