//! etcdctl's `-w json`: Go's `encoding/json` of the etcd protobuf structs —
//! their field names and order, `omitempty` on every field, bytes as
//! standard base64, 64-bit ids as plain numbers, and Go's HTML-safe string
//! escaping.

use crate::go_json::write_string;
use base64::Engine as _;
use keel_engine::api::{
    AlarmMember, AlarmType, HashKvResponse, KeyValue, Member, ResponseHeader, StatusResponse,
};
use std::fmt::Write as _;

/// A JSON value in the order it will be written.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// An object; fields in order.
    Object(Vec<(&'static str, Json)>),
    /// An array.
    Array(Vec<Json>),
    /// A string.
    String(String),
    /// An unsigned number.
    Unsigned(u64),
    /// A signed number.
    Signed(i64),
    /// A boolean.
    Bool(bool),
    /// `null` (a nil slice or pointer without `omitempty`).
    Null,
}

impl Json {
    /// The compact text, as Go's `json.Marshal` writes it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Object(fields) => {
                out.push('{');
                for (index, (name, value)) in fields.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    write_string(out, name);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
            Json::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::String(text) => write_string(out, text),
            Json::Unsigned(number) => {
                let _ = write!(out, "{number}");
            }
            Json::Signed(number) => {
                let _ = write!(out, "{number}");
            }
            Json::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
            Json::Null => out.push_str("null"),
        }
    }
}

/// Builds an object, leaving out zero values as `omitempty` does.
#[derive(Debug, Default)]
pub struct ObjectBuilder(Vec<(&'static str, Json)>);

impl ObjectBuilder {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an unsigned number unless it is 0.
    pub fn unsigned(mut self, name: &'static str, value: u64) -> Self {
        if value != 0 {
            self.0.push((name, Json::Unsigned(value)));
        }
        self
    }

    /// Adds a signed number unless it is 0.
    pub fn signed(mut self, name: &'static str, value: i64) -> Self {
        if value != 0 {
            self.0.push((name, Json::Signed(value)));
        }
        self
    }

    /// Adds a signed number whatever its value (fields without `omitempty`).
    pub fn signed_always(mut self, name: &'static str, value: i64) -> Self {
        self.0.push((name, Json::Signed(value)));
        self
    }

    /// Adds `true`; `false` is left out.
    pub fn flag(mut self, name: &'static str, value: bool) -> Self {
        if value {
            self.0.push((name, Json::Bool(true)));
        }
        self
    }

    /// Adds a boolean whatever its value (fields without `omitempty`).
    pub fn bool_always(mut self, name: &'static str, value: bool) -> Self {
        self.0.push((name, Json::Bool(value)));
        self
    }

    /// Adds a string unless it is empty.
    pub fn string(mut self, name: &'static str, value: &str) -> Self {
        if !value.is_empty() {
            self.0.push((name, Json::String(value.to_string())));
        }
        self
    }

    /// Adds a string whatever its value (fields without `omitempty`).
    pub fn string_always(mut self, name: &'static str, value: &str) -> Self {
        self.0.push((name, Json::String(value.to_string())));
        self
    }

    /// Adds bytes as standard base64 unless they are empty.
    pub fn bytes(mut self, name: &'static str, value: &[u8]) -> Self {
        if !value.is_empty() {
            let encoded = base64::engine::general_purpose::STANDARD.encode(value);
            self.0.push((name, Json::String(encoded)));
        }
        self
    }

    /// Adds an array unless it is empty.
    pub fn array(mut self, name: &'static str, items: Vec<Json>) -> Self {
        if !items.is_empty() {
            self.0.push((name, Json::Array(items)));
        }
        self
    }

    /// Adds a value if there is one (a non-nil pointer in Go).
    pub fn value(mut self, name: &'static str, value: Option<Json>) -> Self {
        if let Some(value) = value {
            self.0.push((name, value));
        }
        self
    }

    /// Adds a value whatever it is (fields without `omitempty`).
    pub fn always(mut self, name: &'static str, value: Json) -> Self {
        self.0.push((name, value));
        self
    }

    /// Adds a `ResponseHeader`'s fields to this object itself, as Go does
    /// for an embedded `*pb.ResponseHeader` (clientv3's lease responses).
    pub fn header_fields(mut self, header: &ResponseHeader) -> Self {
        if let Json::Object(fields) = self::header(header) {
            self.0.extend(fields);
        }
        self
    }

    /// The finished object.
    pub fn build(self) -> Json {
        Json::Object(self.0)
    }
}

/// `ResponseHeader`: cluster_id, member_id, revision, raft_term.
pub fn header(header: &ResponseHeader) -> Json {
    ObjectBuilder::new()
        .unsigned("cluster_id", header.cluster_id)
        .unsigned("member_id", header.member_id)
        .signed("revision", header.revision)
        .unsigned("raft_term", header.raft_term)
        .build()
}

/// `mvccpb.KeyValue`: key, create_revision, mod_revision, version, value, lease.
pub fn key_value(kv: &KeyValue) -> Json {
    ObjectBuilder::new()
        .bytes("key", &kv.key)
        .signed("create_revision", kv.create_revision)
        .signed("mod_revision", kv.mod_revision)
        .signed("version", kv.version)
        .bytes("value", &kv.value)
        .signed("lease", kv.lease)
        .build()
}

/// `etcdserverpb.Member`: ID, name, peerURLs, clientURLs, isLearner.
pub fn member(member: &Member) -> Json {
    ObjectBuilder::new()
        .unsigned("ID", member.id)
        .string("name", &member.name)
        .array("peerURLs", strings(&member.peer_urls))
        .array("clientURLs", strings(&member.client_urls))
        .flag("isLearner", member.is_learner)
        .build()
}

/// `etcdserverpb.AlarmMember`: memberID, alarm (the enum's number).
pub fn alarm_member(alarm: &AlarmMember) -> Json {
    ObjectBuilder::new()
        .unsigned("memberID", alarm.member_id)
        .unsigned("alarm", alarm_number(alarm.alarm))
        .build()
}

/// The protobuf number of an alarm type (NONE 0, NOSPACE 1, CORRUPT 2).
pub fn alarm_number(alarm: AlarmType) -> u64 {
    match alarm {
        AlarmType::None => 0,
        AlarmType::NoSpace => 1,
        AlarmType::Corrupt => 2,
    }
}

/// Go's JSON of `etcdserverpb.HashKVResponse` (its `json` tags: snake
/// case, zero values left out).
pub fn hash_kv(response: &HashKvResponse) -> Json {
    ObjectBuilder::new()
        .value("header", Some(header(&response.header)))
        .unsigned("hash", u64::from(response.hash))
        .signed("compact_revision", response.compact_revision)
        .build()
}

/// `etcdserverpb.StatusResponse`, in its protobuf field order.
pub fn status(status: &StatusResponse) -> Json {
    ObjectBuilder::new()
        .value("header", Some(header(&status.header)))
        .string("version", &status.version)
        .signed("dbSize", status.db_size)
        .unsigned("leader", status.leader)
        .unsigned("raftIndex", status.raft_index)
        .unsigned("raftTerm", status.raft_term)
        .unsigned("raftAppliedIndex", status.raft_applied_index)
        .array("errors", strings(&status.errors))
        .signed("dbSizeInUse", status.db_size_in_use)
        .flag("isLearner", status.is_learner)
        .build()
}

fn strings(items: &[String]) -> Vec<Json> {
    items.iter().map(|s| Json::String(s.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_strings_like_go() {
        let value = Json::String("a<b>&\"\\\n\u{1}\u{2028}é".into());
        assert_eq!(
            value.render(),
            "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\\u2028é\""
        );
    }

    #[test]
    fn omits_zero_fields() {
        let json = key_value(&KeyValue {
            key: "k".into(),
            ..KeyValue::default()
        });
        assert_eq!(json.render(), "{\"key\":\"aw==\"}");
        assert_eq!(header(&ResponseHeader::default()).render(), "{}");
    }
}
