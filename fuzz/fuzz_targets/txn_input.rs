//! Fuzz target: keelctl's txn input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_server::fuzzing::txn_input(data);
});
