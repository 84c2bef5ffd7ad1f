//! The client listener.
//!
//! A connection opens with Keel's handshake, then carries request frames,
//! many in flight at once, each answered by a response frame with the same
//! request id (answers may come out of order). A frame over the size limit,
//! a truncated or garbage frame, or an unknown kind gets one error frame
//! (`RequestTooLarge` / `BadRequest`) and the connection is closed; the
//! server and every other connection go on.
//!
//! A connection that opens with `GET ` is plain HTTP instead: `GET /health`
//! and `GET /version` answer as etcd's do, for load balancers.

mod http;
mod watch;

pub use watch::WatchOptions;

use crate::tls::ServerConfig;
use keel_engine::api::{ApiError, Response, WatchResponse};
use keel_engine::node::NodeHandle;
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
            max_frame_bytes: keel_engine::wire::DEFAULT_MAX_FRAME_BYTES,
            max_in_flight_per_connection: 1024,
            max_watches_per_connection: 4096,
            watch: WatchOptions::default(),
        }
    }
}

/// Serves client connections until the task is dropped; with `tls` (an
/// `https://` listener) inside TLS, the same frames either way.
pub async fn serve_clients(
    listener: TcpListener,
    node: NodeHandle,
    options: ClientPortOptions,
    tls: Option<Arc<ServerConfig>>,
) {
    crate::accept::accept_loop(listener, "client", tls, move |reader, writer| {
        serve_client(reader, writer, node.clone(), options.clone())
    })
    .await
}

/// Serves one client connection (any byte stream; tests use pipes).
pub async fn serve_client<R, W>(
    mut reader: R,
    mut writer: W,
    node: NodeHandle,
    options: ClientPortOptions,
) -> Result<(), WireError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let hello = read_handshake(&mut reader).await?;
    if hello.starts_with(b"GET ") {
        return http::serve(reader, writer, &hello, &node).await;
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
                let task = tokio::spawn(watch::run_watch(
                    node.clone(),
                    id,
                    create,
                    answers.clone(),
                    stopped,
                    options.watch.clone(),
                ));
                watches.insert(id, (stop, task));
                continue;
            }
            Ok(ClientFrame::WatchCancel(id)) => {
                if let Some((stop, _)) = watches.remove(&id) {
                    let _ = stop.send(());
                }
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

fn error_frame(request_id: u64, error: &ApiError) -> Frame {
    Frame::new(FrameKind::Error, request_id, error.to_bytes())
}
