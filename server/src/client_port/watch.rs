//! One watch on a client connection.
//!
//! A watcher reads the member's applied history from its start revision
//! in bounded batches and sends them; once caught up it waits for the
//! member's revision to move. Everything comes from the store, so events
//! are in revision order with no gap or duplicate, and the events of one
//! txn arrive together. A slow client only slows its own watcher: the
//! watcher holds one batch at a time and reads the rest from the store
//! when the client catches up, so it never grows server memory.

use keel_engine::api::{
    ApiError, EventKind, Request, Response, ResponseHeader, WatchCreateRequest, WatchResponse,
};
use keel_engine::node::{ChangesQuery, NodeHandle};
use keel_engine::wire::frame::FrameKind;
use keel_engine::wire::{Encode, Frame};
use std::future::Future;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Limits of one watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// Events per response, about (a txn's events are never split).
    pub max_events_per_response: usize,
    /// Bytes of keys and values per response, about (likewise).
    pub max_bytes_per_response: usize,
    /// How often a watch that asked for progress notifications gets one
    /// (etcd: 10 minutes).
    pub progress_interval: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            max_events_per_response: 1000,
            max_bytes_per_response: 4 << 20,
            progress_interval: Duration::from_secs(600),
        }
    }
}

/// etcd's text for a watch whose start revision was compacted away.
const COMPACTED: &str = "etcdserver: mvcc: required revision has been compacted";

/// Waits until the member has applied `revision` (false: it stopped).
async fn applied(
    status: &mut tokio::sync::watch::Receiver<keel_engine::node::NodeStatus>,
    revision: i64,
) -> bool {
    loop {
        {
            let now = status.borrow_and_update();
            if now.stopped {
                return false;
            }
            if now.revision >= revision {
                return true;
            }
        }
        if status.changed().await.is_err() {
            return false;
        }
    }
}

/// Where a watch's responses go: Keel's own frames or an etcd gRPC stream.
pub trait WatchSink: Send + Sync + 'static {
    /// Sends one response; false once nobody listens any more.
    fn send(&self, response: WatchResponse) -> impl Future<Output = bool> + Send;

    /// Everything in the watched range up to `revision` has been sent.
    fn caught_up(&self, revision: i64) {
        let _ = revision;
    }
}

/// Keel's own protocol: watch responses as frames of watch `id`.
#[derive(Debug, Clone)]
pub struct FrameSink {
    /// The watch id the client chose.
    pub id: u64,
    /// The connection's outgoing frames.
    pub out: mpsc::Sender<Frame>,
}

impl WatchSink for FrameSink {
    async fn send(&self, response: WatchResponse) -> bool {
        let frame = Frame::new(FrameKind::WatchResponse, self.id, response.to_bytes());
        self.out.send(frame).await.is_ok()
    }
}

/// The header a new watch is created with: the member's identity, term
/// and current revision (the watch sees every change after it).
pub async fn created_header(node: &NodeHandle) -> Result<ResponseHeader, ApiError> {
    let mut header = match node.request(Request::Status).await? {
        Response::Status(status) => status.header,
        _ => ResponseHeader::default(),
    };
    header.revision = node.status().revision;
    Ok(header)
}

/// Creates and runs a watch on Keel's own protocol: the created response
/// (or the reason it could not be), then [`run_watch`].
pub async fn create_and_run<S: WatchSink>(
    node: NodeHandle,
    create: WatchCreateRequest,
    sink: S,
    cancel: oneshot::Receiver<()>,
    options: WatchOptions,
) {
    let header = match created_header(&node).await {
        Ok(header) => header,
        Err(err) => {
            let _ = sink
                .send(canceled(ResponseHeader::default(), err.to_string()))
                .await;
            return;
        }
    };
    let created = WatchResponse {
        header,
        created: true,
        ..WatchResponse::default()
    };
    if sink.send(created).await {
        run_watch(node, create, sink, cancel, options, header).await;
    }
}

/// Runs a created watch until it is canceled, fails, or the sink closes.
/// `created` is the header of its created response: a watch without a
/// start revision sees the changes after `created.revision`.
pub async fn run_watch<S: WatchSink>(
    node: NodeHandle,
    create: WatchCreateRequest,
    sink: S,
    mut cancel: oneshot::Receiver<()>,
    options: WatchOptions,
    created: ResponseHeader,
) {
    let send = |response: WatchResponse| sink.send(response);
    let mut template = created;
    let mut status = node.watch_status();
    let mut next = if create.start_revision > 0 {
        create.start_revision
    } else {
        created.revision + 1
    };
    sink.caught_up(next - 1);
    let mut progress = tokio::time::interval(options.progress_interval);
    progress.reset();
    loop {
        let query = ChangesQuery {
            key: create.key.clone(),
            range_end: create.range_end.clone(),
            from: next,
            max_events: options.max_events_per_response,
            max_bytes: options.max_bytes_per_response,
            prev_kv: create.prev_kv,
        };
        let changes = match node.changes(query).await {
            Ok(changes) => changes,
            Err(err) => {
                let mut response = canceled(template, err.to_string());
                if let ApiError::Compacted { compact_revision } = err {
                    response.compact_revision = compact_revision;
                    response.cancel_reason = COMPACTED.into();
                }
                let _ = send(response).await;
                return;
            }
        };
        // Everything in range up to next - 1 is delivered once these are.
        next = changes.next_revision;
        template.revision = next - 1;
        let events: Vec<_> = changes
            .events
            .into_iter()
            .filter(|e| match e.kind {
                EventKind::Put => !create.no_put,
                EventKind::Delete => !create.no_delete,
            })
            .collect();
        if !events.is_empty()
            && !send(WatchResponse {
                header: template,
                events,
                ..WatchResponse::default()
            })
            .await
        {
            return;
        }
        sink.caught_up(next - 1);
        if matches!(
            cancel.try_recv(),
            Ok(()) | Err(oneshot::error::TryRecvError::Closed)
        ) {
            let _ = send(canceled(template, String::new())).await;
            return;
        }
        if next <= status.borrow().revision {
            continue; // more history to read
        }
        // Caught up: wait for the member to move, a cancel, or progress.
        tokio::select! {
            _ = &mut cancel => {
                let _ = send(canceled(template, String::new())).await;
                return;
            }
            moved = applied(&mut status, next) => {
                if !moved {
                    let _ = send(canceled(template, ApiError::Stopped.to_string())).await;
                    return;
                }
            }
            _ = progress.tick(), if create.progress_notify => {
                // A watch of the future has seen nothing beyond the member.
                let header = ResponseHeader {
                    revision: (next - 1).min(status.borrow().revision),
                    ..template
                };
                if !send(WatchResponse { header, ..WatchResponse::default() }).await {
                    return;
                }
            }
        }
    }
}

fn canceled(header: ResponseHeader, reason: String) -> WatchResponse {
    WatchResponse {
        header,
        canceled: true,
        cancel_reason: reason,
        ..WatchResponse::default()
    }
}
