//! The audit verifier on arbitrary log files: `cargo +nightly fuzz run audit_verify`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| stockade_audit::oracle::verifier(bytes));
