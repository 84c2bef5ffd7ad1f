//! Key-value requests: range, put, delete range, txn, compaction.

use super::ResponseHeader;
use bytes::Bytes;

/// A key with its value and the revisions that describe its history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: Bytes,
    /// Revision of the put that created this key (since its last delete).
    pub create_revision: i64,
    /// Revision of the last change to this key.
    pub mod_revision: i64,
    /// Number of puts since creation; 1 after the creating put.
    pub version: i64,
    /// The value.
    pub value: Bytes,
    /// Lease attached to the key, 0 for none.
    pub lease: i64,
}

/// Order of the keys a range returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Key order (ascending), without an explicit sort.
    #[default]
    None,
    /// Ascending by the sort target.
    Ascend,
    /// Descending by the sort target.
    Descend,
}

/// Field a range sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortTarget {
    /// The key.
    #[default]
    Key,
    /// The version.
    Version,
    /// The create revision.
    Create,
    /// The mod revision.
    Mod,
    /// The value.
    Value,
}

/// Reads keys, following etcd's rules for `range_end`: empty means the single
/// key `key`; `"\0"` means every key >= `key`; otherwise `[key, range_end)`.
/// A `key` of `"\0"` with `range_end` `"\0"` means all keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeRequest {
    /// First key (or the only key).
    pub key: Bytes,
    /// End of the range, exclusive; see the type's rules.
    pub range_end: Bytes,
    /// At most this many keys; 0 for no limit.
    pub limit: i64,
    /// Read at this revision; 0 or less for the latest.
    pub revision: i64,
    /// Sort order.
    pub sort_order: SortOrder,
    /// Sort field.
    pub sort_target: SortTarget,
    /// Serve from the local state without a ReadIndex round.
    pub serializable: bool,
    /// Return keys without values.
    pub keys_only: bool,
    /// Return only the count.
    pub count_only: bool,
    /// Only keys whose mod revision is >= this (0: no bound).
    pub min_mod_revision: i64,
    /// Only keys whose mod revision is <= this (0: no bound).
    pub max_mod_revision: i64,
    /// Only keys whose create revision is >= this (0: no bound).
    pub min_create_revision: i64,
    /// Only keys whose create revision is <= this (0: no bound).
    pub max_create_revision: i64,
}

/// The keys a range found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// The keys, sorted and limited as requested.
    pub kvs: Vec<KeyValue>,
    /// Whether more keys matched than were returned.
    pub more: bool,
    /// How many keys matched in all.
    pub count: i64,
}

/// Writes one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutRequest {
    /// The key; must not be empty.
    pub key: Bytes,
    /// The value.
    pub value: Bytes,
    /// Lease to attach, 0 for none.
    pub lease: i64,
    /// Return the previous key-value pair.
    pub prev_kv: bool,
    /// Keep the current value (the key must exist).
    pub ignore_value: bool,
    /// Keep the current lease (the key must exist).
    pub ignore_lease: bool,
}

/// Result of a put.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutResponse {
    /// Response metadata; its revision is the put's revision.
    pub header: ResponseHeader,
    /// The previous pair, if asked for and the key existed.
    pub prev_kv: Option<KeyValue>,
}

/// Deletes a key or a range (same `range_end` rules as [`RangeRequest`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteRangeRequest {
    /// First key (or the only key).
    pub key: Bytes,
    /// End of the range, exclusive.
    pub range_end: Bytes,
    /// Return the deleted pairs.
    pub prev_kv: bool,
}

/// Result of a delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteRangeResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// Number of keys deleted.
    pub deleted: i64,
    /// The deleted pairs, if asked for.
    pub prev_kvs: Vec<KeyValue>,
}

/// How a compare relates the key's field to the given value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CompareResult {
    /// Field == value.
    #[default]
    Equal,
    /// Field > value.
    Greater,
    /// Field < value.
    Less,
    /// Field != value.
    NotEqual,
}

/// The field a compare inspects, with the value to compare against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompareTarget {
    /// The key's version (0 if absent).
    Version(i64),
    /// The key's create revision (0 if absent).
    Create(i64),
    /// The key's mod revision (0 if absent).
    Mod(i64),
    /// The key's value (an absent key fails every value compare).
    Value(Bytes),
    /// The key's lease (0 if absent or none).
    Lease(i64),
}

impl Default for CompareTarget {
    fn default() -> Self {
        CompareTarget::Version(0)
    }
}

/// One condition of a txn; with a `range_end`, it must hold for every key in
/// the range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compare {
    /// The relation.
    pub result: CompareResult,
    /// The field and the value to compare with.
    pub target: CompareTarget,
    /// The key.
    pub key: Bytes,
    /// Optional end of a range of keys (same rules as [`RangeRequest`]).
    pub range_end: Bytes,
}

/// One operation inside a txn branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOp {
    /// A read.
    Range(RangeRequest),
    /// A write.
    Put(PutRequest),
    /// A delete.
    DeleteRange(DeleteRangeRequest),
    /// A nested txn.
    Txn(TxnRequest),
}

/// The answer to one [`RequestOp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseOp {
    /// Answer to a range.
    Range(RangeResponse),
    /// Answer to a put.
    Put(PutResponse),
    /// Answer to a delete.
    DeleteRange(DeleteRangeResponse),
    /// Answer to a nested txn.
    Txn(TxnResponse),
}

/// If every compare holds, run `success`, else `failure`; all at one revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnRequest {
    /// Conditions, all of which must hold.
    pub compare: Vec<Compare>,
    /// Operations run when every compare holds.
    pub success: Vec<RequestOp>,
    /// Operations run otherwise.
    pub failure: Vec<RequestOp>,
}

/// Result of a txn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// Whether the success branch ran.
    pub succeeded: bool,
    /// One answer per operation of the branch that ran.
    pub responses: Vec<ResponseOp>,
}

/// Drops history below a revision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionRequest {
    /// Revisions below this are dropped (the key's latest version survives).
    pub revision: i64,
    /// Answer only once the compaction is applied to the backend.
    pub physical: bool,
}

/// Result of a compaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionResponse {
    /// Response metadata.
    pub header: ResponseHeader,
}
