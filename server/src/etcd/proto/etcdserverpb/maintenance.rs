//! The Maintenance service: status, alarms, hashes, snapshot, defragment,
//! leader transfer.

use super::ResponseHeader;

message! {
    /// Asks for the hash of the whole backend.
    pub struct HashRequest = "etcdserverpb.HashRequest" {}
}

message! {
    /// The backend's hash.
    pub struct HashResponse = "etcdserverpb.HashResponse" {
        1 => header: message<ResponseHeader>,
        2 => hash: uint32,
    }
}

message! {
    /// Asks for the hash of the key-value history up to a revision.
    pub struct HashKvRequest = "etcdserverpb.HashKVRequest" {
        1 => revision: int64,
    }
}

message! {
    /// The key-value history's hash.
    pub struct HashKvResponse = "etcdserverpb.HashKVResponse" {
        1 => header: message<ResponseHeader>,
        2 => hash: uint32,
        3 => compact_revision: int64,
    }
}

message! {
    /// Asks for a snapshot of the backend.
    pub struct SnapshotRequest = "etcdserverpb.SnapshotRequest" {}
}

message! {
    /// One chunk of a snapshot.
    pub struct SnapshotResponse = "etcdserverpb.SnapshotResponse" {
        1 => header: message<ResponseHeader>,
        2 => remaining_bytes: uint64,
        3 => blob: bytes,
    }
}

message! {
    /// Asks a member to defragment its backend.
    pub struct DefragmentRequest = "etcdserverpb.DefragmentRequest" {}
}

message! {
    /// Result of a defragmentation.
    pub struct DefragmentResponse = "etcdserverpb.DefragmentResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// Transfers leadership.
    pub struct MoveLeaderRequest = "etcdserverpb.MoveLeaderRequest" {
        1 => target_id: uint64 as "targetID",
    }
}

message! {
    /// Result of a leader transfer.
    pub struct MoveLeaderResponse = "etcdserverpb.MoveLeaderResponse" {
        1 => header: message<ResponseHeader>,
    }
}

proto_enum! {
    /// Kinds of alarm.
    pub enum AlarmType = "etcdserverpb.AlarmType" {
        None = 0 => "NONE",
        Nospace = 1 => "NOSPACE",
        Corrupt = 2 => "CORRUPT",
    }
}

proto_enum! {
    /// What an alarm request does.
    pub enum AlarmAction = "etcdserverpb.AlarmRequest_AlarmAction" {
        Get = 0 => "GET",
        Activate = 1 => "ACTIVATE",
        Deactivate = 2 => "DEACTIVATE",
    }
}

message! {
    /// Lists, raises or clears alarms.
    pub struct AlarmRequest = "etcdserverpb.AlarmRequest" {
        1 => action: enumeration<AlarmAction>,
        2 => member_id: uint64 as "memberID",
        3 => alarm: enumeration<AlarmType>,
    }
}

message! {
    /// One raised alarm.
    pub struct AlarmMember = "etcdserverpb.AlarmMember" {
        1 => member_id: uint64 as "memberID",
        2 => alarm: enumeration<AlarmType>,
    }
}

message! {
    /// Alarms after an alarm request.
    pub struct AlarmResponse = "etcdserverpb.AlarmResponse" {
        1 => header: message<ResponseHeader>,
        2 => alarms: repeated_message<AlarmMember>,
    }
}

message! {
    /// Asks for the member's status.
    pub struct StatusRequest = "etcdserverpb.StatusRequest" {}
}

message! {
    /// The member's status.
    pub struct StatusResponse = "etcdserverpb.StatusResponse" {
        1 => header: message<ResponseHeader>,
        2 => version: string,
        3 => db_size: int64 as "dbSize",
        4 => leader: uint64,
        5 => raft_index: uint64 as "raftIndex",
        6 => raft_term: uint64 as "raftTerm",
        7 => raft_applied_index: uint64 as "raftAppliedIndex",
        8 => errors: repeated_string,
        9 => db_size_in_use: int64 as "dbSizeInUse",
        10 => is_learner: bool as "isLearner",
    }
}
