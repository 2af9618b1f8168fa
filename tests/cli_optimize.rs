//! `mlgate optimize` and `mlgate accuracy` end to end on the fixture CNN: variants registered
//! as children with their lineage, the same chain reused instead of duplicated, bad input
//! refused with exit 2 and the registry left as it was, accuracy gating with exit 1.

use mlgate_testkit::{json, sandbox, stderr, stdout, Sandbox};
use serde_json::Value;

/// A refused or failed optimize leaves no staging directory behind in the workspace.
fn assert_nothing_staged(s: &Sandbox) {
    let staging = s.workspace().join("artifacts/tmp");
    let leftovers: Vec<_> = std::fs::read_dir(&staging)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("optimize-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "staging directories left: {leftovers:?}"
    );
}

fn builds(s: &Sandbox) -> Vec<Value> {
    s.json_ok(&["log"])["builds"].as_array().unwrap().clone()
}

fn imported_cnn(s: &Sandbox) -> String {
    let models = s.fixtures();
    let cnn = models.join("vision_cnn.onnx");
    let v = s.json_ok(&[
        "import",
        "--model",
        cnn.to_str().unwrap(),
        "--target",
        "tract_cpu",
    ]);
    v["build"]["id"].as_str().unwrap().to_string()
}

#[test]
fn a_chain_of_passes_is_registered_as_lineage_and_reused_when_run_again() {
    let s = sandbox!();
    let root = imported_cnn(&s);
    let pruned = s.json_ok(&["optimize", &root, "--pass", "prune", "--sparsity", "0.5"]);
    assert_eq!(pruned["created"], true);
    assert_eq!(pruned["label"], "prune(0.50)");
    assert_eq!(pruned["build"]["parent_id"], root.as_str());
    let pruned_id = pruned["build"]["id"].as_str().unwrap().to_string();
    let chained = s.json_ok(&[
        "optimize",
        &pruned_id[..12],
        "--pass",
        "quantize",
        "--method",
        "int8",
    ]);
    assert_eq!(chained["build"]["parent_id"], pruned_id.as_str());
    assert_eq!(chained["build"]["root_id"], root.as_str());
    assert!(chained["check"]["min_cosine"].as_f64().unwrap() > 0.5);
    // int8 stores int8 weights: about a quarter of the float bytes.
    let pass = &chained["pass"];
    let (before, after) = (
        pass["weight_bytes_before"].as_u64().unwrap(),
        pass["weight_bytes_after"].as_u64().unwrap(),
    );
    assert!(after * 3 < before, "{pass}");
    let count = builds(&s).len();
    assert_eq!(count, 3);

    // The same chain again: the same builds, nothing new.
    let again = s.json_ok(&["optimize", &root, "--pass", "prune", "--sparsity", "0.5"]);
    assert_eq!(again["created"], false);
    assert_eq!(again["build"]["id"], pruned_id.as_str());
    assert!(again["pass"].is_null());
    assert_eq!(builds(&s).len(), count);

    let tree = s.run(&["log", "--tree"]);
    let text = stdout(&tree);
    assert!(
        text.contains("prune(0.50)") && text.contains("int8"),
        "{text}"
    );
    let palettized = s.json_ok(&["optimize", &root, "--pass", "palettize", "--nbits", "4"]);
    let (parent, size) = (
        palettized["parent_size_bytes"].as_u64().unwrap(),
        palettized["size_bytes"].as_u64().unwrap(),
    );
    assert!(size * 3 <= parent, "palettize(4): {parent} → {size} bytes");
}

#[test]
fn bad_input_exits_2_and_leaves_the_registry_unchanged() {
    let s = sandbox!();
    let root = imported_cnn(&s);
    let tflite = s.path().join("models/twin_cnn.tflite");
    let t = s.json_ok(&[
        "import",
        "--model",
        tflite.to_str().unwrap(),
        "--target",
        "generic_linux",
    ]);
    let tflite_id = t["build"]["id"].as_str().unwrap().to_string();
    let before = builds(&s);
    for (args, mention) in [
        (vec!["--pass", "quantize", "--method", "int3"], "int3"),
        (vec!["--pass", "prune", "--sparsity", "1.5"], "--sparsity"),
        (vec!["--pass", "squash"], "--pass"),
        (vec!["--pass", "palettize", "--nbits", "5"], "--nbits"),
        (
            vec![
                "--pass",
                "quantize",
                "--method",
                "int4",
                "--block-size",
                "24",
            ],
            "--block-size",
        ),
        (
            vec!["--pass", "quantize", "--method", "int8", "--nbits", "4"],
            "--nbits",
        ),
    ] {
        let mut all = vec!["optimize", root.as_str()];
        all.extend(args.iter().copied());
        let o = s.run(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(mention), "{all:?}: {}", stderr(&o));
    }
    let o = s.run(&[
        "optimize", &tflite_id, "--pass", "quantize", "--method", "int8",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("ONNX builds"), "{}", stderr(&o));
    let o = s.run(&["optimize", "no-such-build", "--pass", "prune"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(builds(&s), before);
    assert_nothing_staged(&s);
}

#[test]
fn accuracy_passes_a_close_variant_fails_a_lossy_one_and_records_both() {
    let s = sandbox!();
    let root = imported_cnn(&s);
    let int8 = s.json_ok(&["optimize", &root, "--pass", "quantize", "--method", "int8"]);
    let int8 = int8["build"]["id"].as_str().unwrap().to_string();
    let close = s.json_ok(&["accuracy", &root, &int8, "--samples", "4"]);
    assert_eq!(close["schema"], "mlgate.accuracy/v1");
    assert_eq!(close["passed"], true, "{close}");
    assert!(close["recorded_id"].is_number());
    let out = &close["outputs"][0];
    assert!(out["cosine_mean"].as_f64().unwrap() >= 0.98, "{out}");
    assert_eq!(out["top1"]["rows"], 4);

    let lossy = s.json_ok(&["optimize", &root, "--pass", "palettize", "--nbits", "1"]);
    let lossy = lossy["build"]["id"].as_str().unwrap().to_string();
    let o = s.run(&["accuracy", &root, &lossy, "--samples", "4"]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("FAIL"), "{}", stdout(&o));
    let o = s.run(&["accuracy", &root, &int8, "--samples", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--samples"), "{}", stderr(&o));
}

/// `n` synthesized input sets of `build` (seeds 1..=n), as `mlgate infer` saves them.
fn saved_inputs(s: &Sandbox, build: &str, n: u64) -> Vec<mlgate_ir::tensor::Tensor> {
    (1..=n)
        .map(|seed| {
            let path = s.path().join(format!("seed{seed}.npz"));
            let o = s.run(&[
                "infer",
                build,
                "--seed",
                &seed.to_string(),
                "--save-inputs",
                path.to_str().unwrap(),
            ]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            mlgate_ir::tensor::read_npz(&path).unwrap().remove(0)
        })
        .collect()
}

/// The samples stacked along a new first axis of an `.npz`, as a user would save them.
fn write_stacked_npz(path: &std::path::Path, samples: &[mlgate_ir::tensor::Tensor]) {
    use mlgate_ir::tensor::{Tensor, TensorData};
    let mut values = Vec::new();
    for t in samples {
        match t.data() {
            TensorData::F32(v) => values.extend_from_slice(v),
            other => panic!("{other:?}"),
        }
    }
    // [1, 3, 224, 224] samples: the first axis of each is the batch, so [n, 3, 224, 224].
    let mut shape = samples[0].shape().to_vec();
    shape[0] = samples.len();
    let t = Tensor::new(samples[0].name(), shape, TensorData::F32(values)).unwrap();
    mlgate_ir::tensor::write_npz(path, &[t], true).unwrap();
}

/// A few small RGB images of different sizes: gradients with a bright square.
fn write_images(dir: &std::path::Path, n: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let (w, h) = (64 + 16 * i, 48 + 8 * i);
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let inside = (x / 16 + y / 16 + i) % 3 == 0;
            image::Rgb([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                if inside { 230 } else { (40 * i) as u8 },
            ])
        });
        img.save(dir.join(format!("img{i}.png"))).unwrap();
    }
}

#[test]
fn int8_static_is_registered_with_its_calibration_data_and_reused() {
    let s = sandbox!();
    let root = imported_cnn(&s);
    let samples = saved_inputs(&s, &root, 4);
    let npz = s.path().join("calibration.npz");
    write_stacked_npz(&npz, &samples);
    let flags = |data: &str| {
        vec![
            "optimize".to_string(),
            root.clone(),
            "--pass".into(),
            "quantize".into(),
            "--method".into(),
            "int8_static".into(),
            "--calibration-data".into(),
            data.to_string(),
        ]
    };
    let args = flags(npz.to_str().unwrap());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let v = s.json_ok(&args);
    assert_eq!(v["created"], true);
    let label = v["label"].as_str().unwrap().to_string();
    assert!(label.starts_with("int8(static,minmax,"), "{label}");
    assert_eq!(v["build"]["parent_id"], root.as_str());
    let cos = v["check"]["min_cosine"].as_f64().unwrap();
    assert!(cos >= 0.98, "cosine {cos}");
    let notes = v["pass"]["notes"].to_string();
    assert!(notes.contains("calibrated on 4 samples"), "{notes}");
    let pass = &v["pass"];
    assert!(
        pass["weight_bytes_after"].as_u64().unwrap() * 3
            < pass["weight_bytes_before"].as_u64().unwrap(),
        "{pass}"
    );
    let id = v["build"]["id"].as_str().unwrap().to_string();
    let count = builds(&s).len();
    // The same data again (copied elsewhere: the content names it, not the path): reused.
    let copy = s.path().join("copy.npz");
    std::fs::copy(&npz, &copy).unwrap();
    let args = flags(copy.to_str().unwrap());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let again = s.json_ok(&args);
    assert_eq!(again["created"], false);
    assert_eq!(again["build"]["id"], id.as_str());
    assert_eq!(builds(&s).len(), count);

    // One .npy per sample, and a directory of images with percentile calibration and
    // per-channel weights: other data, other variants.
    let npy_dir = s.path().join("npy");
    std::fs::create_dir_all(&npy_dir).unwrap();
    for (i, t) in samples.iter().enumerate() {
        mlgate_ir::tensor::write_npy(&npy_dir.join(format!("{i}.npy")), t).unwrap();
    }
    let args = flags(npy_dir.to_str().unwrap());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let npy = s.json_ok(&args);
    assert_eq!(npy["created"], true);
    assert!(npy["check"]["min_cosine"].as_f64().unwrap() >= 0.98);
    let images = s.path().join("images");
    write_images(&images, 4);
    let mut args = flags(images.to_str().unwrap());
    args.extend([
        "--calibrate".into(),
        "percentile".into(),
        "--per-channel".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let img = s.json_ok(&args);
    let label = img["label"].as_str().unwrap();
    assert!(
        label.starts_with("int8(static,perchannel,p99.999,"),
        "{label}"
    );
    let cos = img["check"]["min_cosine"].as_f64().unwrap();
    assert!(cos >= 0.98, "images: cosine {cos}");
    assert!(
        img["pass"]["notes"].to_string().contains("4 images"),
        "{}",
        img["pass"]["notes"]
    );
    assert_eq!(builds(&s).len(), count + 2);
}

#[test]
fn bad_calibration_data_exits_2_and_leaves_the_registry_unchanged() {
    let s = sandbox!();
    let root = imported_cnn(&s);
    let empty = s.path().join("empty-calibration");
    std::fs::create_dir_all(&empty).unwrap();
    let broken = s.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("a.png"), b"not a png").unwrap();
    let wrong = s.path().join("wrong.npz");
    let t = mlgate_ir::tensor::Tensor::new(
        "input",
        vec![2, 3, 10, 10],
        mlgate_ir::tensor::TensorData::F32(vec![0.5; 600]),
    )
    .unwrap();
    mlgate_ir::tensor::write_npz(&wrong, &[t], false).unwrap();
    let before = builds(&s);
    let static8 = ["--pass", "quantize", "--method", "int8_static"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            [
                &static8[..],
                &["--calibration-data", empty.to_str().unwrap()],
            ]
            .concat(),
            "empty-calibration",
        ),
        (
            [
                &static8[..],
                &["--calibration-data", broken.to_str().unwrap()],
            ]
            .concat(),
            "a.png",
        ),
        (
            [
                &static8[..],
                &["--calibration-data", wrong.to_str().unwrap()],
            ]
            .concat(),
            "does not fit",
        ),
        (
            [&static8[..], &["--calibration-data", "no/such/dir"]].concat(),
            "no/such/dir",
        ),
        (static8.to_vec(), "--calibration-data"),
        (
            [
                &static8[..],
                &[
                    "--calibration-data",
                    empty.to_str().unwrap(),
                    "--calibrate",
                    "median",
                ],
            ]
            .concat(),
            "--calibrate",
        ),
        (
            vec![
                "--pass",
                "quantize",
                "--method",
                "fp16",
                "--calibration-data",
                empty.to_str().unwrap(),
            ],
            "--calibration-data",
        ),
    ];
    for (args, mention) in cases {
        let mut all = vec!["optimize", root.as_str()];
        all.extend(args.iter().copied());
        let o = s.run(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(mention), "{all:?}: {}", stderr(&o));
    }
    assert_eq!(builds(&s), before);
    assert_nothing_staged(&s);
}

mod needs_downloads {
    use super::*;

    /// Static int8 on ONNX Runtime: calibrated there, within the bound of float32,
    /// valid ONNX by the reference checker, and Python ONNX Runtime computes the same.
    #[test]
    fn int8_static_runs_on_onnxruntime_and_python_agrees() {
        let s = sandbox!();
        s.require_runtimes(&["onnxruntime"]);
        let cnn = s.fixtures().join("vision_cnn.onnx");
        let root = s.json_ok(&[
            "import",
            "--model",
            cnn.to_str().unwrap(),
            "--target",
            "onnxruntime_cpu",
        ])["build"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let images = s.path().join("images");
        write_images(&images, 8);
        let npz = s.path().join("calibration.npz");
        write_stacked_npz(&npz, &saved_inputs(&s, &root, 8));
        for (data, extra) in [
            (npz.to_str().unwrap(), &[][..]),
            (
                images.to_str().unwrap(),
                &["--per-channel", "--calibrate", "percentile"][..],
            ),
        ] {
            let mut args = vec![
                "optimize",
                root.as_str(),
                "--pass",
                "quantize",
                "--method",
                "int8_static",
                "--calibration-data",
                data,
            ];
            args.extend(extra);
            let v = s.json_ok(&args);
            assert_eq!(v["check"]["backend"], "onnxruntime", "{v}");
            assert!(v["check"]["fallback_from"].is_null(), "{v}");
            let cos = v["check"]["min_cosine"].as_f64().unwrap();
            eprintln!(
                "{} on onnxruntime: cosine {cos:.5}, {} → {} bytes",
                v["label"], v["parent_size_bytes"], v["size_bytes"]
            );
            assert!(cos >= 0.98, "{}: cosine {cos}", v["label"]);
            let id = v["build"]["id"].as_str().unwrap()[..12].to_string();
            let report = python_crosscheck(&s, &id);
            let rel = report["max_rel_l2"].as_f64().unwrap();
            assert!(rel <= 1e-3, "{}: relative L2 {rel}", v["label"]);
        }
    }

    /// Python's reference tools on a variant: the ONNX checker (full, with strict shape
    /// inference) and Python ONNX Runtime on the inputs mlgate used, against mlgate's outputs.
    fn python_crosscheck(s: &Sandbox, build: &str) -> Value {
        let python = mlgate_testkit::testdata("pyenv-onnx").join("bin/python");
        let detail = s.json_ok(&["log", build]);
        let artifact = detail["artifact_path"].as_str().unwrap().to_string();
        let (inputs, outputs) = (
            s.path().join(format!("{build}-in.npz")),
            s.path().join(format!("{build}-out.npz")),
        );
        let o = s.run(&[
            "infer",
            build,
            "--backend",
            "onnxruntime",
            "--save-inputs",
            inputs.to_str().unwrap(),
            "--output",
            outputs.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let script = mlgate_testkit::workspace_root().join("tests/support/ort_crosscheck.py");
        let o = std::process::Command::new(python)
            .arg(script)
            .arg(&artifact)
            .arg(&inputs)
            .arg(&outputs)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{build}: the Python reference rejects {artifact}:\n{}",
            stderr(&o)
        );
        serde_json::from_str(stdout(&o).trim()).unwrap()
    }

    /// Every method on the CNN and the transformer: valid ONNX by the reference checker, and
    /// Python ONNX Runtime computes what mlgate's ONNX Runtime computed.
    #[test]
    fn every_variant_passes_the_onnx_checker_and_python_onnxruntime_agrees() {
        let s = sandbox!();
        s.require_runtimes(&["onnxruntime"]);
        let models = s.fixtures();
        let mut checked = Vec::new();
        for fixture in ["vision_cnn.onnx", "nlp_encoder.onnx"] {
            let path = models.join(fixture);
            let root = s.json_ok(&[
                "import",
                "--model",
                path.to_str().unwrap(),
                "--target",
                "onnxruntime_cpu",
            ])["build"]["id"]
                .as_str()
                .unwrap()
                .to_string();
            for flags in [
                &["--pass", "quantize", "--method", "fp16"][..],
                &["--pass", "quantize", "--method", "int8"],
                &["--pass", "quantize", "--method", "int8", "--per-channel"],
                &["--pass", "quantize", "--method", "int4"],
                &["--pass", "palettize", "--nbits", "4", "--group-size", "16"],
                &["--pass", "prune", "--sparsity", "0.5"],
            ] {
                let mut args = vec!["optimize", root.as_str()];
                args.extend(flags);
                let v = s.json_ok(&args);
                let id = v["build"]["id"].as_str().unwrap()[..12].to_string();
                let report = python_crosscheck(&s, &id);
                let rel = report["max_rel_l2"].as_f64().unwrap();
                assert!(rel <= 1e-4, "{fixture} {}: relative L2 {rel}", v["label"]);
                checked.push(format!("{fixture} {}", v["label"]));
            }
        }
        assert_eq!(checked.len(), 12, "{checked:?}");
    }

    /// Real PaddlePaddle exports keep their weights in Constant nodes: the passes still find
    /// them, and the variants stay close to the original on ONNX Runtime.
    #[test]
    fn a_real_paddle_classifier_quantizes_and_agrees() {
        let s = sandbox!();
        s.require_runtimes(&["onnxruntime"]);
        let model =
            mlgate_testkit::testdata("rapidocr").join("ch_ppocr_mobile_v2.0_cls_infer.onnx");
        let root = s.json_ok(&[
            "import",
            "--model",
            model.to_str().unwrap(),
            "--target",
            "onnxruntime_cpu",
        ])["build"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        // Measured on 8 synthetic samples: fp16 0.9996, int8 per channel 0.989, int8 per
        // tensor 0.938 (this small MobileNet loses more to one activation scale per tensor).
        for (method, cosine) in [
            (&["--method", "fp16"][..], "0.999"),
            (&["--method", "int8", "--per-channel"], "0.98"),
            (&["--method", "int8"], "0.9"),
        ] {
            let mut args = vec!["optimize", root.as_str(), "--pass", "quantize"];
            args.extend(method);
            let v = s.json_ok(&args);
            let notes = v["pass"]["notes"].to_string();
            assert!(
                notes.contains("Constant nodes became initializers"),
                "{notes}"
            );
            let id = v["build"]["id"].as_str().unwrap().to_string();
            let acc = s.json_ok(&[
                "accuracy",
                &root,
                &id,
                "--samples",
                "8",
                "--cosine-threshold",
                cosine,
                "--top1-threshold",
                "0.5",
            ]);
            assert_eq!(acc["passed"], true, "{method:?}: {acc}");
        }
    }

    /// tract has no int4 type: the variant is checked, and recorded, on ONNX Runtime.
    #[test]
    fn int4_blocks_run_on_onnxruntime_when_tract_cannot() {
        let s = sandbox!();
        s.require_runtimes(&["onnxruntime"]);
        let root = imported_cnn(&s);
        let v = s.json_ok(&["optimize", &root, "--pass", "quantize", "--method", "int4"]);
        assert_eq!(v["label"], "int4(b32)");
        assert_eq!(v["check"]["backend"], "onnxruntime");
        assert!(v["check"]["fallback_from"]
            .as_str()
            .unwrap()
            .contains("tract"));
        assert_eq!(v["build"]["backend"], "onnxruntime");
        assert_eq!(v["pass"]["opset_after"], 21);
        let id = v["build"]["id"].as_str().unwrap().to_string();
        let acc = s.json_ok(&[
            "accuracy",
            &root,
            &id,
            "--samples",
            "2",
            "--cosine-threshold",
            "0.95",
            "--top1-threshold",
            "0.5",
        ]);
        assert_eq!(acc["backend"], "onnxruntime");
        // The session configuration a user ships is applied and recorded with the result.
        let o = s.run(&[
            "--ort-config",
            "session.qdq_matmulnbits_accuracy_level=0",
            "accuracy",
            &root,
            &id,
            "--samples",
            "2",
            "--cosine-threshold",
            "0.95",
            "--top1-threshold",
            "0.5",
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        assert_eq!(
            v["session_config"],
            serde_json::json!([["session.qdq_matmulnbits_accuracy_level", "0"]])
        );
        let o = s.run(&["--ort-config", "no-equals-sign", "accuracy", &root, &id]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("KEY=VALUE"), "{}", stderr(&o));
    }
}

#[test]
fn explore_scores_every_measured_variant_by_the_stated_rule() {
    let s = sandbox!();
    let root = imported_cnn(&s);
    let v = s.json_ok(&[
        "explore",
        &root,
        "--methods",
        "int8,palettize_8,prune_0.50",
        "--max-time",
        "2",
    ]);
    assert_eq!(v["schema"], "mlgate.explore/v1");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["verdict"], "baseline");
    for r in &rows[1..] {
        let id = r["build_id"].as_str().unwrap();
        // Every variant is a registered child of the baseline.
        let detail = s.json_ok(&["log", id]);
        assert_eq!(detail["build"]["parent_id"], root.as_str());
        if let Some(score) = r["score"].as_f64() {
            let lat = r["latency_ratio"].as_f64().unwrap();
            let size = r["size_ratio"].as_f64().unwrap();
            assert!((score - (0.6 * lat + 0.4 * size)).abs() < 1e-9, "{r}");
            let shift = &r["latency"];
            if shift["significant"] == false {
                assert_eq!(lat, 1.0, "noise credited: {r}");
            }
        }
    }
    // prune leaves the file size as it is: its score cannot pass 1.0 on size.
    let prune = rows.iter().find(|r| r["method"] == "prune_0.50").unwrap();
    assert_ne!(prune["verdict"], "recommended", "{prune}");
    let recommended: Vec<_> = rows
        .iter()
        .filter(|r| r["verdict"] == "recommended")
        .collect();
    assert!(recommended.len() <= 1);
    if let Some(r) = recommended.first() {
        assert_eq!(v["recommended"], r["build_id"]);
        assert!(r["score"].as_f64().unwrap() > 1.0);
    }
    // A second run reuses every variant.
    let before = builds(&s).len();
    s.json_ok(&["explore", &root, "--methods", "int8", "--max-time", "1"]);
    assert_eq!(builds(&s).len(), before);
}
