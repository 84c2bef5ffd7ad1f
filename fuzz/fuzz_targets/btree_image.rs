//! Fuzz target: B-tree image install and file open, then scans, over arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_engine::fuzzing::btree_image(data);
});
