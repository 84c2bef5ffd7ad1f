//! The KV service: range, put, delete range, txn, compaction.

use super::ResponseHeader;
use crate::etcd::proto::mvccpb::KeyValue;

proto_enum! {
    /// Order of a range's keys.
    pub enum SortOrder = "etcdserverpb.RangeRequest_SortOrder" {
        None = 0 => "NONE",
        Ascend = 1 => "ASCEND",
        Descend = 2 => "DESCEND",
    }
}

proto_enum! {
    /// Field a range sorts by.
    pub enum SortTarget = "etcdserverpb.RangeRequest_SortTarget" {
        Key = 0 => "KEY",
        Version = 1 => "VERSION",
        Create = 2 => "CREATE",
        Mod = 3 => "MOD",
        Value = 4 => "VALUE",
    }
}

message! {
    /// Reads keys.
    pub struct RangeRequest = "etcdserverpb.RangeRequest" {
        1 => key: bytes,
        2 => range_end: bytes,
        3 => limit: int64,
        4 => revision: int64,
        5 => sort_order: enumeration<SortOrder>,
        6 => sort_target: enumeration<SortTarget>,
        7 => serializable: bool,
        8 => keys_only: bool,
        9 => count_only: bool,
        10 => min_mod_revision: int64,
        11 => max_mod_revision: int64,
        12 => min_create_revision: int64,
        13 => max_create_revision: int64,
    }
}

message! {
    /// The keys a range found.
    pub struct RangeResponse = "etcdserverpb.RangeResponse" {
        1 => header: message<ResponseHeader>,
        2 => kvs: repeated_message<KeyValue>,
        3 => more: bool,
        4 => count: int64,
    }
}

message! {
    /// Writes one key.
    pub struct PutRequest = "etcdserverpb.PutRequest" {
        1 => key: bytes,
        2 => value: bytes,
        3 => lease: int64,
        4 => prev_kv: bool,
        5 => ignore_value: bool,
        6 => ignore_lease: bool,
    }
}

message! {
    /// Result of a put.
    pub struct PutResponse = "etcdserverpb.PutResponse" {
        1 => header: message<ResponseHeader>,
        2 => prev_kv: message<KeyValue>,
    }
}

message! {
    /// Deletes a key or a range.
    pub struct DeleteRangeRequest = "etcdserverpb.DeleteRangeRequest" {
        1 => key: bytes,
        2 => range_end: bytes,
        3 => prev_kv: bool,
    }
}

message! {
    /// Result of a delete.
    pub struct DeleteRangeResponse = "etcdserverpb.DeleteRangeResponse" {
        1 => header: message<ResponseHeader>,
        2 => deleted: int64,
        3 => prev_kvs: repeated_message<KeyValue>,
    }
}

oneof! {
    /// The operation of a [`RequestOp`].
    pub enum Request {
        1 => RequestRange(message<RangeRequest>) as "request_range",
        2 => RequestPut(message<PutRequest>) as "request_put",
        3 => RequestDeleteRange(message<DeleteRangeRequest>) as "request_delete_range",
        4 => RequestTxn(message<TxnRequest>) as "request_txn",
    }
}

message! {
    /// One operation of a txn branch.
    pub struct RequestOp = "etcdserverpb.RequestOp" {
        "1, 2, 3, 4" => request: oneof<Request>("Request"),
    }
}

oneof! {
    /// The answer of a [`ResponseOp`].
    pub enum Response {
        1 => ResponseRange(message<RangeResponse>) as "response_range",
        2 => ResponsePut(message<PutResponse>) as "response_put",
        3 => ResponseDeleteRange(message<DeleteRangeResponse>) as "response_delete_range",
        4 => ResponseTxn(message<TxnResponse>) as "response_txn",
    }
}

message! {
    /// The answer to one operation of a txn branch.
    pub struct ResponseOp = "etcdserverpb.ResponseOp" {
        "1, 2, 3, 4" => response: oneof<Response>("Response"),
    }
}

proto_enum! {
    /// The relation a compare checks.
    pub enum CompareResult = "etcdserverpb.Compare_CompareResult" {
        Equal = 0 => "EQUAL",
        Greater = 1 => "GREATER",
        Less = 2 => "LESS",
        NotEqual = 3 => "NOT_EQUAL",
    }
}

proto_enum! {
    /// The field a compare inspects.
    pub enum CompareTarget = "etcdserverpb.Compare_CompareTarget" {
        Version = 0 => "VERSION",
        Create = 1 => "CREATE",
        Mod = 2 => "MOD",
        Value = 3 => "VALUE",
        Lease = 4 => "LEASE",
    }
}

oneof! {
    /// The value a [`Compare`] compares against.
    pub enum TargetUnion {
        4 => Version(int64) as "version",
        5 => CreateRevision(int64) as "create_revision",
        6 => ModRevision(int64) as "mod_revision",
        7 => Value(bytes) as "value",
        8 => Lease(int64) as "lease",
    }
}

message! {
    /// One condition of a txn.
    pub struct Compare = "etcdserverpb.Compare" {
        1 => result: enumeration<CompareResult>,
        2 => target: enumeration<CompareTarget>,
        3 => key: bytes,
        "4, 5, 6, 7, 8" => target_union: oneof<TargetUnion>("TargetUnion"),
        64 => range_end: bytes,
    }
}

message! {
    /// A conditional multi-operation transaction.
    pub struct TxnRequest = "etcdserverpb.TxnRequest" {
        1 => compare: repeated_message<Compare>,
        2 => success: repeated_message<RequestOp>,
        3 => failure: repeated_message<RequestOp>,
    }
}

message! {
    /// Result of a txn.
    pub struct TxnResponse = "etcdserverpb.TxnResponse" {
        1 => header: message<ResponseHeader>,
        2 => succeeded: bool,
        3 => responses: repeated_message<ResponseOp>,
    }
}

message! {
    /// Drops history below a revision.
    pub struct CompactionRequest = "etcdserverpb.CompactionRequest" {
        1 => revision: int64,
        2 => physical: bool,
    }
}

message! {
    /// Result of a compaction.
    pub struct CompactionResponse = "etcdserverpb.CompactionResponse" {
        1 => header: message<ResponseHeader>,
    }
}
