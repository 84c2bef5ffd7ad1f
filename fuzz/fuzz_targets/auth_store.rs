//! Fuzz target: the auth store rebuilt from its tree's entries.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_engine::fuzzing::auth_store(data);
});
