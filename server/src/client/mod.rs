//! The client library: one connection at a time to one of several
//! endpoints, many requests in flight on it.
//!
//! Guarantees:
//! - Every request finishes within the command timeout (or fails with
//!   [`ClientError::DeadlineExceeded`]); dialing an endpoint is bounded by
//!   the dial timeout, and unreachable endpoints are skipped.
//! - Retries only where safe: a request the server refused without
//!   executing (no leader, not leader, stopping, overloaded) is retried, on
//!   another endpoint or on the leader the server named; a request whose
//!   connection died after it was sent is retried only if it only reads.
//!   Anything else is reported, so a write is never applied twice by the
//!   library.

mod backup;
mod connection;
mod watch;

pub use backup::BackupDownload;
pub use watch::Watcher;

use crate::tls::{ClientTlsFiles, Dialer};
use crate::url::Endpoint;
use connection::{CallError, Connection};
use keel_engine::api::*;
use keel_engine::wire::WireError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How a client reaches the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// `host:port`, `http://host:port` or `https://host:port` (TLS), tried
    /// in order.
    pub endpoints: Vec<String>,
    /// Longest wait to open a connection to one endpoint.
    pub dial_timeout: Duration,
    /// Longest a request may take, retries included.
    pub command_timeout: Duration,
    /// Largest frame accepted from the server.
    pub max_frame_bytes: usize,
    /// TLS for `https://` endpoints (and bare `host:port` ones when any
    /// setting is given, as etcdctl does).
    pub tls: ClientTlsFiles,
}

impl ClientOptions {
    /// etcdctl's defaults for `endpoints`: 2 s to dial, 5 s per command.
    pub fn new(endpoints: Vec<String>) -> Self {
        ClientOptions {
            endpoints,
            dial_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(5),
            max_frame_bytes: 64 << 20,
            tls: ClientTlsFiles::default(),
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The cluster answered with an error.
    #[error(transparent)]
    Api(ApiError),
    /// No answer within the command timeout (etcdctl's wording).
    #[error("context deadline exceeded")]
    DeadlineExceeded,
    /// The connection died after the request was sent; it may have applied.
    #[error("connection lost; the request may or may not have been applied")]
    ConnectionLost,
    /// An endpoint is not a valid address.
    #[error("{0}")]
    BadEndpoint(String),
    /// The server broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(WireError),
    /// The TLS settings are unusable (a missing or bad file).
    #[error("{0}")]
    Tls(String),
}

/// Whether sending `request` twice is harmless (it only reads, or repeats
/// an idempotent effect such as a lease keep-alive).
pub fn is_read_only(request: &Request) -> bool {
    fn txn_reads(txn: &TxnRequest) -> bool {
        txn.success.iter().chain(&txn.failure).all(|op| match op {
            RequestOp::Range(_) => true,
            RequestOp::Txn(t) => txn_reads(t),
            _ => false,
        })
    }
    match request {
        Request::Range(_) | Request::MemberList(_) | Request::Status | Request::HashKv(_) => true,
        // A time-to-live or list reads; a second keep-alive only restarts
        // the countdown again, so each is safe to send twice.
        Request::LeaseTimeToLive(_) | Request::LeaseLeases | Request::LeaseKeepAlive(_) => true,
        Request::Alarm(a) => a.action == AlarmAction::Get,
        Request::Txn(t) => txn_reads(t),
        _ => false,
    }
}

struct Current {
    /// Index into the endpoints of the connection in use, or an address the
    /// cluster pointed at (a leader).
    address: Endpoint,
    next_endpoint: usize,
    connection: Option<Arc<Connection>>,
}

/// A client of a Keel cluster.
pub struct Client {
    options: ClientOptions,
    addresses: Vec<Endpoint>,
    dialer: Dialer,
    current: Mutex<Current>,
}

impl Client {
    /// A client of the cluster at `options.endpoints` (nothing is dialed yet).
    pub fn new(options: ClientOptions) -> Result<Client, ClientError> {
        if options.endpoints.is_empty() {
            return Err(ClientError::BadEndpoint("no endpoints".into()));
        }
        let tls_default = options.tls.any();
        let addresses = options
            .endpoints
            .iter()
            .map(|e| {
                crate::url::endpoint(e, tls_default)
                    .map_err(|err| ClientError::BadEndpoint(err.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let dialer = if addresses.iter().any(|a| a.tls) || tls_default {
            let files = &options.tls;
            let config = crate::tls::client_config(
                files.ca_file.as_deref(),
                files.cert_file.as_deref(),
                files.key_file.as_deref(),
                files.insecure_skip_verify,
            )
            .map_err(|e| ClientError::Tls(e.to_string()))?;
            Dialer::with_tls(config)
        } else {
            Dialer::plain()
        };
        Ok(Client {
            current: Mutex::new(Current {
                address: addresses[0].clone(),
                next_endpoint: 0,
                connection: None,
            }),
            options,
            addresses,
            dialer,
        })
    }

    /// The options the client was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Sends `request` and waits for its answer, retrying where safe (see
    /// the module docs), within the command timeout.
    pub async fn request(&self, request: Request) -> Result<Response, ClientError> {
        let deadline = Instant::now() + self.options.command_timeout;
        self.request_until(request, deadline).await
    }

    /// As [`Client::request`], with an explicit deadline.
    pub async fn request_until(
        &self,
        request: Request,
        deadline: Instant,
    ) -> Result<Response, ClientError> {
        let read_only = is_read_only(&request);
        let mut pause = Duration::from_millis(20);
        loop {
            let connection = self.connect(deadline).await?;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = tokio::time::timeout(remaining, connection.call(request.clone())).await;
            let retry = match outcome {
                Err(_) => return Err(ClientError::DeadlineExceeded),
                Ok(Ok(Ok(response))) => return Ok(response),
                Ok(Ok(Err(error))) => match error.class() {
                    ErrorClass::Retryable => {
                        self.follow(&connection, &error).await;
                        true
                    }
                    _ => return Err(ClientError::Api(error)),
                },
                Ok(Err(CallError::NotSent)) => {
                    self.forget(&connection).await;
                    true
                }
                Ok(Err(CallError::Lost)) => {
                    self.forget(&connection).await;
                    if !read_only {
                        return Err(ClientError::ConnectionLost);
                    }
                    true
                }
                Ok(Err(CallError::Protocol(err))) => {
                    self.forget(&connection).await;
                    return Err(ClientError::Protocol(err));
                }
            };
            if retry {
                if Instant::now() + pause >= deadline {
                    return Err(ClientError::DeadlineExceeded);
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        }
    }

    /// The connection in use, or a new one: the current address first, then
    /// each endpoint in turn, each dial bounded by the dial timeout.
    async fn connect(&self, deadline: Instant) -> Result<Arc<Connection>, ClientError> {
        let mut current = self.current.lock().await;
        if let Some(connection) = current.connection.as_ref().filter(|c| c.is_open()) {
            return Ok(Arc::clone(connection));
        }
        let mut candidates = vec![current.address.clone()];
        for i in 0..self.addresses.len() {
            let address = &self.addresses[(current.next_endpoint + i) % self.addresses.len()];
            if !candidates.contains(address) {
                candidates.push(address.clone());
            }
        }
        for address in candidates {
            let budget = self
                .options
                .dial_timeout
                .min(deadline.saturating_duration_since(Instant::now()));
            if budget.is_zero() {
                break;
            }
            match tokio::time::timeout(
                budget,
                Connection::dial(&address, &self.dialer, self.options.max_frame_bytes),
            )
            .await
            {
                Ok(Ok(connection)) => {
                    let connection = Arc::new(connection);
                    current.address = address;
                    current.connection = Some(Arc::clone(&connection));
                    return Ok(connection);
                }
                Ok(Err(err)) => tracing::debug!(address = %address.address, "dial failed: {err}"),
                Err(_) => tracing::debug!(address = %address.address, "dial timed out"),
            }
        }
        current.next_endpoint = (current.next_endpoint + 1) % self.addresses.len();
        Err(ClientError::DeadlineExceeded)
    }

    /// Drops a dead connection so the next request dials again (the next
    /// endpoint first).
    async fn forget(&self, dead: &Arc<Connection>) {
        let mut current = self.current.lock().await;
        if current
            .connection
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, dead))
        {
            current.connection = None;
            current.next_endpoint = (current.next_endpoint + 1) % self.addresses.len();
            current.address = self.addresses[current.next_endpoint].clone();
        }
    }

    /// After a retryable refusal: go to the leader the server named, if its
    /// client URL is known; otherwise to the next endpoint.
    async fn follow(&self, connection: &Arc<Connection>, error: &ApiError) {
        let leader_address = match error {
            ApiError::NotLeader {
                leader_hint: Some(leader),
            } => self.client_address_of(connection, *leader).await,
            _ => None,
        };
        let mut current = self.current.lock().await;
        match leader_address {
            Some(address) if address != current.address => {
                current.address = address;
                current.connection = None;
            }
            Some(_) => {}
            None if matches!(error, ApiError::NoLeader | ApiError::Unavailable(_)) => {}
            None => {
                current.next_endpoint = (current.next_endpoint + 1) % self.addresses.len();
                current.address = self.addresses[current.next_endpoint].clone();
                current.connection = None;
            }
        }
    }

    /// The client address of member `id`, from the member list.
    async fn client_address_of(&self, connection: &Arc<Connection>, id: u64) -> Option<Endpoint> {
        let list = Request::MemberList(MemberListRequest {
            linearizable: false,
        });
        match connection.call(list).await {
            Ok(Ok(Response::Member(members))) => members
                .members
                .iter()
                .find(|m| m.id == id)
                .and_then(|m| m.client_urls.first())
                .and_then(|url| crate::url::endpoint(url, self.options.tls.any()).ok()),
            _ => None,
        }
    }
}
