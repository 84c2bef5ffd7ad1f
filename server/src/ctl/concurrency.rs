//! etcd's `clientv3/concurrency` recipes over Keel's client: a session
//! (a lease kept alive in the background), a mutex and an election.
//!
//! Guarantees, as etcd's package gives them:
//! - A contender's key is `PREFIX/<lease id hex>`, created with the session
//!   lease in a txn only if it does not exist yet; the contender with the
//!   lowest create revision under `PREFIX/` holds the lock (leads), and a
//!   waiter watches only the next older key, so one release wakes one
//!   waiter.
//! - Keys die with their session: when the lease expires or is revoked,
//!   the key is deleted by the cluster and the next contender proceeds.
//! - [`Session::done`] resolves once the lease can no longer be assumed
//!   alive (gone, or no renewal within a TTL).

use crate::client::{Client, ClientError};
use bytes::Bytes;
use keel_engine::api::*;
use keel_engine::mvcc::KeyRange;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// clientv3's wait between keep-alive attempts after a failure.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Why a recipe failed: etcd's words for the same failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeError(pub String);

impl From<ClientError> for RecipeError {
    fn from(error: ClientError) -> Self {
        RecipeError(error.to_string())
    }
}

fn unexpected(response: &Response) -> RecipeError {
    RecipeError(format!("unexpected response from the server: {response:?}"))
}

/// clientv3's keep-alive of one lease: a renewal every TTL/3, retries every
/// 500 ms after a failure, over once the lease is gone or no renewal
/// succeeded within a TTL of the last one (the first within
/// `first_timeout`).
pub struct KeepAlive {
    client: Arc<Client>,
    id: i64,
    deadline: Instant,
    next_send: Instant,
    finished: bool,
}

impl KeepAlive {
    /// Starts keeping `id` alive; the first renewal is sent right away.
    pub fn new(client: Arc<Client>, id: i64, first_timeout: Duration) -> Self {
        let now = Instant::now();
        KeepAlive {
            client,
            id,
            deadline: now + first_timeout,
            next_send: now,
            finished: false,
        }
    }

    /// The next renewal, when it is due; `None` once the lease is gone (a
    /// keep-alive answered "not found" — etcd's TTL 0 — or the deadline
    /// passed without a renewal), and from then on.
    pub async fn next(&mut self) -> Option<LeaseKeepAliveResponse> {
        let request = Request::LeaseKeepAlive(LeaseKeepAliveRequest { id: self.id });
        while !self.finished {
            tokio::time::sleep_until(self.next_send).await;
            if Instant::now() >= self.deadline {
                break;
            }
            let timeout = self
                .deadline
                .min(Instant::now() + self.client.options().command_timeout);
            match self.client.request_until(request.clone(), timeout).await {
                Ok(Response::LeaseKeepAlive(response)) if response.ttl_seconds > 0 => {
                    let ttl = Duration::from_secs(response.ttl_seconds.unsigned_abs());
                    let now = Instant::now();
                    self.deadline = now + ttl;
                    self.next_send = now + ttl / 3;
                    return Some(response);
                }
                Ok(Response::LeaseKeepAlive(_))
                | Err(ClientError::Api(ApiError::LeaseNotFound)) => {
                    break;
                }
                outcome => {
                    tracing::debug!(lease = self.id, "keep-alive failed: {outcome:?}");
                    self.next_send = Instant::now() + RETRY_PAUSE;
                    if self.next_send >= self.deadline {
                        tokio::time::sleep_until(self.deadline).await;
                        break;
                    }
                }
            }
        }
        self.finished = true;
        None
    }
}

/// A lease kept alive in the background for as long as the session lives
/// (etcd's `concurrency.Session`). Dropping it stops the renewals; the
/// lease then expires on its own, as etcdctl's do.
pub struct Session {
    client: Arc<Client>,
    lease: i64,
    done: watch::Receiver<bool>,
    renewer: tokio::task::JoinHandle<()>,
}

impl Session {
    /// Grants a lease of `ttl_seconds` (60 if 0 or less, etcd's default)
    /// and starts renewing it; the first renewal must land within
    /// `first_timeout`.
    pub async fn new(
        client: Arc<Client>,
        ttl_seconds: i64,
        first_timeout: Duration,
    ) -> Result<Session, RecipeError> {
        let ttl_seconds = if ttl_seconds > 0 { ttl_seconds } else { 60 };
        let grant = Request::LeaseGrant(LeaseGrantRequest { ttl_seconds, id: 0 });
        let lease = match client.request(grant).await? {
            Response::LeaseGrant(granted) => granted.id,
            other => return Err(unexpected(&other)),
        };
        let (done_tx, done) = watch::channel(false);
        let mut keep_alive = KeepAlive::new(Arc::clone(&client), lease, first_timeout);
        let renewer = tokio::spawn(async move {
            while keep_alive.next().await.is_some() {}
            let _ = done_tx.send(true);
        });
        Ok(Session {
            client,
            lease,
            done,
            renewer,
        })
    }

    /// The session's lease.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// The client the session uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Resolves once the lease is no longer renewed (gone, or no renewal
    /// within a TTL).
    pub async fn done(&self) {
        let mut done = self.done.clone();
        // An error means the renewer is gone, which also ends the session.
        let _ = done.wait_for(|done| *done).await;
    }

    /// The key this session contends with under `prefix` (which ends in
    /// `/`): clientv3's `%s%x`.
    fn key_under(&self, prefix: &[u8]) -> Bytes {
        let mut key = prefix.to_vec();
        key.extend_from_slice(format!("{:x}", self.lease).as_bytes());
        Bytes::from(key)
    }

    async fn send(&self, request: Request) -> Result<Response, RecipeError> {
        Ok(self.client.request(request).await?)
    }

    async fn txn(&self, txn: TxnRequest) -> Result<TxnResponse, RecipeError> {
        match self.send(Request::Txn(txn)).await? {
            Response::Txn(response) => Ok(response),
            other => Err(unexpected(&other)),
        }
    }

    async fn range(&self, range: RangeRequest) -> Result<RangeResponse, RecipeError> {
        match self.send(Request::Range(range)).await? {
            Response::Range(response) => Ok(response),
            other => Err(unexpected(&other)),
        }
    }

    async fn delete(&self, key: Bytes) -> Result<DeleteRangeResponse, RecipeError> {
        let request = Request::DeleteRange(DeleteRangeRequest {
            key,
            ..DeleteRangeRequest::default()
        });
        match self.send(request).await? {
            Response::DeleteRange(response) => Ok(response),
            other => Err(unexpected(&other)),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// `NAME` as a prefix: `NAME/`.
fn prefix_of(name: &[u8]) -> Bytes {
    let mut prefix = name.to_vec();
    prefix.push(b'/');
    Bytes::from(prefix)
}

/// clientv3's `withTop`: the key under `prefix` with the lowest (`first`)
/// or highest create revision.
fn top_by_create(prefix: &Bytes, order: SortOrder) -> RangeRequest {
    RangeRequest {
        key: prefix.clone(),
        range_end: KeyRange::prefix_end(prefix),
        limit: 1,
        sort_order: order,
        sort_target: SortTarget::Create,
        ..RangeRequest::default()
    }
}

fn create_revision_is(key: &Bytes, revision: i64) -> Compare {
    Compare {
        result: CompareResult::Equal,
        target: CompareTarget::Create(revision),
        key: key.clone(),
        range_end: Bytes::new(),
    }
}

fn get(key: &Bytes) -> RangeRequest {
    RangeRequest {
        key: key.clone(),
        ..RangeRequest::default()
    }
}

fn first_range(response: &TxnResponse, index: usize) -> Option<&RangeResponse> {
    match response.responses.get(index) {
        Some(ResponseOp::Range(range)) => Some(range),
        _ => None,
    }
}

/// Waits until `key` is deleted, watching from `revision` (clientv3's
/// `waitDelete`).
async fn wait_delete(client: &Client, key: &Bytes, revision: i64) -> Result<(), RecipeError> {
    let mut watcher = client.watch(WatchCreateRequest {
        key: key.clone(),
        start_revision: revision,
        ..WatchCreateRequest::default()
    });
    while let Some(next) = watcher.next().await {
        let response = next?;
        if response
            .events
            .iter()
            .any(|event| event.kind == EventKind::Delete)
        {
            watcher.cancel().await;
            return Ok(());
        }
        if response.canceled {
            let reason = if response.compact_revision > 0 {
                ApiError::Compacted {
                    compact_revision: response.compact_revision,
                }
                .to_string()
            } else {
                response.cancel_reason
            };
            return Err(RecipeError(reason));
        }
    }
    Err(RecipeError("lost watcher waiting for delete".into()))
}

/// Waits until no key under `prefix` has a create revision of
/// `max_create_revision` or less (clientv3's `waitDeletes`): watches the
/// newest such key until it is deleted, then looks again. Returns the
/// header of the read that found none.
async fn wait_deletes(
    session: &Session,
    prefix: &Bytes,
    max_create_revision: i64,
) -> Result<ResponseHeader, RecipeError> {
    loop {
        let mut newest_older = top_by_create(prefix, SortOrder::Descend);
        newest_older.max_create_revision = max_create_revision;
        let response = session.range(newest_older).await?;
        let Some(last) = response.kvs.first() else {
            return Ok(response.header);
        };
        wait_delete(session.client(), &last.key, response.header.revision).await?;
    }
}

/// A distributed lock (etcd's `concurrency.Mutex`).
pub struct Mutex<'a> {
    session: &'a Session,
    prefix: Bytes,
    key: Bytes,
    revision: i64,
    header: ResponseHeader,
}

impl<'a> Mutex<'a> {
    /// The lock `name` for `session` (contenders' keys are under `name/`).
    pub fn new(session: &'a Session, name: &[u8]) -> Self {
        let prefix = prefix_of(name);
        Mutex {
            key: session.key_under(&prefix),
            prefix,
            session,
            revision: -1,
            header: ResponseHeader::default(),
        }
    }

    /// This contender's key.
    pub fn key(&self) -> &Bytes {
        &self.key
    }

    /// The header of the answer that gave the lock: the creating txn's if
    /// uncontended, else the read that found no older contender.
    pub fn header(&self) -> &ResponseHeader {
        &self.header
    }

    /// Waits until this session holds the lock. If the future is dropped
    /// before then, the key may stay behind: call [`Mutex::unlock`].
    pub async fn lock(&mut self) -> Result<(), RecipeError> {
        let txn = TxnRequest {
            compare: vec![create_revision_is(&self.key, 0)],
            success: vec![
                RequestOp::Put(PutRequest {
                    key: self.key.clone(),
                    lease: self.session.lease(),
                    ..PutRequest::default()
                }),
                RequestOp::Range(top_by_create(&self.prefix, SortOrder::Ascend)),
            ],
            failure: vec![
                RequestOp::Range(get(&self.key)),
                RequestOp::Range(top_by_create(&self.prefix, SortOrder::Ascend)),
            ],
        };
        let response = self.session.txn(txn).await?;
        self.revision = response.header.revision;
        if !response.succeeded {
            self.revision = first_range(&response, 0)
                .and_then(|range| range.kvs.first())
                .map_or(self.revision, |kv| kv.create_revision);
        }
        let owner = first_range(&response, 1).and_then(|range| range.kvs.first());
        if owner.is_none_or(|owner| owner.create_revision == self.revision) {
            self.header = response.header;
            return Ok(());
        }
        match wait_deletes(self.session, &self.prefix, self.revision - 1).await {
            Ok(header) => {
                self.header = header;
                Ok(())
            }
            Err(error) => {
                let _ = self.unlock().await;
                Err(error)
            }
        }
    }

    /// Releases the lock (deletes this contender's key).
    pub async fn unlock(&mut self) -> Result<(), RecipeError> {
        self.session.delete(self.key.clone()).await?;
        self.revision = -1;
        Ok(())
    }
}

/// A leader election (etcd's `concurrency.Election`).
pub struct Election<'a> {
    session: &'a Session,
    prefix: Bytes,
    leader_key: Option<Bytes>,
    leader_revision: i64,
}

impl<'a> Election<'a> {
    /// The election `name` for `session` (candidates' keys under `name/`).
    pub fn new(session: &'a Session, name: &[u8]) -> Self {
        Election {
            session,
            prefix: prefix_of(name),
            leader_key: None,
            leader_revision: 0,
        }
    }

    /// This candidate's key once it campaigned.
    pub fn key(&self) -> Option<&Bytes> {
        self.leader_key.as_ref()
    }

    /// Puts `value` as a candidate and waits until every older candidate
    /// is gone: then this session leads. If the future is dropped before
    /// then, call [`Election::resign`].
    pub async fn campaign(&mut self, value: &[u8]) -> Result<(), RecipeError> {
        let key = self.session.key_under(&self.prefix);
        let value = Bytes::copy_from_slice(value);
        let txn = TxnRequest {
            compare: vec![create_revision_is(&key, 0)],
            success: vec![RequestOp::Put(PutRequest {
                key: key.clone(),
                value: value.clone(),
                lease: self.session.lease(),
                ..PutRequest::default()
            })],
            failure: vec![RequestOp::Range(get(&key))],
        };
        let response = self.session.txn(txn).await?;
        self.leader_key = Some(key);
        self.leader_revision = response.header.revision;
        if !response.succeeded {
            if let Some(kv) = first_range(&response, 0).and_then(|range| range.kvs.first()) {
                self.leader_revision = kv.create_revision;
                if kv.value != value {
                    if let Err(error) = self.proclaim(value).await {
                        let _ = self.resign().await;
                        return Err(error);
                    }
                }
            }
        }
        wait_deletes(self.session, &self.prefix, self.leader_revision - 1).await?;
        Ok(())
    }

    /// The leader announces a new value without another election.
    async fn proclaim(&mut self, value: Bytes) -> Result<(), RecipeError> {
        let Some(key) = self.leader_key.clone() else {
            return Err(RecipeError("election: not leader".into()));
        };
        let txn = TxnRequest {
            compare: vec![create_revision_is(&key, self.leader_revision)],
            success: vec![RequestOp::Put(PutRequest {
                key,
                value,
                lease: self.session.lease(),
                ..PutRequest::default()
            })],
            failure: vec![],
        };
        if !self.session.txn(txn).await?.succeeded {
            self.leader_key = None;
            return Err(RecipeError("election: not leader".into()));
        }
        Ok(())
    }

    /// Gives up leadership (or the candidacy): deletes this candidate's key
    /// if it is still the one this campaign created.
    pub async fn resign(&mut self) -> Result<(), RecipeError> {
        let Some(key) = self.leader_key.take() else {
            return Ok(());
        };
        let txn = TxnRequest {
            compare: vec![create_revision_is(&key, self.leader_revision)],
            success: vec![RequestOp::DeleteRange(DeleteRangeRequest {
                key,
                ..DeleteRangeRequest::default()
            })],
            failure: vec![],
        };
        self.session.txn(txn).await?;
        Ok(())
    }

    /// Calls `each` with every leader in turn, as a range answer holding
    /// the leader's key and value (etcd's `Observe`): the current leader,
    /// each value it proclaims, then the next leader once its key is
    /// deleted. Returns only when the watch is lost.
    pub async fn observe(&self, mut each: impl FnMut(&RangeResponse)) -> RecipeError {
        let client = self.session.client();
        loop {
            let mut response = match self
                .session
                .range(top_by_create(&self.prefix, SortOrder::Ascend))
                .await
            {
                Ok(response) => response,
                Err(error) => return error,
            };
            let (header, leader) = match response.kvs.first().cloned() {
                Some(kv) => (response.header, kv),
                None => {
                    // No leader yet: wait for the first put under the prefix.
                    let mut watcher = client.watch(WatchCreateRequest {
                        key: self.prefix.clone(),
                        range_end: KeyRange::prefix_end(&self.prefix),
                        start_revision: response.header.revision,
                        ..WatchCreateRequest::default()
                    });
                    let mut found = None;
                    while found.is_none() {
                        let next = match watcher.next().await {
                            Some(Ok(next)) if !next.canceled => next,
                            Some(Err(error)) => return error.into(),
                            _ => return RecipeError("elect: observer lost".into()),
                        };
                        found = next
                            .events
                            .iter()
                            .find(|event| event.kind == EventKind::Put)
                            .map(|event| {
                                let mut header = next.header;
                                header.revision = event.kv.mod_revision;
                                (header, event.kv.clone())
                            });
                    }
                    watcher.cancel().await;
                    let Some(found) = found else {
                        return RecipeError("elect: observer lost".into());
                    };
                    found
                }
            };
            each(&RangeResponse {
                header,
                kvs: vec![leader.clone()],
                more: false,
                count: 0,
            });
            // Follow the leader's key until it is deleted.
            let mut watcher = client.watch(WatchCreateRequest {
                key: leader.key.clone(),
                start_revision: header.revision + 1,
                ..WatchCreateRequest::default()
            });
            'leader: loop {
                let next = match watcher.next().await {
                    Some(Ok(next)) if !next.canceled => next,
                    Some(Err(error)) => return error.into(),
                    _ => return RecipeError("elect: observer lost".into()),
                };
                for event in &next.events {
                    if event.kind == EventKind::Delete {
                        break 'leader;
                    }
                    response.header = next.header;
                    response.kvs = vec![event.kv.clone()];
                    each(&response);
                }
            }
            watcher.cancel().await;
        }
    }
}
