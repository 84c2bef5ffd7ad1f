//! Fuzz target: etcd gRPC request messages, the method picked by the first byte (what decodes must round-trip).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_server::fuzzing::grpc_message(data);
});
