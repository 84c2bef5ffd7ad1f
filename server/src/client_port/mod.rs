//! The client listener.
//!
//! A connection opens with Keel's handshake, then carries request frames,
//! many in flight at once, each answered by a response frame with the same
//! request id (answers may come out of order). A frame over the size limit,
//! a truncated or garbage frame, or an unknown kind gets one error frame
//! (`RequestTooLarge` / `BadRequest`) and the connection is closed; the
//! server and every other connection go on.
//!
//! Each connection's first bytes say what it speaks ([`classify`]): Keel's
//! handshake, the HTTP/2 preface (etcd's v3 gRPC API, served by
//! [`crate::etcd`] over [`crate::grpc`]), or an HTTP/1.x request line
//! (`/health`, `/version`, etcd's JSON gateway under `/v3/`). Under TLS the
//! same holds; ALPN offers `h2` and `http/1.1`, and a client that asks for
//! neither (Keel's own) is served as well.

mod backup;
pub mod classify;
mod http;
mod http_over_h2;
mod watch;

pub use http::parse_request as parse_http_request;
pub use watch::{WatchOptions, WatchSink, created_header, run_watch};

use crate::etcd::{Context, EtcdOptions};
use crate::grpc::header_fix::HeaderFix;
use crate::grpc::{GrpcOptions, Incoming};
use crate::tls::ServerConfig;
use classify::{Duplex, Prefixed, Protocol};
use keel_engine::api::{ApiError, Response, WatchResponse};
use keel_engine::wire::frame::FrameKind;
use keel_engine::wire::handshake::{
    HandshakeStatus, Role, decode_hello, encode_reply, judge_hello,
};
use keel_engine::wire::io::{
    flush, read_frame, read_handshake, write_frame, write_frame_unflushed, write_handshake,
};
use keel_engine::wire::{ClientFrame, Encode, Frame, WireError, client_frame_from};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Bytes buffered per connection for reads and for writes.
const IO_BUFFER_BYTES: usize = 64 * 1024;

/// Limits of the client port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPortOptions {
    /// Limits of gRPC connections (etcd's API).
    pub grpc: GrpcOptions,
    /// Limits of etcd's API (watch streams).
    pub etcd: EtcdOptions,
    /// Largest frame accepted (etcd's `--max-request-bytes` plus framing).
    pub max_frame_bytes: usize,
    /// Requests in flight on one connection before reading pauses.
    pub max_in_flight_per_connection: usize,
    /// Watches open on one connection at once.
    pub max_watches_per_connection: usize,
    /// Limits of each watch.
    pub watch: WatchOptions,
}

impl Default for ClientPortOptions {
    fn default() -> Self {
        ClientPortOptions {
            grpc: GrpcOptions::default(),
            etcd: EtcdOptions::default(),
            max_frame_bytes: keel_engine::wire::DEFAULT_MAX_FRAME_BYTES,
            max_in_flight_per_connection: 1024,
            max_watches_per_connection: 4096,
            watch: WatchOptions::default(),
        }
    }
}

impl ClientPortOptions {
    /// The limits for etcd's `--max-request-bytes`: Keel frames a little
    /// over it, gRPC messages up to it plus etcd's 512 KiB of overhead, and
    /// fragmented watch responses split at it.
    pub fn for_max_request_bytes(max_request_bytes: usize) -> ClientPortOptions {
        let mut options = ClientPortOptions {
            max_frame_bytes: max_request_bytes + 4096,
            ..ClientPortOptions::default()
        };
        options.grpc.max_receive_message_bytes = max_request_bytes + GRPC_OVERHEAD_BYTES;
        options.etcd.watch_streams.fragment_bytes = max_request_bytes;
        options
    }
}

/// etcd's allowance for gRPC's own bytes above `--max-request-bytes`.
const GRPC_OVERHEAD_BYTES: usize = 512 * 1024;

/// The TLS settings of a client listener: the member's, with ALPN offering
/// HTTP/2 (gRPC clients ask for it) and HTTP/1.1.
fn with_alpn(config: Arc<ServerConfig>) -> Arc<ServerConfig> {
    let mut config = (*config).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Serves client connections until the task is dropped; with `tls` (an
/// `https://` listener) inside TLS, the same protocols either way.
pub async fn serve_clients(
    listener: TcpListener,
    ctx: Context,
    options: ClientPortOptions,
    tls: Option<Arc<ServerConfig>>,
) {
    let secure = tls.is_some();
    let tls = tls.map(with_alpn);
    crate::accept::accept_loop(
        listener,
        "client",
        tls,
        move |reader, writer, common_name| {
            // A verified client certificate names the connection's user (etcd's
            // --client-cert-auth), for calls that carry no token.
            let ctx = Context {
                client_common_name: common_name,
                ..ctx.clone()
            };
            serve_client(reader, writer, ctx, options.clone(), secure)
        },
    )
    .await
}

/// Serves one client connection (any byte stream; tests use pipes);
/// `secure`: it came through TLS, where etcd also serves its HTTP handlers
/// over HTTP/2.
pub async fn serve_client<R, W>(
    mut reader: R,
    mut writer: W,
    ctx: Context,
    options: ClientPortOptions,
    secure: bool,
) -> Result<(), WireError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let node = ctx.node.clone();
    let hello = read_handshake(&mut reader).await?;
    let protocol = classify::classify(&hello);
    if ctx.metrics_only && (protocol == Protocol::Keel || (protocol == Protocol::Http2 && !secure))
    {
        // A metrics listener speaks HTTP only (HTTP/2 only under TLS, as
        // Go's net/http does): anything else is closed unanswered.
        return Ok(());
    }
    match protocol {
        Protocol::Http2 => {
            // clientv3 can send a URL as :authority, which h2 refuses.
            let reader = HeaderFix::new(
                Prefixed::new(&hello, reader),
                options.grpc.max_header_list_bytes as usize,
            );
            let io = Duplex::new(reader, writer);
            return serve_grpc(io, ctx, &options, secure).await;
        }
        Protocol::Http1 => {
            // etcd's gateway never takes a certificate's name as the user.
            let ctx = Context {
                client_common_name: None,
                ..ctx
            };
            return http::serve(Prefixed::new(&hello, reader), writer, &ctx, &options).await;
        }
        Protocol::Keel => {}
    }
    let (role, version) = match decode_hello(&hello) {
        Ok(parsed) => parsed,
        Err(err) => {
            // Not one of ours: say so in our own framing, then close.
            let _ = write_frame(&mut writer, &error_frame(0, &err.to_api_error())).await;
            return Err(err);
        }
    };
    let status = judge_hello(role, version, Role::Client);
    write_handshake(&mut writer, &encode_reply(status)).await?;
    if status != HandshakeStatus::Accepted {
        return Ok(());
    }
    let (answers, mut outbox) = mpsc::channel::<Frame>(options.max_in_flight_per_connection);
    let writing = tokio::spawn(async move {
        // Everything answered meanwhile goes out in one buffered write.
        let mut writer = tokio::io::BufWriter::with_capacity(IO_BUFFER_BYTES, writer);
        while let Some(frame) = outbox.recv().await {
            let mut batch = Some(frame);
            while let Some(frame) = batch.take() {
                if write_frame_unflushed(&mut writer, &frame).await.is_err() {
                    return;
                }
                batch = outbox.try_recv().ok();
            }
            if flush(&mut writer).await.is_err() {
                return;
            }
        }
    });
    let mut reader = tokio::io::BufReader::with_capacity(IO_BUFFER_BYTES, reader);
    let in_flight = Arc::new(Semaphore::new(options.max_in_flight_per_connection));
    let mut watches: BTreeMap<u64, (oneshot::Sender<()>, JoinHandle<()>)> = BTreeMap::new();
    let outcome = loop {
        let frame = match read_frame(&mut reader, options.max_frame_bytes).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break Ok(()),
            Err(err) => {
                let _ = answers.send(error_frame(0, &err.to_api_error())).await;
                break Err(err);
            }
        };
        let request = match client_frame_from(&frame) {
            Ok(ClientFrame::Request(_, request)) => request,
            Ok(ClientFrame::WatchCreate(id, create)) => {
                watches.retain(|_, (_, task)| !task.is_finished());
                let refusal = if watches.contains_key(&id) {
                    Some("keel: watch id already in use on this connection")
                } else if watches.len() >= options.max_watches_per_connection {
                    Some("keel: too many watches on this connection")
                } else {
                    None
                };
                if let Some(reason) = refusal {
                    let refused = WatchResponse {
                        canceled: true,
                        cancel_reason: reason.into(),
                        ..WatchResponse::default()
                    };
                    let _ = answers
                        .send(Frame::new(FrameKind::WatchResponse, id, refused.to_bytes()))
                        .await;
                    continue;
                }
                let (stop, stopped) = oneshot::channel();
                let sink = watch::FrameSink {
                    id,
                    out: answers.clone(),
                };
                let watching = watch::create_and_run(
                    node.clone(),
                    create,
                    sink,
                    stopped,
                    options.watch.clone(),
                );
                // Counted while the watch runs (or until its task is stopped).
                let counted = ctx.metrics.as_ref().map(|m| m.watcher());
                let task = tokio::spawn(async move {
                    let _counted = counted;
                    watching.await
                });
                watches.insert(id, (stop, task));
                continue;
            }
            Ok(ClientFrame::WatchCancel(id)) => {
                if let Some((stop, _)) = watches.remove(&id) {
                    let _ = stop.send(());
                }
                continue;
            }
            Ok(ClientFrame::Backup(id)) => {
                let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
                    break Ok(());
                };
                let (node, answers) = (node.clone(), answers.clone());
                tokio::spawn(async move {
                    backup::send_backup(node, id, answers).await;
                    drop(permit);
                });
                continue;
            }
            Err(err) => {
                let _ = answers
                    .send(error_frame(frame.request_id, &err.to_api_error()))
                    .await;
                break Err(err);
            }
        };
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break Ok(());
        };
        let node = node.clone();
        let answers = answers.clone();
        let id = frame.request_id;
        tokio::spawn(async move {
            let result: Result<Response, ApiError> = node.request(request).await;
            let _ = answers
                .send(Frame::new(FrameKind::Response, id, result.to_bytes()))
                .await;
            drop(permit);
        });
    };
    // The connection is gone: so are its watches.
    for (_, (_, task)) in watches {
        task.abort();
    }
    drop(answers);
    let _ = writing.await;
    outcome
}

/// Serves etcd's gRPC API on an HTTP/2 connection; other requests get
/// etcd's HTTP handlers when `secure` (etcd's TLS listeners serve both on
/// one connection) and grpc-go's refusal otherwise (etcd's plain listeners
/// hand HTTP/2 to grpc-go alone).
async fn serve_grpc<IO>(
    io: IO,
    ctx: Context,
    options: &ClientPortOptions,
    secure: bool,
) -> Result<(), WireError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let shared = Arc::new(options.clone());
    let service = Arc::new(move |incoming: Incoming| {
        let ctx = ctx.clone();
        let options = Arc::clone(&shared);
        // Boxed: a call's future holds the state of every etcd method, and
        // the runtime moves a task's future when it starts and ends it.
        Box::pin(async move {
            match incoming {
                Incoming::Call(call) if ctx.metrics_only => {
                    call.sink.finish(&crate::grpc::Status::unimplemented(
                        "keel: this is a metrics listener; gRPC is served on the client URLs",
                    ))
                }
                Incoming::Call(call) => crate::etcd::serve_call(ctx, &options.etcd, call).await,
                Incoming::Plain(plain) if secure => {
                    // The gateway over HTTP/2: as over HTTP/1.1, a
                    // certificate's name is never the user.
                    let ctx = Context {
                        client_common_name: None,
                        ..ctx
                    };
                    http_over_h2::serve(plain, ctx, &options).await
                }
                Incoming::Plain(plain) => plain.refuse(),
            }
        })
    });
    crate::grpc::serve_connection(io, &options.grpc, service)
        .await
        .map_err(|e| WireError::malformed("http2", e.to_string()))
}

fn error_frame(request_id: u64, error: &ApiError) -> Frame {
    Frame::new(FrameKind::Error, request_id, error.to_bytes())
}
