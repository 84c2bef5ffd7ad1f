//! The handle through which the server, transports and tests talk to a node.

use super::metrics::NodeMetrics;
use crate::api::{
    ApiError, AuthAnswer, AuthRequest, AuthResponse, Changes, Credential, Credentials, Request,
    Response, StatusResponse,
};
use bytes::Bytes;
use raft::eraftpb::Message;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// What a node is told to do. The node task owns all state; everything
/// reaches it as one of these, in order.
#[derive(Debug)]
pub(crate) enum Command {
    /// A raft message from a peer.
    Step(Message),
    /// A snapshot message from a peer, with the store image it refers to.
    StepSnapshot(Message, Bytes),
    /// The outcome of sending a snapshot to `to`.
    ReportSnapshot { to: u64, ok: bool },
    /// `to` could not be reached.
    ReportUnreachable(u64),
    /// A client request, answered through `reply`.
    Client {
        request: Request,
        credentials: Credentials,
        reply: oneshot::Sender<Result<Response, ApiError>>,
    },
    /// Check that the caller may do something that is not a request (a
    /// watch, a backup).
    Authorize {
        credentials: Credentials,
        need: Need,
        reply: oneshot::Sender<Result<(), ApiError>>,
    },
    /// Read a stretch of history for a watch (served from local state).
    Changes {
        query: ChangesQuery,
        reply: oneshot::Sender<Result<Changes, ApiError>>,
    },
    /// Checkpoint, then hand over the checkpoint's view for a backup.
    Backup(oneshot::Sender<Result<crate::storage::btree::ReadView, ApiError>>),
    /// Stop the node (drain: answer pending requests with `Stopped`).
    Stop,
}

/// What a caller needs permission for, besides requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Reading a range (a watch on it): etcd's range rules.
    Read {
        /// First key.
        key: Bytes,
        /// End of the range (etcd's `range_end` rules).
        range_end: Bytes,
    },
    /// Administration (a backup): the root role.
    Admin,
}

/// What a watch asks the node's history for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesQuery {
    /// First key (etcd's `key`).
    pub key: Bytes,
    /// End of the range (etcd's `range_end` rules).
    pub range_end: Bytes,
    /// First revision wanted.
    pub from: i64,
    /// About how many events at most (a revision is never split).
    pub max_events: usize,
    /// About how many bytes of keys and values at most (likewise).
    pub max_bytes: usize,
    /// Whether each event carries the key's previous version.
    pub prev_kv: bool,
}

/// What a node publishes about itself after every change, for the server
/// (health checks, peer address book) and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStatus {
    /// This member.
    pub member_id: u64,
    /// The leader this member knows of, 0 if none.
    pub leader_id: u64,
    /// Current raft term.
    pub term: u64,
    /// Highest applied raft index.
    pub applied_index: u64,
    /// Store revision after the last applied entry.
    pub revision: i64,
    /// Whether this member was removed from the cluster (it has stopped).
    pub removed: bool,
    /// Whether the node has stopped (removed, fail-stopped or asked to).
    pub stopped: bool,
    /// Why the node stopped, if it stopped on an error.
    pub fatal_error: Option<String>,
    /// Snapshots received from a leader and installed since the node started.
    pub snapshots_installed: u64,
    /// Raft index of this member's newest checkpoint.
    pub checkpoint_index: u64,
    /// Whether the member list shows this member's name and client URLs
    /// (etcd's "published": only then is the member ready for clients).
    pub published: bool,
}

impl NodeStatus {
    /// Whether the member can serve clients as etcd's do once "ready": it
    /// knows a leader, has applied its first entries, and the member list
    /// shows its name and client URLs.
    pub fn ready_for_clients(&self) -> bool {
        !self.stopped && self.leader_id != 0 && self.applied_index > 0 && self.published
    }

    /// Whether this member has seen its cluster formed: it knows a leader,
    /// or has applied entries past a new cluster's bootstrap (index 1), so
    /// it stays true through later elections and on a restart. etcd's
    /// cluster version is decided from then on.
    pub fn cluster_formed(&self) -> bool {
        self.leader_id != 0 || self.applied_index > 1
    }
}

/// A cheap, cloneable way to reach a running node.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) status: watch::Receiver<NodeStatus>,
    pub(crate) metrics: Arc<NodeMetrics>,
    /// The cost of the password hashes this member makes.
    pub(crate) bcrypt_cost: u32,
}

impl NodeHandle {
    /// Hands a peer's raft message to the node. Never blocks: when the
    /// node's inbox is full the message is dropped, which raft tolerates.
    pub fn step(&self, message: Message) {
        let _ = self.commands.try_send(Command::Step(message));
    }

    /// Hands a peer's snapshot message and its image to the node.
    pub fn step_snapshot(&self, message: Message, image: Bytes) {
        let _ = self
            .commands
            .try_send(Command::StepSnapshot(message, image));
    }

    /// Reports whether a snapshot sent to `to` arrived.
    pub fn report_snapshot(&self, to: u64, ok: bool) {
        let _ = self.commands.try_send(Command::ReportSnapshot { to, ok });
    }

    /// Reports that `to` could not be reached.
    pub fn report_unreachable(&self, to: u64) {
        let _ = self.commands.try_send(Command::ReportUnreachable(to));
    }

    /// Executes a client request on this member and waits for its answer,
    /// as an anonymous caller (see [`NodeHandle::request_as`]).
    pub async fn request(&self, request: Request) -> Result<Response, ApiError> {
        self.request_as(request, Credentials::None).await
    }

    /// Executes a client request made with `credentials` and waits for its
    /// answer. Writes go through raft and are checked against the caller's
    /// permissions when they apply; linearizable reads go through
    /// ReadIndex and are checked when served; the answer comes within the
    /// node's request timeout. Passwords are hashed (new ones) or checked
    /// (`Authenticate`) here, off the node's task; hashes and tokens are
    /// not accepted from clients, and hashes never answered to them.
    pub async fn request_as(
        &self,
        request: Request,
        credentials: Credentials,
    ) -> Result<Response, ApiError> {
        match request {
            Request::Auth(auth) => self.auth_request(auth, credentials).await,
            other => self.send(other, credentials).await,
        }
    }

    async fn auth_request(
        &self,
        auth: AuthRequest,
        credentials: Credentials,
    ) -> Result<Response, ApiError> {
        let request = match auth {
            AuthRequest::UserAdd { name, credential } => AuthRequest::UserAdd {
                credential: self.hashed(&name, credential).await?,
                name,
            },
            AuthRequest::UserChangePassword { name, credential } => {
                AuthRequest::UserChangePassword {
                    credential: self.hashed(&name, credential).await?,
                    name,
                }
            }
            AuthRequest::Authenticate { name, password } => {
                return self.authenticate(name, password).await;
            }
            AuthRequest::IssueToken { .. } => {
                return Err(ApiError::BadRequest(
                    "tokens are issued by authenticating".into(),
                ));
            }
            other => other,
        };
        self.send(Request::Auth(request), credentials).await
    }

    /// Checks `password` against the hash the cluster holds for `name`
    /// (read linearizably), then has a new token issued through raft.
    async fn authenticate(&self, name: String, password: String) -> Result<Response, ApiError> {
        let read = AuthRequest::Authenticate {
            name: name.clone(),
            password: String::new(),
        };
        let response = self.send(Request::Auth(read), Credentials::None).await?;
        let hash = match response {
            Response::Auth(AuthResponse {
                answer: AuthAnswer::PasswordHash { hash, .. },
                ..
            }) => hash,
            other => {
                return Err(ApiError::Unavailable(format!(
                    "unexpected answer to a password read: {other:?}"
                )));
            }
        };
        let matched = off_task(move || crate::auth::verify_password(&password, &hash)).await?;
        if !matched {
            return Err(ApiError::AuthFailed);
        }
        let issue = AuthRequest::IssueToken {
            name,
            token: new_token(),
        };
        self.send(Request::Auth(issue), Credentials::None).await
    }

    /// A client's credential as it is proposed: a password hashed with a
    /// fresh salt; no password stays none.
    async fn hashed(&self, name: &str, credential: Credential) -> Result<Credential, ApiError> {
        match credential {
            Credential::Password(password) => {
                // etcd refuses an empty name before it hashes anything.
                if name.is_empty() {
                    return Err(ApiError::UserEmpty);
                }
                let cost = self.bcrypt_cost;
                let salt: [u8; 16] = rand::random();
                let hash = off_task(move || crate::auth::hash_password(&password, cost, salt))
                    .await?
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
                Ok(Credential::Hash(hash))
            }
            Credential::NoPassword => Ok(Credential::NoPassword),
            Credential::Hash(_) => Err(ApiError::BadRequest(
                "password hashes are not accepted from clients".into(),
            )),
        }
    }

    async fn send(&self, request: Request, credentials: Credentials) -> Result<Response, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .try_send(Command::Client {
                request,
                credentials,
                reply,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ApiError::TooManyRequests,
                mpsc::error::TrySendError::Closed(_) => ApiError::Stopped,
            })?;
        // Dropped unanswered: the node died after taking the request.
        answer.await.map_err(|_| ApiError::Interrupted)?
    }

    /// Whether `credentials` allow `need` under the auth store as this
    /// member has applied it (etcd checks watches and backups this way,
    /// once, when they start).
    pub async fn authorize(&self, credentials: Credentials, need: Need) -> Result<(), ApiError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .try_send(Command::Authorize {
                credentials,
                need,
                reply,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ApiError::TooManyRequests,
                mpsc::error::TrySendError::Closed(_) => ApiError::Stopped,
            })?;
        answer.await.map_err(|_| ApiError::Stopped)?
    }

    /// A stretch of this member's applied history (no raft round: a watch
    /// sees what this member has applied, in order, never a gap).
    pub async fn changes(&self, query: ChangesQuery) -> Result<Changes, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .try_send(Command::Changes { query, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ApiError::TooManyRequests,
                mpsc::error::TrySendError::Closed(_) => ApiError::Stopped,
            })?;
        answer.await.map_err(|_| ApiError::Stopped)?
    }

    /// A backup of this member's state as of now (etcd's
    /// Maintenance.Snapshot: this member's applied state, not a
    /// linearizable read). The stream pins its checkpoint, never more than a
    /// page of it in memory, and the member keeps serving while it is read.
    pub async fn backup(&self) -> Result<crate::backup::BackupStream, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .try_send(Command::Backup(reply))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ApiError::TooManyRequests,
                mpsc::error::TrySendError::Closed(_) => ApiError::Stopped,
            })?;
        let view = answer.await.map_err(|_| ApiError::Stopped)??;
        let image = view
            .export()
            .map_err(|e| ApiError::Unavailable(format!("keel: backup: {e}")))?;
        Ok(crate::backup::BackupStream::new(image))
    }

    /// This member's status as `endpoint status` reports it.
    pub async fn endpoint_status(&self) -> Result<StatusResponse, ApiError> {
        match self.request(Request::Status).await? {
            crate::api::Response::Status(status) => Ok(status),
            other => Err(ApiError::Unavailable(format!(
                "unexpected answer to status: {other:?}"
            ))),
        }
    }

    /// The latest published status.
    pub fn status(&self) -> NodeStatus {
        self.status.borrow().clone()
    }

    /// What the node counts about itself, read when monitoring asks.
    pub fn metrics(&self) -> &NodeMetrics {
        &self.metrics
    }

    /// A receiver that sees every status change.
    pub fn watch_status(&self) -> watch::Receiver<NodeStatus> {
        self.status.clone()
    }

    /// Asks the node to stop; pending requests are answered with `Stopped`.
    pub async fn stop(&self) {
        let _ = self.commands.send(Command::Stop).await;
    }
}

/// Runs slow, CPU-bound work (bcrypt) where it cannot stall the runtime's
/// other tasks. The simulator runs it inline: its time does not pass while
/// code runs, and it has no threads.
async fn off_task<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R, ApiError> {
    #[cfg(not(madsim))]
    {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| ApiError::Unavailable(format!("password work failed: {e}")))
    }
    #[cfg(madsim)]
    {
        Ok(work())
    }
}

/// A fresh simple token: 16 random letters, as etcd's simple tokens begin
/// (etcd appends the raft index; Keel's are random throughout).
fn new_token() -> String {
    use rand::Rng;
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    let prefix: String = (0..16)
        .map(|_| char::from(LETTERS[rng.gen_range(0..LETTERS.len())]))
        .collect();
    let suffix: u64 = rng.r#gen();
    format!("{prefix}.{suffix}")
}
