//! Fuzz target: the daemon's flags, environment and config file.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_server::fuzzing::config(data);
});
