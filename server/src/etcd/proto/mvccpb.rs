//! etcd's `mvccpb` package: key-value pairs and watch events.

message! {
    /// A key with its value and revisions.
    pub struct KeyValue = "mvccpb.KeyValue" {
        1 => key: bytes,
        2 => create_revision: int64,
        3 => mod_revision: int64,
        4 => version: int64,
        5 => value: bytes,
        6 => lease: int64,
    }
}

proto_enum! {
    /// What happened to a key.
    pub enum EventType = "mvccpb.Event_EventType" {
        Put = 0 => "PUT",
        Delete = 1 => "DELETE",
    }
}

message! {
    /// One change of one key.
    pub struct Event = "mvccpb.Event" {
        1 => r#type: enumeration<EventType> as "type",
        2 => kv: message<KeyValue>,
        3 => prev_kv: message<KeyValue>,
    }
}
