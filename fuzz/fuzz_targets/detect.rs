#![no_main]
//! Format detection on a file whose extension says nothing: every reader's sniffing and
//! the protobuf fallbacks see the bytes.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::inspect_as("model.bin", data);
});
