//! HTTP and MCP request bodies on arbitrary bytes: `cargo +nightly fuzz run http_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| stockade_core::request::oracle(bytes));
