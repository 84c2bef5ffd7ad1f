//! Entry points shared by the fuzz targets (`fuzz/`) and the corpus replay
//! tests for what the server parses: the daemon's configuration, keelctl's
//! txn input, etcd's gateway requests and gRPC connections. Each takes
//! arbitrary bytes and must return without panicking; the etcd ones also
//! check that whatever decodes encodes back to the same message.

use crate::etcd::proto::etcdserverpb as pb;
use crate::etcd::proto::json::{self, ProtoJson};
use crate::etcd::unary::{RequestVisitor, Unary};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;

/// Splits `data` at NUL bytes into three parts — command-line arguments
/// (one per line), environment (`KEY=VALUE` lines) and the config file's
/// text — and parses them as `keel` would. The config file is read only if
/// `--config-file` (or its variable) names one.
pub fn config(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let args_text = parts.next().unwrap_or("");
    let env_text = parts.next().unwrap_or("");
    let file_text = parts.next().unwrap_or("").to_string();
    let mut args = vec!["keel".to_string()];
    args.extend(
        args_text
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string),
    );
    let env: BTreeMap<String, String> = env_text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let read = move |_: &Path| -> std::io::Result<String> { Ok(file_text.clone()) };
    crate::config::parse_server_config(&args, &env, &read)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Parses `data` as keelctl's txn input (compares, success and failure
/// operations).
pub fn txn_input(data: &[u8]) -> Result<usize, String> {
    crate::ctl::txn_input::parse_txn(data)
        .map(|txn| txn.compare.len() + txn.success.len() + txn.failure.len())
        .map_err(|e| e.message)
}

/// Checks that a message decoded from JSON writes back to JSON that
/// decodes to the same message, and survives a protobuf round trip.
fn json_round_trip<M>(body: &[u8]) -> Result<(), String>
where
    M: ProtoJson + prost::Message + Default + PartialEq + Debug,
{
    let message: M = json::from_json(body).map_err(|e| e.0)?;
    let written = json::to_json(&message);
    let again: M = json::from_json(written.as_bytes())
        .unwrap_or_else(|e| panic!("{written} does not read back: {e}"));
    assert_eq!(again, message, "JSON round trip of {written}");
    proto_round_trip(&message);
    Ok(())
}

/// Checks that a message encodes and decodes to itself.
fn proto_round_trip<M: prost::Message + Default + PartialEq + Debug>(message: &M) {
    let bytes = message.encode_to_vec();
    let decoded = M::decode(&bytes[..]).unwrap_or_else(|e| panic!("{message:?}: {e}"));
    assert_eq!(&decoded, message, "protobuf round trip");
}

/// Decodes protobuf bytes as the visited type and round-trips the result.
struct ProtoBytes<'a>(&'a [u8]);

impl RequestVisitor for ProtoBytes<'_> {
    type Output = Result<(), String>;
    fn visit<M>(self) -> Self::Output
    where
        M: ProtoJson + prost::Message + Default + PartialEq + Debug,
    {
        let message = M::decode(self.0).map_err(|e| e.to_string())?;
        proto_round_trip(&message);
        let written = json::to_json(&message);
        let again: M = json::from_json(written.as_bytes())
            .unwrap_or_else(|e| panic!("{written} does not read back: {e}"));
        assert_eq!(again, message, "JSON of a decoded message");
        Ok(())
    }
}

/// Decodes a JSON body as the visited type and round-trips it.
struct JsonBody<'a>(&'a [u8]);

impl RequestVisitor for JsonBody<'_> {
    type Output = Result<(), String>;
    fn visit<M>(self) -> Self::Output
    where
        M: ProtoJson + prost::Message + Default + PartialEq + Debug,
    {
        json_round_trip::<M>(self.0)
    }
}

/// Reads `data` as one HTTP/1.1 request on the client port, then decodes
/// its body as the etcd gateway method its path names (a stream of objects
/// for `/v3/watch` and `/v3/lease/keepalive`).
pub fn gateway_request(data: &[u8]) -> Result<(), String> {
    let (_method, path, body) = crate::client_port::parse_http_request(data, 1 << 20)?;
    let Some(path) = crate::etcd::gateway::gateway_path(&path) else {
        return Ok(());
    };
    match path {
        "watch" => stream_round_trip::<pb::WatchRequest>(&body),
        "lease/keepalive" => stream_round_trip::<pb::LeaseKeepAliveRequest>(&body),
        _ => match Unary::from_gateway_path(path) {
            Some(method) => method.visit_request(JsonBody(&body)),
            None => Ok(()),
        },
    }
}

fn stream_round_trip<M>(body: &[u8]) -> Result<(), String>
where
    M: ProtoJson + prost::Message + Default + PartialEq + Debug,
{
    for value in serde_json::Deserializer::from_slice(body).into_iter::<serde_json::Value>() {
        let value = value.map_err(|e| e.to_string())?;
        json_round_trip::<M>(value.to_string().as_bytes())?;
    }
    Ok(())
}

/// Decodes `data` as a gRPC request message: the first byte picks the
/// method (modulo the number of methods), the rest is its protobuf.
pub fn grpc_message(data: &[u8]) -> Result<(), String> {
    let Some((&pick, bytes)) = data.split_first() else {
        return Ok(());
    };
    let method = Unary::ALL[usize::from(pick) % Unary::ALL.len()];
    method.visit_request(ProtoBytes(bytes))
}

/// Serves `data` as what a client sends on an HTTP/2 connection after the
/// connection preface: frames, headers, gRPC messages. Every call's
/// messages are decoded as its method's requests; nothing reaches a node.
#[cfg(not(madsim))]
pub fn grpc_connection(data: &[u8]) -> Result<(), String> {
    use crate::grpc::{GrpcOptions, Incoming, serve_connection};
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let (client, server) = tokio::io::duplex(1 << 20);
        let (mut from_server, mut to_server) = tokio::io::split(client);
        let mut input = PREFACE.to_vec();
        input.extend_from_slice(data);
        let writing = tokio::spawn(async move {
            let _ = to_server.write_all(&input).await;
            let _ = to_server.shutdown().await;
        });
        let draining = tokio::spawn(async move {
            let mut sink = Vec::new();
            let _ = from_server.read_to_end(&mut sink).await;
        });
        let options = GrpcOptions {
            handshake_timeout: Duration::from_millis(100),
            max_receive_message_bytes: 1 << 16,
            ..GrpcOptions::default()
        };
        let service = Arc::new(|incoming: Incoming| async move {
            match incoming {
                Incoming::Call(call) => decode_call(call).await,
                Incoming::Plain(plain) => plain.refuse(),
            }
        });
        let served = tokio::time::timeout(
            Duration::from_secs(2),
            serve_connection(server, &options, service),
        )
        .await;
        writing.abort();
        draining.abort();
        match served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("connection still open".into()),
        }
    })
}

/// Reads every message of a call as its method's request type, then ends
/// the call.
#[cfg(not(madsim))]
async fn decode_call(call: crate::grpc::Call) {
    use crate::grpc::{Code, Status};
    let crate::grpc::Call {
        method,
        mut reader,
        sink,
        ..
    } = call;
    let status = loop {
        let bytes = match reader.next_raw().await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => break Status::new(Code::Ok, ""),
            Err(status) => break status,
        };
        let decoded = match method.as_str() {
            "/etcdserverpb.Watch/Watch" => decode_round_trip::<pb::WatchRequest>(&bytes),
            "/etcdserverpb.Lease/LeaseKeepAlive" => {
                decode_round_trip::<pb::LeaseKeepAliveRequest>(&bytes)
            }
            path => match Unary::from_grpc_path(path) {
                Some(unary) => unary.visit_request(ProtoBytes(&bytes)),
                None => Err("unknown method".into()),
            },
        };
        if let Err(why) = decoded {
            break Status::internal(why);
        }
    };
    sink.finish(&status);
}

#[cfg(not(madsim))]
fn decode_round_trip<M>(bytes: &[u8]) -> Result<(), String>
where
    M: ProtoJson + prost::Message + Default + PartialEq + Debug,
{
    ProtoBytes(bytes).visit::<M>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_flags_environment_and_file() {
        assert!(config(b"--name\nm1\0KEEL_SNAPSHOT_COUNT=10\0").is_ok());
        assert!(config(b"--config-file\n/etc/keel.yaml\0\0name: 'infra1'\n").is_ok());
        assert!(config(b"--no-such-flag\0\0").is_err());
        assert!(
            config(b"--name\nm1\0KEEL_NAME=m2\0").is_err(),
            "flag and variable both set"
        );
        assert!(config(b"--config-file\nx\0\0: : [ not yaml").is_err());
    }

    #[test]
    fn gateway_requests_decode_by_their_path() {
        let put = b"POST /v3/kv/put HTTP/1.1\r\nContent-Length: 14\r\n\r\n{\"key\":\"Zm9v\"}";
        assert_eq!(gateway_request(put), Ok(()));
        let bad = b"POST /v3/kv/put HTTP/1.1\r\nContent-Length: 9\r\n\r\n{\"key\":1}";
        assert!(gateway_request(bad).is_err());
        let watch =
            b"POST /v3/watch HTTP/1.1\r\nContent-Length: 26\r\n\r\n{\"create_request\":{}} {}  ";
        assert_eq!(gateway_request(watch), Ok(()));
        assert!(gateway_request(b"\x00garbage").is_err());
    }

    #[test]
    fn grpc_messages_decode_as_the_picked_method() {
        // Method 0 is Range: field 1 (key) = "a".
        assert_eq!(grpc_message(&[0, 0x0a, 1, b'a']), Ok(()));
        assert!(grpc_message(&[0, 0x0a, 9]).is_err());
        assert_eq!(grpc_message(&[]), Ok(()));
    }

    #[test]
    fn grpc_connections_of_garbage_end() {
        // The preface, a SETTINGS frame, then the client closes: a clean end.
        assert_eq!(
            grpc_connection(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"),
            Ok(())
        );
        // A SETTINGS frame, then a HEADERS frame that is not valid HPACK.
        let frames =
            b"\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x02\x01\x05\x00\x00\x00\x01\xff\xff";
        assert!(grpc_connection(frames).is_err());
    }

    #[test]
    fn txn_input_counts_what_it_parsed() {
        assert_eq!(
            txn_input(b"mod(\"k\") > \"0\"\n\nput k v\n\nget k\ndel k\n\n"),
            Ok(4)
        );
        assert_eq!(
            txn_input(b"bogus\n\n\n\n"),
            Err("malformed comparison: bogus".into())
        );
    }
}
