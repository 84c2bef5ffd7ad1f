//! Fuzz target: WAL recovery from arbitrary segment bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_engine::fuzzing::wal_recovery(data);
});
