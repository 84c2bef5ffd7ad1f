//! etcd 3.4's gateway JSON for the protobuf messages: what grpc-gateway's
//! `JSONPb{OrigName: true}` writes, and what it reads (golang/protobuf
//! 1.3's jsonpb with unknown fields allowed, over Go's `encoding/json`).
//!
//! Writing: the proto field names as declared (`range_end`, `TTL`,
//! `peerURLs`), fields in declaration order, zero values and empty lists
//! left out (a set oneof member is always written), 64-bit integers as
//! strings, 32-bit ones as numbers, bytes as standard base64, enums by
//! name, strings escaped as Go escapes them.
//!
//! Reading: only the body's first JSON value counts (no value at all, or
//! `null`, is the empty message); it must be an object; a field is named
//! as declared or in lowerCamelCase (camelCase wins when both are there, a
//! repeated key's last value wins), unknown fields are ignored; fields are
//! read in declaration order, then the oneofs, and the first bad one is
//! the error, in Go's words (`go_decode`): integers as numbers or as
//! strings whose content is parsed as a JSON number, enums by exact name
//! or any bare number, bytes as padded standard base64, `null` leaves a
//! field unset.

use super::go_decode::{self, GoError, Kind};
use ::bytes::Bytes;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Why a JSON body could not be read as a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub String);

impl From<GoError> for JsonError {
    fn from(error: GoError) -> Self {
        JsonError(error)
    }
}

/// Messages nest at most this deep in a request (prost's limit for the
/// same messages over gRPC).
pub const MAX_MESSAGE_DEPTH: usize = 100;

/// A protobuf message that also reads and writes etcd's gateway JSON.
pub trait ProtoJson: Default {
    /// The message's full protobuf name, e.g. `etcdserverpb.RangeRequest`.
    const NAME: &'static str;
    /// Writes the message's fields (without the braces).
    fn write_fields(&self, w: &mut ObjectWriter<'_>);
    /// Reads the message's fields from an object's members, as jsonpb
    /// does; `depth` is how deep this message is nested.
    fn read_fields(&mut self, fields: &mut Fields<'_>, depth: usize) -> Result<(), JsonError>;
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
    /// Reads the oneof's members present in `fields`, in declaration
    /// order (the last one present decides): `None` when none is there;
    /// `Some(None)` when the deciding one leaves the oneof unset (a
    /// message or bytes member given as `null`, which etcd's Go code does
    /// not send on).
    fn read_members(
        fields: &mut Fields<'_>,
        depth: usize,
    ) -> Result<Option<Option<Self>>, JsonError>;
}

/// An object's members by key, as Go's `map[string]json.RawMessage`
/// holds them: keys unquoted, the last of a repeated key kept.
pub struct Fields<'a> {
    members: BTreeMap<String, &'a [u8]>,
}

impl<'a> Fields<'a> {
    /// The members of the valid JSON object `raw`.
    pub fn of(raw: &'a [u8]) -> Fields<'a> {
        Fields {
            members: go_decode::object_members(raw).into_iter().collect(),
        }
    }

    /// Takes the field whose proto name is `name`: its value under the
    /// lowerCamelCase name if present (jsonpb favours it), else under the
    /// proto name; both are consumed.
    pub fn take(&mut self, name: &str) -> Option<&'a [u8]> {
        let camel = json_name(name);
        let orig = self.members.remove(name);
        let camel = self.members.remove(&camel);
        camel.or(orig)
    }

    /// Takes the member called exactly `name`.
    pub fn take_exact(&mut self, name: &str) -> Option<&'a [u8]> {
        self.members.remove(name)
    }
}

/// protoc's JSON name of a field: underscores dropped, the letter after
/// each upper-cased (`range_end` → `rangeEnd`, `remaining_TTL` →
/// `remainingTTL`).
pub fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The error jsonpb gives when an object names a oneof itself (Go decodes
/// into the oneof's interface field and fails): `target_union` of
/// `etcdserverpb.Compare` is `etcdserverpb.isCompare_TargetUnion`.
pub fn oneof_itself(message: &str, oneof: &str, raw: &[u8]) -> Result<(), JsonError> {
    let kind = Kind::of(raw);
    if kind == Kind::Null {
        return Ok(());
    }
    let (package, name) = message.rsplit_once('.').unwrap_or(("", message));
    let mut camel = String::new();
    for part in oneof.split('_') {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            camel.push(first.to_ascii_uppercase());
            camel.extend(chars);
        }
    }
    Err(JsonError(go_decode::type_error(
        kind.word(),
        &format!("{package}.is{name}_{camel}"),
    )))
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

/// Reads a request body as etcd's gateway does for a unary call: its
/// first JSON value, the rest ignored; no value at all is the empty
/// message.
pub fn from_json<M: ProtoJson>(body: &[u8]) -> Result<M, JsonError> {
    match go_decode::first_value(body)? {
        None => Ok(M::default()),
        Some((raw, _)) => from_raw(raw, 0),
    }
}

/// Whether the body's first JSON value needs bytes beyond its end (none
/// at all, or an unfinished one): Go's reader would have asked its body
/// for more.
pub fn cut_short(body: &[u8]) -> bool {
    match go_decode::first_value(body) {
        Ok(None) => true,
        Ok(Some(_)) => false,
        Err(error) => error == "unexpected EOF",
    }
}

/// The request messages of a streaming call's body, one JSON value after
/// another, as Go's `json.Decoder` reads them: reading stops at the end of
/// the body or at the first value that fails (which is returned).
pub struct JsonStream<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> JsonStream<'a> {
    /// A stream over `body`.
    pub fn new(body: &'a [u8]) -> JsonStream<'a> {
        JsonStream {
            rest: body,
            failed: false,
        }
    }

    /// The next message, `None` at the end of the body or after an error.
    pub fn next_message<M: ProtoJson>(&mut self) -> Option<Result<M, JsonError>> {
        if self.failed {
            return None;
        }
        let decoded = match go_decode::first_value(self.rest) {
            Ok(None) => return None,
            Ok(Some((raw, end))) => {
                self.rest = &self.rest[end..];
                from_raw(raw, 0)
            }
            Err(error) => Err(JsonError(error)),
        };
        self.failed = decoded.is_err();
        Some(decoded)
    }
}

/// Reads a message from one valid JSON value (an object, or `null`).
pub fn from_raw<M: ProtoJson>(raw: &[u8], depth: usize) -> Result<M, JsonError> {
    if depth >= MAX_MESSAGE_DEPTH {
        return Err(JsonError("recursion limit reached".into()));
    }
    let mut message = M::default();
    match Kind::of(raw) {
        Kind::Null => {}
        Kind::Object => message.read_fields(&mut Fields::of(raw), depth + 1)?,
        other => {
            return Err(JsonError(go_decode::type_error(
                other.word(),
                "map[string]json.RawMessage",
            )));
        }
    }
    Ok(message)
}

/// `json.Unmarshal` of a quoted or bare integer: jsonpb strips the quotes
/// (without unescaping) and parses what is left as a JSON number.
fn integer(
    raw: &[u8],
    go_type: &str,
    signed: bool,
    min: i128,
    max: i128,
) -> Result<i128, JsonError> {
    let inner = if raw.first() == Some(&b'"') {
        raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default()
    } else {
        raw
    };
    Ok(go_decode::unmarshal_integer(
        inner, go_type, signed, min, max,
    )?)
}

/// Field kinds: how each protobuf field type is written and read.
macro_rules! integer_kind {
    ($kind:ident, $ty:ty, $go:literal, signed = $signed:literal, quoted = $quoted:literal) => {
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
            /// Reads the value: a number, or a string holding one.
            pub fn read(raw: &[u8], _depth: usize) -> Result<$ty, JsonError> {
                let value = integer(raw, $go, $signed, <$ty>::MIN.into(), <$ty>::MAX.into())?;
                <$ty>::try_from(value).map_err(|_| JsonError(format!("{value} out of range")))
            }
        }
    };
}

integer_kind!(int64, i64, "int64", signed = true, quoted = true);
integer_kind!(uint64, u64, "uint64", signed = false, quoted = true);
integer_kind!(int32, i32, "int32", signed = true, quoted = false);
integer_kind!(uint32, u32, "uint32", signed = false, quoted = false);

/// `bool` fields.
pub mod bool {
    use super::*;
    /// Writes the field unless it is false.
    pub fn write(w: &mut ObjectWriter<'_>, name: &str, value: &bool) {
        if *value {
            w.key(name).push_str("true");
        }
    }
    /// Reads `true` or `false` (`null`: false).
    pub fn read(raw: &[u8], _depth: usize) -> Result<bool, JsonError> {
        match Kind::of(raw) {
            Kind::Bool => Ok(raw == b"true"),
            Kind::Null => Ok(false),
            other => Err(JsonError(go_decode::type_error(other.word(), "bool"))),
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
    /// Reads a string (`null`: empty).
    pub fn read(raw: &[u8], _depth: usize) -> Result<String, JsonError> {
        match Kind::of(raw) {
            Kind::String => Ok(go_decode::unquote(raw)),
            Kind::Null => Ok(String::new()),
            other => Err(JsonError(go_decode::type_error(other.word(), "string"))),
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
    /// Reads Go's `[]byte`: a string of padded standard base64, or an
    /// array of byte values (`null`: empty).
    pub fn read(raw: &[u8], _depth: usize) -> Result<Bytes, JsonError> {
        match Kind::of(raw) {
            Kind::Null => Ok(Bytes::new()),
            Kind::String => {
                let text = go_decode::unquote(raw);
                Ok(Bytes::from(go_decode::decode_base64(text.as_bytes())?))
            }
            Kind::Array => go_decode::array_items(raw)
                .into_iter()
                .map(|item| {
                    let byte = go_decode::unmarshal_integer(item, "uint8", false, 0, 255)?;
                    u8::try_from(byte).map_err(|_| JsonError(format!("{byte} is not a byte")))
                })
                .collect::<Result<Vec<u8>, JsonError>>()
                .map(Bytes::from),
            other => Err(JsonError(go_decode::type_error(other.word(), "[]uint8"))),
        }
    }
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
    /// Reads a value's exact name (quoted, not unescaped) or any bare
    /// number.
    pub fn read<E: ProtoEnum>(raw: &[u8], _depth: usize) -> Result<i32, JsonError> {
        if let Some(name) = quoted_name(raw) {
            return std::str::from_utf8(name)
                .ok()
                .and_then(E::value_of)
                .ok_or_else(|| unknown::<E>(name));
        }
        let value = integer(raw, E::NAME, true, i32::MIN.into(), i32::MAX.into())?;
        i32::try_from(value).map_err(|_| JsonError(format!("{value} out of range")))
    }
    /// The text between the quotes of a quoted value.
    pub(super) fn quoted_name(raw: &[u8]) -> Option<&[u8]> {
        (raw.first() == Some(&b'"')).then(|| raw.get(1..raw.len() - 1).unwrap_or_default())
    }
    /// jsonpb's error for a name the enum does not have.
    pub(super) fn unknown<E: ProtoEnum>(name: &[u8]) -> JsonError {
        JsonError(format!(
            "unknown value {} for enum {}",
            go_decode::quote_bytes(name),
            E::NAME
        ))
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
    /// Reads an object (`null`: unset).
    pub fn read<M: ProtoJson>(raw: &[u8], depth: usize) -> Result<Option<M>, JsonError> {
        if Kind::of(raw) == Kind::Null {
            return Ok(None);
        }
        from_raw(raw, depth).map(Some)
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

/// Reads a JSON array (`null`: empty), each item by `each`, as jsonpb
/// reads a repeated field: first as Go's `[]json.RawMessage`.
fn read_array<T>(
    raw: &[u8],
    mut each: impl FnMut(&[u8]) -> Result<T, JsonError>,
) -> Result<Vec<T>, JsonError> {
    match Kind::of(raw) {
        Kind::Array => go_decode::array_items(raw)
            .into_iter()
            .map(&mut each)
            .collect(),
        Kind::Null => Ok(Vec::new()),
        other => Err(JsonError(go_decode::type_error(
            other.word(),
            "[]json.RawMessage",
        ))),
    }
}

/// `repeated` message fields.
pub mod repeated_message {
    use super::*;
    /// Writes the list unless it is empty.
    pub fn write<M: ProtoJson>(w: &mut ObjectWriter<'_>, name: &str, value: &[M]) {
        write_array(w, name, value, |out, m| write_message(out, m));
    }
    /// Reads a list of objects; a `null` item is an empty message (etcd's
    /// Go code would fail on it when it encodes the request).
    pub fn read<M: ProtoJson>(raw: &[u8], depth: usize) -> Result<Vec<M>, JsonError> {
        read_array(raw, |item| from_raw(item, depth))
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
    pub fn read(raw: &[u8], depth: usize) -> Result<Vec<String>, JsonError> {
        read_array(raw, |item| string::read(item, depth))
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
    pub fn read(raw: &[u8], depth: usize) -> Result<Vec<Bytes>, JsonError> {
        read_array(raw, |item| bytes::read(item, depth))
    }
}

/// `repeated` enum fields.
pub mod repeated_enumeration {
    use super::*;
    /// Writes the list unless it is empty.
    pub fn write<E: ProtoEnum>(w: &mut ObjectWriter<'_>, name: &str, value: &[i32]) {
        write_array(w, name, value, |out, v| enumeration::encode::<E>(out, *v));
    }
    /// Reads a list of names or numbers. A quoted value in place of the
    /// list is looked up as a name first, as jsonpb does (and a known
    /// name is then refused for the list it is not).
    pub fn read<E: ProtoEnum>(raw: &[u8], depth: usize) -> Result<Vec<i32>, JsonError> {
        if let Some(name) = enumeration::quoted_name(raw) {
            let known = std::str::from_utf8(name).ok().and_then(E::value_of);
            return Err(match known {
                Some(_) => JsonError(format!("invalid target \"slice\" for enum {}", E::NAME)),
                None => enumeration::unknown::<E>(name),
            });
        }
        read_array(raw, |item| enumeration::read::<E>(item, depth))
    }
}
