//! The policy parser on arbitrary bytes: `cargo +nightly fuzz run policy`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| stockade_policy::oracle::policy_document(bytes));
