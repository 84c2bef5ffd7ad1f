//! Fuzz target: an HTTP/1.1 request on the client port, its body decoded as the etcd gateway method its path names (what decodes must round-trip).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = keel_server::fuzzing::gateway_request(data);
});
