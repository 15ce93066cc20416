//! The tool-protocol decoder on arbitrary frames: `cargo +nightly fuzz run tool_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| stockade_core::protocol::oracle(bytes));
