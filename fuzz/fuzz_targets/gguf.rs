#![no_main]
//! GGUF: arbitrary bytes through the header parser, then through `inspect` as a `.gguf` file
//! (seeded with a tiny model written by mlgate-ir's GGUF writer and the real SmolLM2 header).

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = mlgate_ir::gguf::parse_bytes(data);
    common::inspect_as("model.gguf", data);
});
