//! Keel's errors as etcd 3.4's gRPC statuses (`rpctypes`): the same code
//! and the same message, because etcd's clients decide what to retry, and
//! which typed error to return, from exactly those.

use crate::grpc::{Code, Status};
use keel_engine::api::ApiError;

/// The status etcd answers for `error`.
pub fn status_of(error: &ApiError) -> Status {
    let code = match error {
        ApiError::EmptyKey
        | ApiError::KeyNotFound
        | ApiError::ValueProvided
        | ApiError::LeaseProvided
        | ApiError::TooManyOps
        | ApiError::DuplicateKey
        | ApiError::MemberBadUrls
        | ApiError::RequestTooLarge
        | ApiError::UserEmpty
        | ApiError::RoleEmpty
        | ApiError::AuthFailed
        | ApiError::InvalidAuthMgmt
        | ApiError::AuthOldRevision
        | ApiError::BadRequest(_) => Code::InvalidArgument,
        ApiError::Compacted { .. } | ApiError::FutureRevision | ApiError::LeaseTtlTooLarge => {
            Code::OutOfRange
        }
        ApiError::NoSpace | ApiError::TooManyRequests => Code::ResourceExhausted,
        ApiError::LeaseNotFound | ApiError::MemberNotFound => Code::NotFound,
        ApiError::LeaseExists
        | ApiError::MemberExists
        | ApiError::PeerUrlExists
        | ApiError::NotEnoughStartedMembers
        | ApiError::MemberNotLearner
        | ApiError::LearnerNotReady
        | ApiError::TooManyLearners
        | ApiError::NotLeader { .. }
        | ApiError::BadLeaderTransferee
        | ApiError::RootUserNotExist
        | ApiError::RootRoleNotExist
        | ApiError::UserAlreadyExist
        | ApiError::UserNotFound
        | ApiError::RoleAlreadyExist
        | ApiError::RoleNotFound
        | ApiError::RoleNotGranted
        | ApiError::PermissionNotGranted
        | ApiError::AuthNotEnabled => Code::FailedPrecondition,
        // etcd 3.4 maps no gRPC error to this one: Go's gRPC answers Unknown.
        ApiError::NoPasswordUser => Code::Unknown,
        ApiError::NoLeader
        | ApiError::LeaderChanged
        | ApiError::Stopped
        | ApiError::Interrupted
        | ApiError::Timeout
        | ApiError::Unhealthy
        | ApiError::NotSupportedForLearner
        | ApiError::Unavailable(_) => Code::Unavailable,
        ApiError::Corrupt => Code::DataLoss,
        ApiError::Unauthenticated => Code::Unauthenticated,
        ApiError::PermissionDenied => Code::PermissionDenied,
    };
    Status::new(code, error.to_string())
}

/// The status etcd's maintenance server answers when it refuses a caller
/// (Defragment, Hash, HashKV, Snapshot): etcd passes the auth package's
/// error through untranslated, so gRPC sends it as `Unknown` with the auth
/// package's words. Any other error is [`status_of`]'s.
pub fn maintenance_status_of(error: &ApiError) -> Status {
    let words = match error {
        ApiError::UserEmpty => "auth: user name is empty",
        ApiError::UserNotFound => "auth: user not found",
        ApiError::PermissionDenied => "auth: permission denied",
        ApiError::Unauthenticated => "auth: invalid auth token",
        _ => return status_of(error),
    };
    Status::new(Code::Unknown, words)
}

/// Auth answers of Keel's own.
pub mod auth {
    use crate::grpc::{Code, Status};

    /// A token etcd does not know (any token, while auth is disabled).
    pub fn invalid_token() -> Status {
        Status::new(Code::Unauthenticated, "etcdserver: invalid auth token")
    }
}

/// etcd's "no leader" answer to a call that required a leader (clientv3's
/// `hasleader` metadata).
pub fn no_leader() -> Status {
    status_of(&ApiError::NoLeader)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages_are_etcds() {
        let cases = [
            (
                ApiError::EmptyKey,
                Code::InvalidArgument,
                "etcdserver: key is not provided",
            ),
            (
                ApiError::Compacted {
                    compact_revision: 3,
                },
                Code::OutOfRange,
                "etcdserver: mvcc: required revision has been compacted",
            ),
            (
                ApiError::FutureRevision,
                Code::OutOfRange,
                "etcdserver: mvcc: required revision is a future revision",
            ),
            (
                ApiError::NoSpace,
                Code::ResourceExhausted,
                "etcdserver: mvcc: database space exceeded",
            ),
            (
                ApiError::LeaseNotFound,
                Code::NotFound,
                "etcdserver: requested lease not found",
            ),
            (
                ApiError::LeaseTtlTooLarge,
                Code::OutOfRange,
                "etcdserver: too large lease TTL",
            ),
            (
                ApiError::NoLeader,
                Code::Unavailable,
                "etcdserver: no leader",
            ),
            (
                ApiError::NotLeader { leader_hint: None },
                Code::FailedPrecondition,
                "etcdserver: not leader",
            ),
            (
                ApiError::LeaderChanged,
                Code::Unavailable,
                "etcdserver: leader changed",
            ),
            (
                ApiError::Timeout,
                Code::Unavailable,
                "etcdserver: request timed out",
            ),
            (
                ApiError::RequestTooLarge,
                Code::InvalidArgument,
                "etcdserver: request is too large",
            ),
            (
                ApiError::TooManyOps,
                Code::InvalidArgument,
                "etcdserver: too many operations in txn request",
            ),
            (
                ApiError::DuplicateKey,
                Code::InvalidArgument,
                "etcdserver: duplicate key given in txn request",
            ),
            (
                ApiError::MemberNotFound,
                Code::NotFound,
                "etcdserver: member not found",
            ),
            (
                ApiError::PeerUrlExists,
                Code::FailedPrecondition,
                "etcdserver: Peer URLs already exists",
            ),
            (
                ApiError::NotEnoughStartedMembers,
                Code::FailedPrecondition,
                "etcdserver: re-configuration failed due to not enough started members",
            ),
            (
                ApiError::MemberNotLearner,
                Code::FailedPrecondition,
                "etcdserver: can only promote a learner member",
            ),
            (
                ApiError::LearnerNotReady,
                Code::FailedPrecondition,
                "etcdserver: can only promote a learner member which is in sync with leader",
            ),
            (
                ApiError::Unhealthy,
                Code::Unavailable,
                "etcdserver: unhealthy cluster",
            ),
            (
                ApiError::Corrupt,
                Code::DataLoss,
                "etcdserver: corrupt cluster",
            ),
            (
                ApiError::BadLeaderTransferee,
                Code::FailedPrecondition,
                "etcdserver: bad leader transferee",
            ),
            (
                ApiError::Stopped,
                Code::Unavailable,
                "etcdserver: server stopped",
            ),
        ];
        for (error, code, message) in cases {
            assert_eq!(status_of(&error), Status::new(code, message), "{error:?}");
        }
    }
}
