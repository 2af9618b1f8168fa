#![no_main]
//! CoreML `.mlpackage` directories: the first byte picks which of the three files the rest
//! of the input replaces (manifest, spec, weight blob); the other two stay valid, taken from
//! the committed test package, so the fuzzer reaches the code behind each file.

#[path = "common.rs"]
mod common;

use std::path::Path;

const MANIFEST: &str = "Manifest.json";
const SPEC: &str = "Data/com.apple.CoreML/model.mlmodel";
const WEIGHTS: &str = "Data/com.apple.CoreML/weights/weight.bin";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/coreml/mil_conv.mlpackage");
    let pkg = common::scratch_dir().join("model.mlpackage");
    for rel in [MANIFEST, SPEC, WEIGHTS] {
        let dst = pkg.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(source.join(rel), &dst).unwrap();
    }
    let target = [MANIFEST, SPEC, WEIGHTS][which as usize % 3];
    std::fs::write(pkg.join(target), rest).unwrap();
    let _ = mlgate_ir::inspect(&pkg);
});
