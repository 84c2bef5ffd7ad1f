//! Typed errors of the client API, with etcd's wording so that `keelctl`
//! prints exactly what `etcdctl` prints for the same situation.

use std::fmt;

/// Every error a request can end with. The wire carries [`ApiError::code`];
/// the text of [`fmt::Display`] is etcd's message for the same condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The key was empty.
    EmptyKey,
    /// `ignore_value`/`ignore_lease` on a key that does not exist.
    KeyNotFound,
    /// `ignore_value` together with a value.
    ValueProvided,
    /// `ignore_lease` together with a lease.
    LeaseProvided,
    /// A txn has more operations than `--max-txn-ops`.
    TooManyOps,
    /// A txn writes the same key twice.
    DuplicateKey,
    /// The requested revision was compacted away.
    Compacted {
        /// The revision the store is compacted to.
        compact_revision: i64,
    },
    /// The requested revision is newer than the store.
    FutureRevision,
    /// The backend quota is exhausted (a NOSPACE alarm is active).
    NoSpace,
    /// The lease does not exist (or expired).
    LeaseNotFound,
    /// A lease with the requested id exists already.
    LeaseExists,
    /// The lease TTL is over the maximum.
    LeaseTtlTooLarge,
    /// A member with that id exists already.
    MemberExists,
    /// Another member already uses one of the peer URLs.
    PeerUrlExists,
    /// Adding a voter now would leave the cluster without quorum.
    NotEnoughStartedMembers,
    /// A peer URL does not parse.
    MemberBadUrls,
    /// No member with that id.
    MemberNotFound,
    /// Only learners can be promoted.
    MemberNotLearner,
    /// The learner has not caught up with the leader yet.
    LearnerNotReady,
    /// The cluster already has the maximum number of learners.
    TooManyLearners,
    /// The request is over `--max-request-bytes`.
    RequestTooLarge,
    /// Too many requests in flight.
    TooManyRequests,
    /// The cluster has no leader at the moment.
    NoLeader,
    /// This member is not the leader (with the leader it knows of, if any).
    NotLeader {
        /// The member this one believes is leader, if any.
        leader_hint: Option<u64>,
    },
    /// Leadership changed while the request was in flight; its outcome is unknown.
    LeaderChanged,
    /// The member is shutting down (the request was not taken).
    Stopped,
    /// The member stopped (fail-stop, shutdown, crash) after it had taken
    /// the request: it may or may not have been committed.
    Interrupted,
    /// The request did not complete in time; its outcome is unknown.
    Timeout,
    /// The cluster is not healthy enough for the operation.
    Unhealthy,
    /// The cluster's data is corrupt (a CORRUPT alarm is active).
    Corrupt,
    /// The request is not served by learners.
    NotSupportedForLearner,
    /// The leader transfer target is not a voter.
    BadLeaderTransferee,
    /// Authentication is required or failed.
    Unauthenticated,
    /// The authenticated user may not do this.
    PermissionDenied,
    /// `auth enable` without a `root` user.
    RootUserNotExist,
    /// `auth enable` while `root` lacks the `root` role.
    RootRoleNotExist,
    /// A user of that name exists already.
    UserAlreadyExist,
    /// The user name is empty.
    UserEmpty,
    /// No user of that name.
    UserNotFound,
    /// A role of that name exists already.
    RoleAlreadyExist,
    /// No role of that name.
    RoleNotFound,
    /// The role name is empty.
    RoleEmpty,
    /// Wrong user name or password.
    AuthFailed,
    /// A password was given for a user that has none.
    NoPasswordUser,
    /// The user does not have the role.
    RoleNotGranted,
    /// The role does not have the permission.
    PermissionNotGranted,
    /// Authentication is off.
    AuthNotEnabled,
    /// A change that would lock out the administrator (deleting `root`,
    /// taking its role) while auth is enabled.
    InvalidAuthMgmt,
    /// The caller's identity predates the latest auth change.
    AuthOldRevision,
    /// The request is malformed.
    BadRequest(String),
    /// The member cannot serve right now (with why).
    Unavailable(String),
}

/// How a client should treat an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The request was not executed; it may be sent again, perhaps elsewhere.
    Retryable,
    /// The request may or may not have taken effect.
    Indeterminate,
    /// The request was refused; sending it again gives the same answer.
    Final,
}

impl ApiError {
    /// Stable number of this error on the wire.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::EmptyKey => 1,
            ApiError::KeyNotFound => 2,
            ApiError::TooManyOps => 3,
            ApiError::DuplicateKey => 4,
            ApiError::Compacted { .. } => 5,
            ApiError::FutureRevision => 6,
            ApiError::NoSpace => 7,
            ApiError::LeaseNotFound => 8,
            ApiError::LeaseExists => 9,
            ApiError::LeaseTtlTooLarge => 10,
            ApiError::MemberExists => 11,
            ApiError::PeerUrlExists => 12,
            ApiError::NotEnoughStartedMembers => 13,
            ApiError::MemberBadUrls => 14,
            ApiError::MemberNotFound => 15,
            ApiError::MemberNotLearner => 16,
            ApiError::LearnerNotReady => 17,
            ApiError::TooManyLearners => 18,
            ApiError::RequestTooLarge => 19,
            ApiError::TooManyRequests => 20,
            ApiError::NoLeader => 21,
            ApiError::NotLeader { .. } => 22,
            ApiError::LeaderChanged => 23,
            ApiError::Stopped => 24,
            ApiError::Timeout => 25,
            ApiError::Unhealthy => 26,
            ApiError::Corrupt => 27,
            ApiError::NotSupportedForLearner => 28,
            ApiError::BadLeaderTransferee => 29,
            ApiError::Unauthenticated => 30,
            ApiError::PermissionDenied => 31,
            ApiError::BadRequest(_) => 32,
            ApiError::Unavailable(_) => 33,
            ApiError::ValueProvided => 34,
            ApiError::LeaseProvided => 35,
            ApiError::Interrupted => 36,
            ApiError::RootUserNotExist => 37,
            ApiError::RootRoleNotExist => 38,
            ApiError::UserAlreadyExist => 39,
            ApiError::UserEmpty => 40,
            ApiError::UserNotFound => 41,
            ApiError::RoleAlreadyExist => 42,
            ApiError::RoleNotFound => 43,
            ApiError::RoleEmpty => 44,
            ApiError::AuthFailed => 45,
            ApiError::NoPasswordUser => 46,
            ApiError::RoleNotGranted => 47,
            ApiError::PermissionNotGranted => 48,
            ApiError::AuthNotEnabled => 49,
            ApiError::InvalidAuthMgmt => 50,
            ApiError::AuthOldRevision => 51,
        }
    }

    /// Whether a client may retry, and whether the outcome is known.
    pub fn class(&self) -> ErrorClass {
        match self {
            ApiError::NoLeader
            | ApiError::NotLeader { .. }
            | ApiError::Stopped
            | ApiError::TooManyRequests
            | ApiError::Unavailable(_) => ErrorClass::Retryable,
            ApiError::Timeout | ApiError::LeaderChanged | ApiError::Interrupted => {
                ErrorClass::Indeterminate
            }
            _ => ErrorClass::Final,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            ApiError::EmptyKey => "etcdserver: key is not provided",
            ApiError::KeyNotFound => "etcdserver: key not found",
            ApiError::ValueProvided => "etcdserver: value is provided",
            ApiError::LeaseProvided => "etcdserver: lease is provided",
            ApiError::TooManyOps => "etcdserver: too many operations in txn request",
            ApiError::DuplicateKey => "etcdserver: duplicate key given in txn request",
            ApiError::Compacted { .. } => "etcdserver: mvcc: required revision has been compacted",
            ApiError::FutureRevision => "etcdserver: mvcc: required revision is a future revision",
            ApiError::NoSpace => "etcdserver: mvcc: database space exceeded",
            ApiError::LeaseNotFound => "etcdserver: requested lease not found",
            ApiError::LeaseExists => "etcdserver: lease already exists",
            ApiError::LeaseTtlTooLarge => "etcdserver: too large lease TTL",
            ApiError::MemberExists => "etcdserver: member ID already exist",
            ApiError::PeerUrlExists => "etcdserver: Peer URLs already exists",
            ApiError::NotEnoughStartedMembers => {
                "etcdserver: re-configuration failed due to not enough started members"
            }
            ApiError::MemberBadUrls => "etcdserver: given member URLs are invalid",
            ApiError::MemberNotFound => "etcdserver: member not found",
            ApiError::MemberNotLearner => "etcdserver: can only promote a learner member",
            ApiError::LearnerNotReady => {
                "etcdserver: can only promote a learner member which is in sync with leader"
            }
            ApiError::TooManyLearners => "etcdserver: too many learner members in cluster",
            ApiError::RequestTooLarge => "etcdserver: request is too large",
            ApiError::TooManyRequests => "etcdserver: too many requests",
            ApiError::NoLeader => "etcdserver: no leader",
            ApiError::NotLeader { .. } => "etcdserver: not leader",
            ApiError::LeaderChanged => "etcdserver: leader changed",
            ApiError::Stopped | ApiError::Interrupted => "etcdserver: server stopped",
            ApiError::Timeout => "etcdserver: request timed out",
            ApiError::Unhealthy => "etcdserver: unhealthy cluster",
            ApiError::Corrupt => "etcdserver: corrupt cluster",
            ApiError::NotSupportedForLearner => "etcdserver: rpc not supported for learner",
            ApiError::BadLeaderTransferee => "etcdserver: bad leader transferee",
            ApiError::Unauthenticated => "etcdserver: invalid auth token",
            ApiError::PermissionDenied => "etcdserver: permission denied",
            ApiError::RootUserNotExist => "etcdserver: root user does not exist",
            ApiError::RootRoleNotExist => "etcdserver: root user does not have root role",
            ApiError::UserAlreadyExist => "etcdserver: user name already exists",
            ApiError::UserEmpty => "etcdserver: user name is empty",
            ApiError::UserNotFound => "etcdserver: user name not found",
            ApiError::RoleAlreadyExist => "etcdserver: role name already exists",
            ApiError::RoleNotFound => "etcdserver: role name not found",
            ApiError::RoleEmpty => "etcdserver: role name is empty",
            ApiError::AuthFailed => {
                "etcdserver: authentication failed, invalid user ID or password"
            }
            // etcd 3.4 has no gRPC error for this one: its clients see the
            // auth package's own text.
            ApiError::NoPasswordUser => {
                "auth: authentication failed, password was given for no password user"
            }
            ApiError::RoleNotGranted => "etcdserver: role is not granted to the user",
            ApiError::PermissionNotGranted => "etcdserver: permission is not granted to the role",
            ApiError::AuthNotEnabled => "etcdserver: authentication is not enabled",
            ApiError::InvalidAuthMgmt => "etcdserver: invalid auth management",
            ApiError::AuthOldRevision => "etcdserver: revision of auth store is old",
            ApiError::BadRequest(why) => return write!(f, "keel: bad request: {why}"),
            ApiError::Unavailable(why) => return write!(f, "keel: unavailable: {why}"),
        };
        f.write_str(text)
    }
}

impl std::error::Error for ApiError {}
