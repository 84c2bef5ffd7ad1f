//! Fuzz target: peer frame decoding.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_engine::fuzzing::peer_frame(data);
});
