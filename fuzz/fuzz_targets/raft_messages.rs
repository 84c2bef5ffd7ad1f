//! Fuzz target: raft messages as a member receives them from a peer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_engine::fuzzing::raft_messages(data);
});
