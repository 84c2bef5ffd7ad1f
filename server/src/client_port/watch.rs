//! One watch on a client connection.
//!
//! A watcher reads the member's applied history from its start revision
//! in bounded batches and sends them; once caught up it waits for the
//! member's revision to move. Everything comes from the store, so events
//! are in revision order with no gap or duplicate, and the events of one
//! txn arrive together. A slow client only slows its own watcher: the
//! watcher holds one batch at a time and reads the rest from the store
//! when the client catches up, so it never grows server memory.
//!
//! As in etcd, a watch that is catching up on history gets its events in
//! batches, and a watch that has caught up (synced, in etcd's words) gets
//! one response per revision, its header at that revision.

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
    // A watch from now (or from the future) starts synced; one replaying
    // history is synced once it has caught up.
    let mut synced = create.start_revision <= 0 || create.start_revision > created.revision;
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
        let batches = if synced {
            by_revision(events)
        } else {
            vec![events]
        };
        for events in batches.into_iter().filter(|e| !e.is_empty()) {
            let header = if synced {
                ResponseHeader {
                    revision: events[0].kv.mod_revision,
                    ..template
                }
            } else {
                template
            };
            let response = WatchResponse {
                header,
                events,
                ..WatchResponse::default()
            };
            if !send(response).await {
                return;
            }
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
                synced = true;
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

/// Splits events (in revision order) into one list per revision.
fn by_revision(events: Vec<keel_engine::api::Event>) -> Vec<Vec<keel_engine::api::Event>> {
    let mut batches: Vec<Vec<keel_engine::api::Event>> = Vec::new();
    for event in events {
        match batches.last_mut() {
            Some(batch) if batch[0].kv.mod_revision == event.kv.mod_revision => batch.push(event),
            _ => batches.push(vec![event]),
        }
    }
    batches
}

fn canceled(header: ResponseHeader, reason: String) -> WatchResponse {
    WatchResponse {
        header,
        canceled: true,
        cancel_reason: reason,
        ..WatchResponse::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_engine::api::{Event, KeyValue};

    fn event(key: &str, revision: i64) -> Event {
        Event {
            kind: EventKind::Put,
            kv: KeyValue {
                key: bytes::Bytes::copy_from_slice(key.as_bytes()),
                mod_revision: revision,
                ..KeyValue::default()
            },
            prev_kv: None,
        }
    }

    #[test]
    fn synced_responses_carry_one_revision_each_and_keep_a_txns_events_together() {
        let events = vec![event("a", 5), event("b", 5), event("a", 6), event("c", 9)];
        let batches = by_revision(events);
        let revisions: Vec<Vec<i64>> = batches
            .iter()
            .map(|b| b.iter().map(|e| e.kv.mod_revision).collect())
            .collect();
        assert_eq!(revisions, [vec![5, 5], vec![6], vec![9]]);
        assert!(by_revision(Vec::new()).is_empty());
    }
}
