//! The jail session's output splitter on arbitrary shell output: `cargo +nightly fuzz run jail_output`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| stockade_jail::splitter_oracle(bytes));
