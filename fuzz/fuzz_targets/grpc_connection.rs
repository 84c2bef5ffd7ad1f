//! Fuzz target: what a client sends on an HTTP/2 connection after the preface, served by Keel's gRPC layer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_server::fuzzing::grpc_connection(data);
});
