//! The Watch service: one bidirectional stream carrying many watches.

use super::ResponseHeader;
use crate::etcd::proto::mvccpb::Event;

oneof! {
    /// What a [`WatchRequest`] asks.
    pub enum RequestUnion {
        1 => CreateRequest(message<WatchCreateRequest>) as "create_request",
        2 => CancelRequest(message<WatchCancelRequest>) as "cancel_request",
        3 => ProgressRequest(message<WatchProgressRequest>) as "progress_request",
    }
}

message! {
    /// One message of a watch stream from the client.
    pub struct WatchRequest = "etcdserverpb.WatchRequest" {
        "1, 2, 3" => request_union: oneof<RequestUnion>("RequestUnion"),
    }
}

proto_enum! {
    /// Events a watch leaves out.
    pub enum FilterType = "etcdserverpb.WatchCreateRequest_FilterType" {
        Noput = 0 => "NOPUT",
        Nodelete = 1 => "NODELETE",
    }
}

message! {
    /// Opens a watch.
    pub struct WatchCreateRequest = "etcdserverpb.WatchCreateRequest" {
        1 => key: bytes,
        2 => range_end: bytes,
        3 => start_revision: int64,
        4 => progress_notify: bool,
        5 => filters: repeated_enumeration<FilterType>,
        6 => prev_kv: bool,
        7 => watch_id: int64,
        8 => fragment: bool,
    }
}

message! {
    /// Closes a watch.
    pub struct WatchCancelRequest = "etcdserverpb.WatchCancelRequest" {
        1 => watch_id: int64,
    }
}

message! {
    /// Asks for a progress notification on every watch of the stream.
    pub struct WatchProgressRequest = "etcdserverpb.WatchProgressRequest" {}
}

message! {
    /// One message of a watch stream from the server.
    pub struct WatchResponse = "etcdserverpb.WatchResponse" {
        1 => header: message<ResponseHeader>,
        2 => watch_id: int64,
        3 => created: bool,
        4 => canceled: bool,
        5 => compact_revision: int64,
        6 => cancel_reason: string,
        7 => fragment: bool,
        11 => events: repeated_message<Event>,
    }
}
