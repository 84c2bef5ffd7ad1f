//! etcd's Watch service: one bidirectional stream carrying many watches.
//!
//! The rules are etcd 3.4's: a watch id of 0 asks the server to pick one
//! (counting up from 0, skipping ids in use); a taken id or an empty range
//! is answered created-and-canceled with id -1 and etcd's reason; created
//! responses come back in the order the creates were sent (clients match
//! them that way); a cancel is answered with a canceled response; a
//! progress request with a response for watch id -1 carrying a revision
//! every watch of the stream has delivered everything up to; `fragment`
//! splits a large response as etcd does. Each watch reads the member's
//! history as Keel's own watches do (`client_port::run_watch`).

use super::convert;
use super::proto::etcdserverpb as pb;
use super::unary::Context;
use crate::client_port::{WatchOptions, WatchSink, created_header, run_watch};
use crate::grpc::codec::MessageReader;
use crate::grpc::{Call, Code, ResponseSink, Status};
use keel_engine::api::{ResponseHeader, WatchResponse};
use keel_engine::node::Need;
use prost::Message as _;
use std::collections::BTreeMap;
use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Limits of etcd watch streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchStreamOptions {
    /// Limits of each watch.
    pub watch: WatchOptions,
    /// Watches open on one stream at once.
    pub max_watches_per_stream: usize,
    /// Responses queued for a slow client before watchers wait.
    pub queue_responses: usize,
    /// A fragmented watch splits responses at about this many bytes
    /// (etcd: `--max-request-bytes`).
    pub fragment_bytes: usize,
    /// With clientv3's `hasleader` metadata, a stream is ended with "no
    /// leader" once the member has had no leader this long (etcd: three
    /// election timeouts).
    pub no_leader_timeout: Duration,
}

impl Default for WatchStreamOptions {
    fn default() -> Self {
        WatchStreamOptions {
            watch: WatchOptions::default(),
            max_watches_per_stream: 4096,
            queue_responses: 16,
            fragment_bytes: keel_engine::wire::DEFAULT_MAX_FRAME_BYTES,
            no_leader_timeout: Duration::from_secs(3),
        }
    }
}

/// One watch of the stream, as its gRPC sink.
#[derive(Clone)]
struct StreamSink {
    id: i64,
    fragment: bool,
    fragment_bytes: usize,
    out: mpsc::Sender<Out>,
    caught_up: Arc<AtomicI64>,
}

impl WatchSink for StreamSink {
    async fn send(&self, response: WatchResponse) -> bool {
        let response = convert::watch_response(self.id, &response);
        for part in fragments(response, self.fragment, self.fragment_bytes) {
            if self.out.send(Out::Response(part)).await.is_err() {
                return false;
            }
        }
        true
    }

    fn caught_up(&self, revision: i64) {
        self.caught_up.store(revision, Ordering::Release);
    }
}

/// Splits a response as etcd's `sendFragments` does when the watch asked
/// for fragments: parts of at least one event, each under `limit` bytes
/// where possible, all but the last marked `fragment`.
fn fragments(response: pb::WatchResponse, fragment: bool, limit: usize) -> Vec<pb::WatchResponse> {
    if !fragment || response.encoded_len() < limit || response.events.len() < 2 {
        return vec![response];
    }
    let mut template = response.clone();
    template.events = Vec::new();
    template.fragment = true;
    let mut parts = Vec::new();
    let mut current = template.clone();
    let mut size = current.encoded_len();
    for event in response.events {
        let event_size = event.encoded_len() + 2;
        if !current.events.is_empty() && size + event_size >= limit {
            parts.push(std::mem::replace(&mut current, template.clone()));
            size = current.encoded_len();
        }
        size += event_size;
        current.events.push(event);
    }
    current.fragment = false;
    parts.push(current);
    parts
}

/// A running watch of the stream.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    caught_up: Arc<AtomicI64>,
}

/// Where a stream's requests come from: a gRPC call's messages, or the
/// JSON objects of a gateway request's body.
pub trait Requests<M>: Send {
    /// The next request; `None` once the client closed its side.
    fn next(&mut self) -> impl Future<Output = Result<Option<M>, Status>> + Send;
}

impl<M: prost::Message + Default + Send> Requests<M> for MessageReader {
    async fn next(&mut self) -> Result<Option<M>, Status> {
        MessageReader::next(self).await
    }
}

impl<M: Send> Requests<M> for std::vec::IntoIter<M> {
    async fn next(&mut self) -> Result<Option<M>, Status> {
        Ok(Iterator::next(self))
    }
}

/// What goes out on a watch stream, in order: responses, then at most one
/// final status (none: the stream ends with OK).
#[derive(Debug)]
pub enum Out {
    /// A response.
    Response(pb::WatchResponse),
    /// The stream ends with this status.
    End(Status),
}

/// Serves one gRPC Watch stream until the client goes away or it fails.
pub async fn serve(ctx: Context, options: WatchStreamOptions, call: Call, require_leader: bool) {
    let Call { reader, sink, .. } = call;
    let (out, outgoing) = mpsc::channel(options.queue_responses.max(1));
    let writer = tokio::spawn(write_out(sink, outgoing));
    run_stream(ctx, options, reader, out, writer, require_leader).await;
}

/// The cancel reason of a create refused for `err`: the text of etcd's
/// gRPC error, as its watch server puts it (`rpc error: code = ... desc =
/// ...`).
pub fn refusal_reason(err: &keel_engine::api::ApiError) -> String {
    let status = super::errors::status_of(err);
    format!(
        "rpc error: code = {:?} desc = {}",
        status.code, status.message
    )
}

/// Runs a watch stream: reads `requests`, queues what goes out on `out`,
/// which `writer` sends; ends when the requests fail, the writer ends (the
/// client went away), or, with `require_leader`, the member has no leader
/// for too long. Every watch of the stream stops with it.
pub async fn run_stream<R: Requests<pb::WatchRequest>>(
    ctx: Context,
    options: WatchStreamOptions,
    mut requests: R,
    out: mpsc::Sender<Out>,
    mut writer: JoinHandle<()>,
    require_leader: bool,
) {
    let mut stream = Stream {
        ctx,
        options,
        out,
        watches: BTreeMap::new(),
        next_id: 0,
    };
    let mut leader = stream.ctx.node.watch_status();
    let mut reading = true;
    let mut writer_done = false;
    loop {
        let leaderless = leader.borrow().leader_id == 0;
        tokio::select! {
            message = requests.next(), if reading => match message {
                Ok(Some(request)) => stream.handle(request).await,
                // The client closed its side; watches go on, as in etcd.
                Ok(None) => reading = false,
                Err(status) => {
                    stream.end(status).await;
                    break;
                }
            },
            _ = &mut writer => {
                writer_done = true;
                break;
            }
            changed = leader.changed(), if require_leader => {
                if changed.is_err() {
                    stream.end(super::errors::no_leader()).await;
                    break;
                }
            }
            _ = tokio::time::sleep(stream.options.no_leader_timeout), if require_leader && leaderless => {
                if stream.ctx.node.status().leader_id == 0 {
                    stream.end(super::errors::no_leader()).await;
                    break;
                }
            }
        }
    }
    for (_, running) in std::mem::take(&mut stream.watches) {
        running.task.abort();
    }
    drop(stream);
    if !writer_done {
        let _ = writer.await;
    }
}

/// The stream's watches and where their responses go.
struct Stream {
    ctx: Context,
    options: WatchStreamOptions,
    out: mpsc::Sender<Out>,
    watches: BTreeMap<i64, Running>,
    next_id: i64,
}

impl Stream {
    async fn handle(&mut self, request: pb::WatchRequest) {
        self.watches
            .retain(|_, running| !running.task.is_finished());
        match request.request_union {
            Some(pb::RequestUnion::CreateRequest(create)) => self.create(create).await,
            Some(pb::RequestUnion::CancelRequest(cancel)) => self.cancel(cancel.watch_id),
            Some(pb::RequestUnion::ProgressRequest(_)) => self.progress().await,
            // etcd ignores a request it does not understand.
            None => {}
        }
    }

    async fn send(&self, response: pb::WatchResponse) {
        let _ = self.out.send(Out::Response(response)).await;
    }

    async fn end(&self, status: Status) {
        let _ = self.out.send(Out::End(status)).await;
    }

    async fn header(&self) -> Option<pb::ResponseHeader> {
        match created_header(&self.ctx.node).await {
            Ok(header) => convert::header(&header),
            Err(_) => convert::header(&ResponseHeader {
                revision: self.ctx.node.status().revision,
                ..ResponseHeader::default()
            }),
        }
    }

    /// Answers a create that cannot be served: created, canceled, id -1.
    async fn refuse(&self, reason: &str) {
        self.send(pb::WatchResponse {
            header: self.header().await,
            watch_id: -1,
            created: true,
            canceled: true,
            cancel_reason: reason.to_string(),
            ..pb::WatchResponse::default()
        })
        .await;
    }

    async fn create(&mut self, create: pb::WatchCreateRequest) {
        let request = convert::watch_create(&create);
        // etcd checks the caller may read the whole range, once, first.
        let need = Need::Read {
            key: request.key.clone(),
            range_end: request.range_end.clone(),
        };
        if let Err(err) = self
            .ctx
            .node
            .authorize(self.ctx.credentials.clone(), need)
            .await
        {
            return self.refuse(&refusal_reason(&err)).await;
        }
        let empty_range = !request.range_end.is_empty()
            && request.range_end.as_ref() != b"\0"
            && request.key >= request.range_end;
        if empty_range {
            return self.refuse("mvcc: watcher range is empty").await;
        }
        let id = if create.watch_id == 0 {
            while self.watches.contains_key(&self.next_id) {
                self.next_id += 1;
            }
            self.next_id += 1;
            self.next_id - 1
        } else if self.watches.contains_key(&create.watch_id) {
            return self
                .refuse("mvcc: duplicate watch ID provided on the WatchStream")
                .await;
        } else {
            create.watch_id
        };
        if self.watches.len() >= self.options.max_watches_per_stream {
            return self.refuse("keel: too many watches on this stream").await;
        }
        let header = match created_header(&self.ctx.node).await {
            Ok(header) => header,
            Err(err) => return self.refuse(&err.to_string()).await,
        };
        // The created response goes out before anything the watch sends.
        self.send(pb::WatchResponse {
            header: convert::header(&header),
            watch_id: id,
            created: true,
            ..pb::WatchResponse::default()
        })
        .await;
        let start = if request.start_revision > 0 {
            request.start_revision
        } else {
            header.revision + 1
        };
        let caught_up = Arc::new(AtomicI64::new(start - 1));
        let sink = StreamSink {
            id,
            fragment: create.fragment,
            fragment_bytes: self.options.fragment_bytes,
            out: self.out.clone(),
            caught_up: Arc::clone(&caught_up),
        };
        let (stop, stopped) = oneshot::channel();
        let watching = run_watch(
            self.ctx.node.clone(),
            request,
            sink,
            stopped,
            self.options.watch.clone(),
            header,
        );
        // Counted while the watch runs (or until its task is stopped).
        let counted = self.ctx.metrics.as_ref().map(|m| m.watcher());
        let task = tokio::spawn(async move {
            let _counted = counted;
            watching.await
        });
        self.watches.insert(
            id,
            Running {
                stop,
                task,
                caught_up,
            },
        );
    }

    /// The watch answers its cancel itself (after what it already sent).
    fn cancel(&mut self, id: i64) {
        if let Some(running) = self.watches.remove(&id) {
            let _ = running.stop.send(());
        }
    }

    /// A progress notification for every watch of the stream: the newest
    /// revision all of them have delivered everything up to.
    async fn progress(&self) {
        let mut header = self.header().await;
        let delivered = self
            .watches
            .values()
            .map(|running| running.caught_up.load(Ordering::Acquire))
            .min();
        if let (Some(header), Some(delivered)) = (header.as_mut(), delivered) {
            header.revision = header.revision.min(delivered);
        }
        self.send(pb::WatchResponse {
            header,
            watch_id: -1,
            ..pb::WatchResponse::default()
        })
        .await;
    }
}

/// Sends what the stream queues until it ends, the queue closes (the
/// stream is done: status OK) or the client resets the call.
async fn write_out(mut sink: ResponseSink, mut outgoing: mpsc::Receiver<Out>) {
    loop {
        let next = poll_fn(|cx| {
            if sink.poll_reset(cx).is_ready() {
                return Poll::Ready(None);
            }
            outgoing.poll_recv(cx).map(Some)
        })
        .await;
        match next {
            None => return,
            Some(Some(Out::Response(response))) => {
                if sink.send(&response).await.is_err() {
                    return;
                }
            }
            Some(Some(Out::End(status))) => return sink.finish(&status),
            Some(None) => return sink.finish(&Status::new(Code::Ok, "")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::proto::mvccpb;
    use bytes::Bytes;

    fn event(size: usize) -> mvccpb::Event {
        mvccpb::Event {
            kv: Some(mvccpb::KeyValue {
                key: Bytes::from(vec![b'k'; 8]),
                value: Bytes::from(vec![b'v'; size]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn refused_creates_give_etcds_reasons() {
        use keel_engine::api::ApiError;
        assert_eq!(
            refusal_reason(&ApiError::Unauthenticated),
            "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"
        );
        assert_eq!(
            refusal_reason(&ApiError::PermissionDenied),
            "rpc error: code = PermissionDenied desc = etcdserver: permission denied"
        );
        assert_eq!(
            refusal_reason(&ApiError::UserEmpty),
            "rpc error: code = InvalidArgument desc = etcdserver: user name is empty"
        );
        assert_eq!(
            refusal_reason(&ApiError::AuthOldRevision),
            "rpc error: code = InvalidArgument desc = etcdserver: revision of auth store is old"
        );
    }

    #[test]
    fn fragments_split_large_responses_and_mark_all_but_the_last() {
        let response = pb::WatchResponse {
            watch_id: 4,
            events: (0..10).map(|_| event(100)).collect(),
            ..Default::default()
        };
        let whole = fragments(response.clone(), false, 300);
        assert_eq!(whole.len(), 1, "no fragments unless asked");
        let parts = fragments(response.clone(), true, 300);
        assert!(parts.len() > 1);
        let total: usize = parts.iter().map(|p| p.events.len()).sum();
        assert_eq!(total, 10);
        for (index, part) in parts.iter().enumerate() {
            assert_eq!(part.fragment, index + 1 < parts.len());
            assert_eq!(part.watch_id, 4);
            assert!(!part.events.is_empty());
            assert!(part.encoded_len() < 300 || part.events.len() == 1);
        }
        let joined: Vec<_> = parts.into_iter().flat_map(|p| p.events).collect();
        assert_eq!(joined, response.events);
    }

    #[test]
    fn one_huge_event_is_never_split() {
        let response = pb::WatchResponse {
            events: vec![event(1000)],
            ..Default::default()
        };
        assert_eq!(fragments(response, true, 100).len(), 1);
    }
}
