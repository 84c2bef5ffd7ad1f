//! The server's fuzz corpora (config, txn input, etcd gateway requests,
//! gRPC messages and connections) (`fuzz/corpus/<target>/`) through
//! the functions the fuzz targets call, as ordinary tests: seeds must be
//! accepted, `regression-*` inputs must not panic.

use keel_server::fuzzing;
use std::path::PathBuf;

fn replay<T: std::fmt::Debug>(target: &str, check: impl Fn(&[u8]) -> Result<T, String>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = check(&std::fs::read(&path).unwrap());
        // The malformed txn seed is there to exercise the error path.
        if !name.starts_with("regression-") && name != "txn_malformed" {
            assert!(result.is_ok(), "{target}/{name}: {result:?}");
        }
        seen += 1;
    }
    assert!(seen > 0, "no corpus for {target}");
}

#[test]
fn config_corpus() {
    replay("config", fuzzing::config);
}

#[test]
fn txn_input_corpus() {
    replay("txn_input", fuzzing::txn_input);
}

#[test]
fn gateway_request_corpus() {
    replay("gateway_request", fuzzing::gateway_request);
}

#[test]
fn grpc_message_corpus() {
    replay("grpc_message", fuzzing::grpc_message);
}

#[test]
fn grpc_connection_corpus() {
    replay("grpc_connection", fuzzing::grpc_connection);
}
