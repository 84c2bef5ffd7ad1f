//! etcd 3.4's gateway JSON for the protobuf messages: what grpc-gateway's
//! `JSONPb{OrigName: true}` writes and reads.
//!
//! Writing: the proto field names as declared (`range_end`, `TTL`,
//! `peerURLs`), fields in declaration order, zero values and empty lists
//! left out (a set oneof member is always written), 64-bit integers as
//! strings, 32-bit ones as numbers, bytes as standard base64, enums by
//! name, strings escaped as Go escapes them.
//!
//! Reading: a field may be named as declared or in lowerCamelCase; 64-bit
//! and 32-bit integers as numbers or strings; enums by name or number;
//! bytes as base64 (standard or URL-safe, padded or not); `null` leaves the
//! default; an unknown field is an error, as jsonpb's is.

use ::bytes::Bytes;
use base64::Engine as _;
use serde_json::Value;
use std::fmt::Write as _;

/// Why a JSON body could not be read as a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub String);

/// A protobuf message that also reads and writes etcd's gateway JSON.
pub trait ProtoJson: Default {
    /// The message's full protobuf name, e.g. `etcdserverpb.RangeRequest`.
    const NAME: &'static str;
    /// Writes the message's fields (without the braces).
    fn write_fields(&self, w: &mut ObjectWriter<'_>);
    /// Reads one field; `Ok(false)` when no field has that name.
    fn read_field(&mut self, key: &str, value: &Value) -> Result<bool, JsonError>;
}

/// A protobuf enum of etcd's API, with its value names.
pub trait ProtoEnum {
    /// The enum's name, for error messages.
    const NAME: &'static str;
    /// The name of `value`, if it is one of the enum's.
    fn value_name(value: i32) -> Option<&'static str>;
    /// The value called `name`, if any.
    fn value_of(name: &str) -> Option<i32>;
}

/// A oneof of etcd's API: one of several fields, written even when zero.
pub trait ProtoOneof: Sized {
    /// Writes the one field that is set.
    fn write_field(&self, w: &mut ObjectWriter<'_>);
    /// Reads `key` if it names one of the oneof's fields.
    fn read_field(key: &str, value: &Value) -> Result<Option<Self>, JsonError>;
}

/// Writes the fields of one JSON object, with the commas between them.
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    empty: bool,
}

impl ObjectWriter<'_> {
    /// Starts a field: writes `"name":`.
    pub fn key(&mut self, name: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        crate::go_json::write_string(self.out, name);
        self.out.push(':');
        self.out
    }
}

/// The message as gateway JSON.
pub fn to_json<M: ProtoJson>(message: &M) -> String {
    let mut out = String::new();
    write_message(&mut out, message);
    out
}

/// Appends the message as a JSON object.
pub fn write_message<M: ProtoJson>(out: &mut String, message: &M) {
    out.push('{');
    let mut writer = ObjectWriter { out, empty: true };
    message.write_fields(&mut writer);
    writer.out.push('}');
}

/// Reads a message from a JSON body.
pub fn from_json<M: ProtoJson>(body: &[u8]) -> Result<M, JsonError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| JsonError(e.to_string()))?;
    from_value(&value)
}

/// Reads a message from a parsed JSON value (an object, or `null`).
pub fn from_value<M: ProtoJson>(value: &Value) -> Result<M, JsonError> {
    let mut message = M::default();
    match value {
        Value::Null => {}
        Value::Object(fields) => {
            for (key, field) in fields {
                if !message.read_field(key, field)? {
                    return Err(JsonError(format!("unknown field {key:?} in {}", M::NAME)));
                }
            }
        }
        other => {
            return Err(JsonError(format!(
                "json: cannot unmarshal {} into Go value of type map[string]json.RawMessage",
                json_type(other)
            )));
        }
    }
    Ok(message)
}

/// Whether a JSON key names the field whose proto name is `name`: the name
/// itself, or its lowerCamelCase JSON name (`range_end` → `rangeEnd`).
pub fn name_matches(key: &str, name: &str) -> bool {
    if key == name {
        return true;
    }
    let mut expected = name.chars().peekable();
    let mut given = key.chars();
    while let Some(c) = expected.next() {
        let want = if c == '_' {
            match expected.next() {
                Some(next) => next.to_ascii_uppercase(),
                None => return false,
            }
        } else {
            c
        };
        if given.next() != Some(want) {
            return false;
        }
    }
    given.next().is_none()
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_error(value: &Value, go_type: &str) -> JsonError {
    JsonError(format!(
        "json: cannot unmarshal {} into Go value of type {go_type}",
        json_type(value)
    ))
}

/// Reads an integer given as a JSON number or a string holding one.
fn integer<T: std::str::FromStr + TryFrom<i64> + TryFrom<u64>>(
    value: &Value,
    go_type: &str,
) -> Result<T, JsonError> {
    let parsed = match value {
        Value::Null => "0".parse::<T>().ok(),
        Value::Number(n) => n
            .as_i64()
            .and_then(|v| T::try_from(v).ok())
            .or_else(|| n.as_u64().and_then(|v| T::try_from(v).ok())),
        Value::String(s) => s.parse::<T>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| type_error(value, go_type))
}

/// Field kinds: how each protobuf field type is written and read.
macro_rules! integer_kind {
    ($kind:ident, $ty:ty, $go:literal, quoted = $quoted:literal) => {
        #[doc = concat!("`", $go, "` fields.")]
        pub mod $kind {
            use super::*;
            /// Writes the field unless it is zero.
            pub fn write(w: &mut ObjectWriter<'_>, name: &str, value: &$ty) {
                if *value != 0 {
                    encode(w.key(name), value);
                }
            }
            /// Writes the value (a set oneof member).
            pub fn encode(out: &mut String, value: &$ty) {
                if $quoted {
                    let _ = write!(out, "\"{value}\"");
                } else {
                    let _ = write!(out, "{value}");
                }
            }
            /// Reads the value.
            pub fn read(value: &Value) -> Result<$ty, JsonError> {
                integer::<$ty>(value, $go)
            }
        }
    };
}

integer_kind!(int64, i64, "int64", quoted = true);
integer_kind!(uint64, u64, "uint64", quoted = true);
integer_kind!(int32, i32, "int32", quoted = false);
integer_kind!(uint32, u32, "uint32", quoted = false);

/// `bool` fields.
pub mod bool {
    use super::*;
    /// Writes the field unless it is false.
    pub fn write(w: &mut ObjectWriter<'_>, name: &str, value: &bool) {
        if *value {
            w.key(name).push_str("true");
        }
    }
    /// Reads the value.
    pub fn read(value: &Value) -> Result<bool, JsonError> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Null => Ok(false),
            other => Err(type_error(other, "bool")),
        }
    }
}

/// `string` fields.
pub mod string {
    use super::*;
    /// Writes the field unless it is empty.
    pub fn write(w: &mut ObjectWriter<'_>, name: &str, value: &str) {
        if !value.is_empty() {
            crate::go_json::write_string(w.key(name), value);
        }
    }
    /// Reads the value.
    pub fn read(value: &Value) -> Result<String, JsonError> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Null => Ok(String::new()),
            other => Err(type_error(other, "string")),
        }
    }
}

/// `bytes` fields.
pub mod bytes {
    use super::*;
    /// Writes the field unless it is empty.
    pub fn write(w: &mut ObjectWriter<'_>, name: &str, value: &Bytes) {
        if !value.is_empty() {
            encode(w.key(name), value);
        }
    }
    /// Writes the value as standard base64.
    pub fn encode(out: &mut String, value: &[u8]) {
        out.push('"');
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(value));
        out.push('"');
    }
    /// Reads base64 (standard or URL-safe, padded or not).
    pub fn read(value: &Value) -> Result<Bytes, JsonError> {
        let text = match value {
            Value::String(text) => text,
            Value::Null => return Ok(Bytes::new()),
            other => return Err(type_error(other, "[]uint8")),
        };
        decode_base64(text).map(Bytes::from)
    }
}

/// Decodes base64 in any of the alphabets and paddings Go's jsonpb accepts.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, JsonError> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| JsonError(format!("illegal base64 data in {text:?}")))
}

/// Enum fields (an `i32` on the wire).
pub mod enumeration {
    use super::*;
    /// Writes the field unless it is zero: the value's name, or its number
    /// if it has none.
    pub fn write<E: ProtoEnum>(w: &mut ObjectWriter<'_>, name: &str, value: &i32) {
        if *value != 0 {
            encode::<E>(w.key(name), *value);
        }
    }
    /// Writes the value's name (or number).
    pub fn encode<E: ProtoEnum>(out: &mut String, value: i32) {
        match E::value_name(value) {
            Some(text) => crate::go_json::write_string(out, text),
            None => {
                let _ = write!(out, "{value}");
            }
        }
    }
    /// Reads a name or a number.
    pub fn read<E: ProtoEnum>(value: &Value) -> Result<i32, JsonError> {
        match value {
            Value::String(text) => E::value_of(text)
                .ok_or_else(|| JsonError(format!("unknown value {text:?} for enum {}", E::NAME))),
            Value::Number(_) | Value::Null => integer::<i32>(value, E::NAME),
            other => Err(type_error(other, E::NAME)),
        }
    }
}

/// Message fields.
pub mod message {
    use super::*;
    /// Writes the field if it is set (an empty message as `{}`).
    pub fn write<M: ProtoJson>(w: &mut ObjectWriter<'_>, name: &str, value: &Option<M>) {
        if let Some(message) = value {
            write_message(w.key(name), message);
        }
    }
    /// Reads an object.
    pub fn read<M: ProtoJson>(value: &Value) -> Result<Option<M>, JsonError> {
        if value.is_null() {
            return Ok(None);
        }
        from_value(value).map(Some)
    }
}

/// Oneof fields.
pub mod oneof {
    use super::*;
    /// Writes the member that is set, if any.
    pub fn write<O: ProtoOneof>(w: &mut ObjectWriter<'_>, _name: &str, value: &Option<O>) {
        if let Some(member) = value {
            member.write_field(w);
        }
    }
}

/// Writes a JSON array of `items`, each by `each`, unless it is empty.
fn write_array<T>(
    w: &mut ObjectWriter<'_>,
    name: &str,
    items: &[T],
    mut each: impl FnMut(&mut String, &T),
) {
    if items.is_empty() {
        return;
    }
    let out = w.key(name);
    out.push('[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        each(out, item);
    }
    out.push(']');
}

/// Reads a JSON array, each item by `each`.
fn read_array<T>(
    value: &Value,
    mut each: impl FnMut(&Value) -> Result<T, JsonError>,
) -> Result<Vec<T>, JsonError> {
    match value {
        Value::Array(items) => items.iter().map(&mut each).collect(),
        Value::Null => Ok(Vec::new()),
        other => Err(type_error(other, "[]")),
    }
}

/// `repeated` message fields.
pub mod repeated_message {
    use super::*;
    /// Writes the list unless it is empty.
    pub fn write<M: ProtoJson>(w: &mut ObjectWriter<'_>, name: &str, value: &[M]) {
        write_array(w, name, value, |out, m| write_message(out, m));
    }
    /// Reads a list of objects.
    pub fn read<M: ProtoJson>(value: &Value) -> Result<Vec<M>, JsonError> {
        read_array(value, from_value)
    }
}

/// `repeated string` fields.
pub mod repeated_string {
    use super::*;
    /// Writes the list unless it is empty.
    pub fn write(w: &mut ObjectWriter<'_>, name: &str, value: &[String]) {
        write_array(w, name, value, |out, s| {
            crate::go_json::write_string(out, s)
        });
    }
    /// Reads a list of strings.
    pub fn read(value: &Value) -> Result<Vec<String>, JsonError> {
        read_array(value, string::read)
    }
}

/// `repeated bytes` fields.
pub mod repeated_bytes {
    use super::*;
    /// Writes the list unless it is empty.
    pub fn write(w: &mut ObjectWriter<'_>, name: &str, value: &[Bytes]) {
        write_array(w, name, value, |out, b| bytes::encode(out, b));
    }
    /// Reads a list of base64 strings.
    pub fn read(value: &Value) -> Result<Vec<Bytes>, JsonError> {
        read_array(value, bytes::read)
    }
}

/// `repeated` enum fields.
pub mod repeated_enumeration {
    use super::*;
    /// Writes the list unless it is empty.
    pub fn write<E: ProtoEnum>(w: &mut ObjectWriter<'_>, name: &str, value: &[i32]) {
        write_array(w, name, value, |out, v| enumeration::encode::<E>(out, *v));
    }
    /// Reads a list of names or numbers.
    pub fn read<E: ProtoEnum>(value: &Value) -> Result<Vec<i32>, JsonError> {
        read_array(value, enumeration::read::<E>)
    }
}
