//! Operator requests: status, alarms, hash of the key-value state, leader move.

use super::ResponseHeader;

/// A member's view of itself and the cluster, for `endpoint status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// Server version, e.g. "3.4.23"-compatible "0.1.0".
    pub version: String,
    /// Size of the backend file in bytes.
    pub db_size: i64,
    /// Bytes of the backend file actually in use.
    pub db_size_in_use: i64,
    /// The leader this member knows of, 0 if none.
    pub leader: u64,
    /// Last raft log index of this member.
    pub raft_index: u64,
    /// Current raft term of this member.
    pub raft_term: u64,
    /// Last raft index applied to this member's state machine.
    pub raft_applied_index: u64,
    /// Active alarms and other problems, as text.
    pub errors: Vec<String>,
    /// Whether this member is a learner.
    pub is_learner: bool,
}

/// Kinds of cluster alarms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlarmType {
    /// No alarm (used to match all alarms in a request).
    #[default]
    None,
    /// The backend quota is exhausted; writes are refused.
    NoSpace,
    /// A member's data was found corrupt.
    Corrupt,
}

impl AlarmType {
    /// etcd's name of the alarm, as `alarm list` prints it.
    pub fn name(self) -> &'static str {
        match self {
            AlarmType::None => "NONE",
            AlarmType::NoSpace => "NOSPACE",
            AlarmType::Corrupt => "CORRUPT",
        }
    }
}

/// What an alarm request does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AlarmAction {
    /// List alarms.
    #[default]
    Get,
    /// Raise an alarm.
    Activate,
    /// Clear an alarm.
    Deactivate,
}

/// One raised alarm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct AlarmMember {
    /// The member the alarm is about.
    pub member_id: u64,
    /// The alarm.
    pub alarm: AlarmType,
}

/// Lists, raises or clears alarms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlarmRequest {
    /// What to do.
    pub action: AlarmAction,
    /// The member (0: all members, for Get and Deactivate).
    pub member_id: u64,
    /// The alarm (None: all alarms, for Get and Deactivate).
    pub alarm: AlarmType,
}

/// Alarms after an alarm request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// The alarms the request listed or changed.
    pub alarms: Vec<AlarmMember>,
}

/// Asks for a hash of the key-value state at a revision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashKvRequest {
    /// The revision to hash at; 0 for the latest.
    pub revision: i64,
}

/// A hash replicas can compare: equal state at a revision gives equal hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashKvResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// Hash of every key-value version between the compact revision and the
    /// requested revision.
    pub hash: u32,
    /// The compact revision the hash starts from.
    pub compact_revision: i64,
}

/// Result of defragmenting one member's state file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefragmentResponse {
    /// Response metadata.
    pub header: ResponseHeader,
}

/// Transfers leadership to another voter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoveLeaderRequest {
    /// The member to become leader.
    pub target_id: u64,
}

/// Result of a leader transfer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoveLeaderResponse {
    /// Response metadata.
    pub header: ResponseHeader,
}
