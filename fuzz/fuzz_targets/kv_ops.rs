//! Fuzz target: KV operations against the store and a model, with crashes and reopens.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_engine::fuzzing::kv_ops(data);
});
