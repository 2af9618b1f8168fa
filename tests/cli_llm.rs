//! `mlgate llm-bench` and `mlgate infer` on a GGUF decoder (candle), end to end.

use mlgate_testkit::{sandbox, stderr, stdout};

/// A non-GGUF model is refused by llm-bench, naming the file (no download needed).
#[test]
fn llm_bench_refuses_a_model_that_is_not_gguf() {
    let s = sandbox!();
    let cnn = s.fixtures().join("vision_cnn.onnx");
    let o = s.run(&[
        "llm-bench",
        cnn.to_str().unwrap(),
        "-p",
        "4",
        "-n",
        "2",
        "-r",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(e.contains("vision_cnn.onnx"), "{e}");
}

/// The generated tiny decoders ([`mlgate_ir::fixtures::llama`]) in the sandbox: the
/// 4-layer one and its 8-layer twin.
fn tiny_llamas(s: &mlgate_testkit::Sandbox) -> (String, String) {
    use mlgate_ir::fixtures::llama;
    let dir = s.path().join("llm");
    let fast = llama::write(&dir, &llama::TINY_LLAMA).unwrap();
    let slow = llama::write(&dir, &llama::TINY_LLAMA_SLOW).unwrap();
    (
        fast.to_str().unwrap().to_string(),
        slow.to_str().unwrap().to_string(),
    )
}

/// Decoder gating: the 8-layer decoder against the 4-layer one is a generation regression
/// (exit 1) with the metric named, the reverse an improvement, and a decoder against itself
/// never a regression.
#[test]
fn compare_decoders_on_generation_speed() {
    let s = sandbox!();
    let (fast, slow) = tiny_llamas(&s);
    let gate = |a: &str, b: &str, metric: &str| {
        s.run(&[
            "compare",
            a,
            b,
            "--metric",
            metric,
            "--seq-len",
            "8",
            "--generate",
            "8",
            "--threshold",
            "10",
            "--max-time",
            "12",
            // Four loads per side: when the load check fires on a busy runner, the
            // between-load variance is judged on 3 degrees of freedom, not 1, so a +100%
            // decoder is not left "inconclusive" by the t quantile alone.
            "--sessions",
            "4",
            "--json",
        ])
    };
    let o = gate(&fast, &slow, "tg");
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let v = mlgate_testkit::json(&o);
    let c = &v["result"]["comparison"];
    assert_eq!(c["verdict"], "regression", "{c}");
    assert!(c["relative_delta"].as_f64().unwrap() > 0.2, "{c}");
    assert_eq!(v["result"]["requests"]["metric"], "tg");
    assert_eq!(v["result"]["requests"]["generate_tokens"], 8);
    assert!(c["method"].as_str().unwrap().contains("one request"), "{c}");
    let check = v["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == "tg.p50")
        .unwrap_or_else(|| panic!("no tg.p50 check: {v}"));
    assert_eq!(check["status"], "fail");

    let o = gate(&slow, &fast, "ttft");
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v = mlgate_testkit::json(&o);
    assert_eq!(v["result"]["comparison"]["verdict"], "improvement", "{v}");
    assert_eq!(v["result"]["requests"]["generate_tokens"], 8);

    let o = gate(&fast, &fast, "tpot");
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v = mlgate_testkit::json(&o);
    assert_ne!(v["result"]["comparison"]["verdict"], "regression", "{v}");
}

/// `ci` gates a GGUF build against a tagged baseline on the decoder metric, and `validate`
/// judges a TTFT budget on requests served now.
#[test]
fn ci_and_validate_take_decoder_builds() {
    let s = sandbox!();
    let (fast, slow) = tiny_llamas(&s);
    s.json_ok(&["init"]);
    let v = s.json_ok(&["import", "--model", &fast, "--target", "llm_cpu"]);
    let id = v["build"]["id"].as_str().unwrap().to_string();
    s.json_ok(&["tag", "create", &id, "main-llm"]);
    let o = s.run(&[
        "ci",
        "--model",
        &slow,
        "--baseline",
        "main-llm",
        "--llm-metric",
        "tg",
        "--seq-len",
        "8",
        "--generate",
        "8",
        "--latency-regression",
        "10",
        "--max-time",
        "12",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("tg.p50"), "{text}");

    let o = s.run(&[
        "validate",
        &fast,
        "--llm-metric",
        "ttft",
        "--seq-len",
        "8",
        "--max-latency",
        "5000",
        "--max-time",
        "2",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v = mlgate_testkit::json(&o);
    assert_eq!(v["backend"], "candle", "{v}");
    assert!(v["p50_ms"]["n"].as_u64().unwrap() >= 10, "{v}");
    assert!(
        v["method"]
            .as_str()
            .unwrap()
            .contains("time to first token"),
        "{v}"
    );
    let o = s.run(&[
        "validate",
        &fast,
        "--llm-metric",
        "ttft",
        "--seq-len",
        "8",
        "--max-latency",
        "0.001",
        "--max-time",
        "2",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let v = mlgate_testkit::json(&o);
    let check = &v["verdict"]["checks"][0];
    assert!(
        check["message"].as_str().unwrap().starts_with("ttft p50"),
        "{check}"
    );
}

/// `llm-bench -o jsonl` on the tiny decoder: one line per test, each valid against
/// `docs/schemas/lines/llm-bench-line.v1.json`, with every request's clock readings.
#[test]
fn llm_bench_jsonl_lines_follow_their_schema() {
    let s = sandbox!();
    let (fast, _) = tiny_llamas(&s);
    let o = s.run(&[
        "llm-bench",
        &fast,
        "-p",
        "4,8",
        "-n",
        "3",
        "-r",
        "2",
        "-d",
        "0,16",
        "-o",
        "jsonl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let schema_path =
        mlgate_testkit::workspace_root().join("docs/schemas/lines/llm-bench-line.v1.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    // Two depths × two prompt lengths.
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[2].contains("\"depth\":16"), "{text}");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{line}");
        assert_eq!(v["schema"], "mlgate.llm-bench-line/v1");
        assert_eq!(v["test"]["trials"].as_array().unwrap().len(), 2, "{line}");
        assert_eq!(
            v["test"]["trials"][0]["times"]["token_end_ms"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
    }
}

/// A GGUF decoder of an architecture candle's llama loader does not cover is refused with
/// exit 2, naming the file and the architecture.
#[test]
fn a_decoder_of_another_architecture_is_refused() {
    let s = sandbox!();
    let path = s.path().join("gpt2.gguf");
    let f32s: Vec<u8> = (0..64).flat_map(|i| (i as f32).to_le_bytes()).collect();
    mlgate_ir::gguf::write(
        &path,
        &[(
            "general.architecture",
            mlgate_ir::gguf::Value::String("gpt2".into()),
        )],
        &[mlgate_ir::gguf::NewTensor {
            name: "token_embd.weight",
            dims: &[8, 8],
            ggml_type: 0,
            data: &f32s,
        }],
    )
    .unwrap();
    let o = s.run(&[
        "llm-bench",
        path.to_str().unwrap(),
        "-p",
        "4",
        "-n",
        "2",
        "-r",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(
        e.contains("gpt2.gguf") && e.contains("not supported yet: gpt2"),
        "{e}"
    );
}

mod needs_downloads {
    use super::*;

    fn smollm2() -> std::path::PathBuf {
        mlgate_testkit::testdata("smollm2").join("SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    /// `-p 128 -n 32 -r 3` on SmolLM2-135M: the numbers agree with each other, every request is
    /// there, and the text and CSV outputs have their shapes.
    #[test]
    fn llm_bench_on_smollm2_is_self_consistent() {
        let s = sandbox!();
        let model = smollm2();
        let m = model.to_str().unwrap();
        let v = s.json_ok(&[
            "llm-bench",
            m,
            "-p",
            "128",
            "-n",
            "32",
            "-r",
            "3",
            "--threads",
            "2",
        ]);
        assert_eq!(v["schema"], "mlgate.llm-bench/v1");
        assert_eq!(v["tokenization"], "excluded");
        let r = &v["result"];
        assert_eq!(r["model"]["architecture"], "llama");
        assert_eq!(r["model"]["vocab_size"], 49152);
        assert_eq!(r["session"]["backend"], "candle");
        assert_eq!(r["session"]["intra_op_threads"], 2);
        assert!(r["load_ms"].as_f64().unwrap() > 0.0);
        let tests = r["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 1);
        let t = &tests[0];
        let trials = t["trials"].as_array().unwrap();
        assert_eq!(trials.len(), 3);
        for trial in trials {
            let mtr = &trial["metrics"];
            let ttft = mtr["ttft_ms"].as_f64().unwrap();
            assert!(ttft >= mtr["prefill_ms"].as_f64().unwrap(), "{trial}");
            assert_eq!(trial["times"]["token_end_ms"].as_array().unwrap().len(), 32);
            assert_eq!(mtr["itl_ms"].as_array().unwrap().len(), 31);
            assert!(trial["generated"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t.as_u64().unwrap() < 49152));
        }
        // tg t/s ≈ 1000 / TPOT, in its exact form per request: the decode phase is the
        // first step plus (n − 1) TPOTs, so 1000·n / tg = (TTFT − prefill) + (n − 1)·TPOT.
        // (Comparing the mean of rates with the reciprocal of the mean TPOT is not an
        // identity: on a shared CPU the trials differ, and Jensen's gap is not a bug.)
        for trial in trials {
            let m = &trial["metrics"];
            let tg = trial["decode_tokens_per_second"].as_f64().unwrap();
            let first_step = m["ttft_ms"].as_f64().unwrap() - m["prefill_ms"].as_f64().unwrap();
            let decode_ms = first_step + 31.0 * m["tpot_ms"].as_f64().unwrap();
            let from_tg = 1000.0 * 32.0 / tg;
            assert!(
                (from_tg - decode_ms).abs() <= 1e-6 * decode_ms,
                "tg {tg} t/s gives {from_tg} ms, TTFT/TPOT give {decode_ms} ms: {trial}"
            );
        }
        // Three TTFT samples are too few for a percentile: withheld, not estimated.
        assert_eq!(t["ttft"]["percentiles"][0]["sufficient"], false);
        assert!(t["itl"]["n"].as_u64().unwrap() == 93);

        let md = stdout(&s.run(&["llm-bench", m, "-p", "8", "-n", "2", "-r", "1"]));
        assert!(
            md.contains("| model | size | params | backend | threads | test | t/s |")
                && md.contains("| pp8 |")
                && md.contains("tg2 @ d8")
                && md.contains("tokenization excluded"),
            "{md}"
        );
        let csv = stdout(&s.run(&["llm-bench", m, "-p", "8", "-n", "2", "-r", "2", "-o", "csv"]));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "backend,model,precision,context_length,generate_length,trial,latency_ms,tokens_per_second,ttft_ms,tpot_ms,depth");
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(
            lines[1].starts_with("candle,") && lines[1].contains(",Q4_1,8,2,1,"),
            "{csv}"
        );
    }

    /// `infer` runs one forward pass: the logits of the last position, one per token of
    /// the vocabulary.
    #[test]
    fn infer_gguf_returns_the_last_position_logits() {
        let s = sandbox!();
        let v = s.json_ok(&["infer", smollm2().to_str().unwrap(), "--seq-len", "8"]);
        assert_eq!(v["session"]["backend"], "candle", "{v}");
        assert_eq!(v["outputs"][0]["name"], "logits");
        assert_eq!(v["outputs"][0]["shape"], serde_json::json!([49152]), "{v}");
    }

    /// The real decoder against itself, interleaved request by request: never a
    /// regression; and `llm-bench` on its build records one benchmark per test.
    #[test]
    fn smollm2_against_itself_is_no_regression_and_llm_bench_records_the_build() {
        let s = sandbox!();
        let m = smollm2();
        let m = m.to_str().unwrap();
        let o = s.run(&[
            "compare",
            m,
            m,
            "--metric",
            "tpot",
            "--seq-len",
            "8",
            "--generate",
            "4",
            "--sessions",
            "1",
            "--max-time",
            "10",
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        let v = mlgate_testkit::json(&o);
        assert_ne!(v["result"]["comparison"]["verdict"], "regression", "{v}");
        assert_eq!(v["result"]["baseline"]["session"]["backend"], "candle");

        s.json_ok(&["init"]);
        let v = s.json_ok(&["import", "--model", m, "--target", "llm_cpu"]);
        let id = v["build"]["id"].as_str().unwrap().to_string();
        let v = s.json_ok(&["llm-bench", &id[..8], "-p", "8", "-n", "3", "-r", "2"]);
        assert_eq!(v["recorded"].as_array().unwrap().len(), 1, "{v}");
        let log = s.json_ok(&["log", &id[..8]]);
        let benchmarks = log["benchmarks"].as_array().unwrap();
        assert_eq!(benchmarks.len(), 1, "{log}");
        assert_eq!(benchmarks[0]["backend"], "candle", "{log}");
        assert_eq!(benchmarks[0]["n"], 2, "{log}");
    }

    /// A GGUF model registers for the llm_cpu target.
    #[test]
    fn import_gguf_for_llm_cpu() {
        let s = sandbox!();
        s.json_ok(&["init"]);
        let v = s.json_ok(&[
            "import",
            "--model",
            smollm2().to_str().unwrap(),
            "--target",
            "llm_cpu",
        ]);
        assert_eq!(v["build"]["target"], "llm_cpu", "{v}");
    }
}
