//! Watches through the client library.
//!
//! A [`Watcher`] follows one key range. Guarantees, as etcd's clients give
//! them: events in revision order, no gap, no duplicate, a txn's events in
//! one response; when the connection or the member goes away, the watcher
//! reconnects (to the next endpoint) and resumes after the last revision
//! it delivered — a member that is behind is simply waited for.

use super::connection::Connection;
use super::{Client, ClientError};
use keel_engine::api::{WatchCreateRequest, WatchResponse};
use keel_engine::testing::broken::Bug;
use keel_engine::wire::frame::FrameKind;
use keel_engine::wire::{Decode, Frame};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

struct Open {
    connection: Arc<Connection>,
    id: u64,
    responses: mpsc::Receiver<Frame>,
}

/// One watch, across reconnects.
pub struct Watcher<'a> {
    client: &'a Client,
    create: WatchCreateRequest,
    /// The first revision not yet delivered (0: not known yet).
    next_revision: i64,
    open: Option<Open>,
    created_seen: bool,
    finished: bool,
    /// Reconnect attempts since the last delivered response.
    failures: u32,
}

impl Client {
    /// Starts watching `create`'s range; the first response (from
    /// [`Watcher::next`]) is the creation.
    pub fn watch(&self, create: WatchCreateRequest) -> Watcher<'_> {
        Watcher {
            client: self,
            next_revision: create.start_revision.max(0),
            create,
            open: None,
            created_seen: false,
            finished: false,
            failures: 0,
        }
    }
}

impl Watcher<'_> {
    /// The first revision this watcher has not delivered yet (where it
    /// would resume).
    pub fn next_revision(&self) -> i64 {
        self.next_revision
    }

    /// The next response: the creation, events, a progress notification,
    /// or the final cancellation (after which it returns `None`). Lost
    /// connections and stopped members are resumed from; `Err` only when no
    /// endpoint could be reached within the command timeout.
    pub async fn next(&mut self) -> Option<Result<WatchResponse, ClientError>> {
        if self.finished {
            return None;
        }
        loop {
            if self.open.is_none() {
                if let Err(err) = self.reopen().await {
                    return Some(Err(err));
                }
            }
            let open = self.open.as_mut()?;
            let frame = open.responses.recv().await;
            let response = match frame
                .filter(|f| f.kind == FrameKind::WatchResponse)
                .map(|f| WatchResponse::from_bytes(&f.body))
            {
                Some(Ok(response)) => response,
                // Lost connection or a garbled answer: resume elsewhere.
                _ => {
                    self.drop_connection().await;
                    continue;
                }
            };
            if response.canceled {
                let by_us_or_final = response.compact_revision > 0
                    || response.cancel_reason.is_empty()
                    || response.cancel_reason.starts_with("keel:");
                if !by_us_or_final {
                    // The member stopped: resume on another.
                    self.drop_connection().await;
                    continue;
                }
                self.finished = true;
                if let Some(open) = self.open.take() {
                    open.connection.forget_watch(open.id);
                }
                return Some(Ok(response));
            }
            self.failures = 0;
            if response.created {
                if self.next_revision == 0 {
                    self.next_revision = response.header.revision + 1;
                }
                if self.created_seen {
                    continue; // a resumed watch's creation is not news
                }
                self.created_seen = true;
                return Some(Ok(response));
            }
            if let Some(last) = response.events.last() {
                self.next_revision = self.next_revision.max(last.kv.mod_revision + 1);
            }
            self.next_revision = self.next_revision.max(response.header.revision + 1);
            return Some(Ok(response));
        }
    }

    /// Ends the watch: the server sends its final, canceled response, which
    /// [`Watcher::next`] returns.
    pub async fn cancel(&mut self) {
        match &self.open {
            Some(open) => open.connection.cancel_watch(open.id).await,
            None => self.finished = true,
        }
    }

    async fn reopen(&mut self) -> Result<(), ClientError> {
        let deadline = Instant::now() + self.client.options().command_timeout;
        loop {
            let connection = self.client.connect(deadline).await?;
            let mut create = self.create.clone();
            if self.next_revision > 0 {
                create.start_revision = self.next_revision;
                if Bug::WatchResume.is_on() && self.created_seen {
                    create.start_revision += 1; // the deliberate bug
                }
            }
            match connection.watch(&create).await {
                Ok((id, responses)) => {
                    self.open = Some(Open {
                        connection,
                        id,
                        responses,
                    });
                    return Ok(());
                }
                Err(_) => {
                    self.client.forget(&connection).await;
                    if Instant::now() >= deadline {
                        return Err(ClientError::DeadlineExceeded);
                    }
                }
            }
        }
    }

    async fn drop_connection(&mut self) {
        if let Some(open) = self.open.take() {
            // If the connection still works, the server's side ends too.
            open.connection.cancel_watch(open.id).await;
            open.connection.forget_watch(open.id);
            self.client.forget(&open.connection).await;
        }
        self.failures += 1;
        let pause = Duration::from_millis(20 * u64::from(self.failures.min(25)));
        tokio::time::sleep(pause).await;
    }
}
