//! One client connection: a writer task, a reader task, and the requests in
//! flight between them, matched by id.

use crate::tls::Dialer;
use crate::url::Endpoint;
use keel_engine::api::{ApiError, Request, Response, WatchCreateRequest};
use keel_engine::wire::frame::FrameKind;
use keel_engine::wire::handshake::{Role, decode_reply, encode_hello};
use keel_engine::wire::io::{
    flush, read_frame, read_handshake, write_frame_unflushed, write_handshake,
};
use keel_engine::wire::{Encode, Frame, WireError, decode_response};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

/// Frames waiting to be written before senders wait.
const OUTBOX_FRAMES: usize = 1024;

/// Why a call produced no answer.
#[derive(Debug)]
pub enum CallError {
    /// The request never left (the connection was already closed).
    NotSent,
    /// The connection died after the request was sent.
    Lost,
    /// The server's answer broke the protocol.
    Protocol(WireError),
}

type Waiting = Arc<Mutex<BTreeMap<u64, oneshot::Sender<Frame>>>>;
type Watches = Arc<Mutex<BTreeMap<u64, mpsc::Sender<Frame>>>>;

/// Watch responses buffered per watch before the connection's reader waits
/// for the watcher to take them (never dropped: a watch has no gaps).
const WATCH_BUFFER_FRAMES: usize = 64;

/// An open, greeted connection to one member.
pub struct Connection {
    next_id: AtomicU64,
    outbox: mpsc::Sender<Frame>,
    waiting: Waiting,
    watches: Watches,
    open: Arc<AtomicBool>,
}

impl Connection {
    /// Dials `endpoint` (with TLS if it asks for it) and speaks the
    /// handshake.
    pub async fn dial(
        endpoint: &Endpoint,
        dialer: &Dialer,
        max_frame_bytes: usize,
    ) -> Result<Connection, WireError> {
        // Requests are small frames: without TCP_NODELAY (the dialer sets
        // it), Nagle's algorithm meets the server's delayed ACK and holds
        // them up to 40 ms.
        let stream = dialer
            .dial(&endpoint.address, &endpoint.host, endpoint.tls)
            .await
            .map_err(|e| WireError::Io(e.to_string()))?;
        let (mut reader, mut writer) = tokio::io::split(stream);
        write_handshake(&mut writer, &encode_hello(Role::Client)).await?;
        decode_reply(&read_handshake(&mut reader).await?)?;
        let (outbox, mut queued) = mpsc::channel::<Frame>(OUTBOX_FRAMES);
        let waiting: Waiting = Arc::new(Mutex::new(BTreeMap::new()));
        let watches: Watches = Arc::new(Mutex::new(BTreeMap::new()));
        let open = Arc::new(AtomicBool::new(true));
        let writer_open = Arc::clone(&open);
        tokio::spawn(async move {
            // Requests queued meanwhile go out in one buffered write.
            let mut writer = tokio::io::BufWriter::with_capacity(64 * 1024, writer);
            'writing: while let Some(frame) = queued.recv().await {
                let mut batch = Some(frame);
                while let Some(frame) = batch.take() {
                    if write_frame_unflushed(&mut writer, &frame).await.is_err() {
                        break 'writing;
                    }
                    batch = queued.try_recv().ok();
                }
                if flush(&mut writer).await.is_err() {
                    break;
                }
            }
            writer_open.store(false, Ordering::SeqCst);
            // Tell the server we are done, so both sides close.
            let _ = writer.shutdown().await;
        });
        let mut reader = tokio::io::BufReader::with_capacity(64 * 1024, reader);
        let reader_waiting = Arc::clone(&waiting);
        let reader_watches = Arc::clone(&watches);
        let reader_open = Arc::clone(&open);
        tokio::spawn(async move {
            while let Ok(Some(frame)) = read_frame(&mut reader, max_frame_bytes).await {
                let streamed =
                    matches!(frame.kind, FrameKind::WatchResponse | FrameKind::BackupData)
                        || (frame.kind == FrameKind::Error
                            && reader_watches.lock().contains_key(&frame.request_id));
                if streamed {
                    let watcher = reader_watches.lock().get(&frame.request_id).cloned();
                    if let Some(watcher) = watcher {
                        if watcher.send(frame).await.is_err() {
                            // The watcher went away without cancelling.
                        }
                    }
                    continue;
                }
                let waiter = reader_waiting.lock().remove(&frame.request_id);
                match waiter {
                    Some(waiter) => {
                        let _ = waiter.send(frame);
                    }
                    // A connection-level error (id 0): the server closes next.
                    None if frame.kind == FrameKind::Error => break,
                    None => {}
                }
            }
            reader_open.store(false, Ordering::SeqCst);
            // Dropping the senders tells every waiting call (and watch) it
            // was lost.
            reader_waiting.lock().clear();
            reader_watches.lock().clear();
        });
        Ok(Connection {
            next_id: AtomicU64::new(1),
            outbox,
            waiting,
            watches,
            open,
        })
    }

    /// Whether the connection still works.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst) && !self.outbox.is_closed()
    }

    /// Sends `request` and waits for its answer.
    pub async fn call(&self, request: Request) -> Result<Result<Response, ApiError>, CallError> {
        if !self.is_open() {
            return Err(CallError::NotSent);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        self.waiting.lock().insert(id, answer);
        let frame = Frame::new(FrameKind::Request, id, request.to_bytes());
        if self.outbox.send(frame).await.is_err() {
            self.waiting.lock().remove(&id);
            return Err(CallError::NotSent);
        }
        let frame = answered.await.map_err(|_| CallError::Lost)?;
        decode_response(&frame).map_err(CallError::Protocol)
    }
}

impl Connection {
    /// Opens a watch; its responses arrive on the receiver, which closes
    /// when the connection dies.
    pub async fn watch(
        &self,
        create: &WatchCreateRequest,
    ) -> Result<(u64, mpsc::Receiver<Frame>), CallError> {
        if !self.is_open() {
            return Err(CallError::NotSent);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (responses, received) = mpsc::channel(WATCH_BUFFER_FRAMES);
        self.watches.lock().insert(id, responses);
        let frame = Frame::new(FrameKind::WatchCreate, id, create.to_bytes());
        if self.outbox.send(frame).await.is_err() {
            self.watches.lock().remove(&id);
            return Err(CallError::NotSent);
        }
        Ok((id, received))
    }

    /// Asks the server to end watch `id` (its final, canceled response
    /// still arrives).
    pub async fn cancel_watch(&self, id: u64) {
        let frame = Frame::new(FrameKind::WatchCancel, id, bytes::Bytes::new());
        let _ = self.outbox.send(frame).await;
    }

    /// Asks for a backup; its `BackupData` frames (or the `Error` frame
    /// that ends it) arrive on the receiver, which closes when the
    /// connection dies.
    pub async fn backup(&self) -> Result<(u64, mpsc::Receiver<Frame>), CallError> {
        if !self.is_open() {
            return Err(CallError::NotSent);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (pieces, received) = mpsc::channel(WATCH_BUFFER_FRAMES);
        self.watches.lock().insert(id, pieces);
        let frame = Frame::new(FrameKind::BackupRequest, id, bytes::Bytes::new());
        if self.outbox.send(frame).await.is_err() {
            self.watches.lock().remove(&id);
            return Err(CallError::NotSent);
        }
        Ok((id, received))
    }

    /// Stops routing watch `id`'s responses.
    pub fn forget_watch(&self, id: u64) {
        self.watches.lock().remove(&id);
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.open.store(false, Ordering::SeqCst);
    }
}
