//! Tool-argument rules on arbitrary input: `cargo +nightly fuzz run constraint`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| stockade_policy::oracle::constraint(bytes));
