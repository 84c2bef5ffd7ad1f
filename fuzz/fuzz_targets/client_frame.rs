//! Fuzz target: client frame decoding (and re-encoding of what decodes).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_engine::fuzzing::client_frame(data);
});
