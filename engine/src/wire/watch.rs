//! Encodings of watch requests and responses.

use super::codec::{Decode, Encode, Reader, put_bool, put_bytes, put_count};
use super::error::WireError;
use crate::api::*;
use bytes::{BufMut, BytesMut};

impl Encode for WatchCreateRequest {
    fn encode(&self, buf: &mut BytesMut) {
        put_bytes(buf, &self.key);
        put_bytes(buf, &self.range_end);
        buf.put_i64(self.start_revision);
        put_bool(buf, self.prev_kv);
        put_bool(buf, self.no_put);
        put_bool(buf, self.no_delete);
        put_bool(buf, self.progress_notify);
    }
}

impl Decode for WatchCreateRequest {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(WatchCreateRequest {
            key: r.bytes("watch key")?,
            range_end: r.bytes("watch range end")?,
            start_revision: r.i64("start revision")?,
            prev_kv: r.bool("prev_kv")?,
            no_put: r.bool("no_put")?,
            no_delete: r.bool("no_delete")?,
            progress_notify: r.bool("progress_notify")?,
        })
    }
}

impl Encode for Event {
    fn encode(&self, buf: &mut BytesMut) {
        buf.put_u8(match self.kind {
            EventKind::Put => 0,
            EventKind::Delete => 1,
        });
        self.kv.encode(buf);
        match &self.prev_kv {
            Some(kv) => {
                put_bool(buf, true);
                kv.encode(buf);
            }
            None => put_bool(buf, false),
        }
    }
}

impl Decode for Event {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        let kind = match r.u8("event kind")? {
            0 => EventKind::Put,
            1 => EventKind::Delete,
            other => {
                return Err(WireError::malformed(
                    "event kind",
                    format!("unknown tag {other}"),
                ));
            }
        };
        let kv = KeyValue::decode(r)?;
        let prev_kv = if r.bool("has prev_kv")? {
            Some(KeyValue::decode(r)?)
        } else {
            None
        };
        Ok(Event { kind, kv, prev_kv })
    }
}

/// Bytes of the smallest encoded event (kind, empty kv, no prev_kv).
const EVENT_MIN_BYTES: usize = 1 + (4 + 8 * 3 + 4 + 8) + 1;

impl Encode for WatchResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.header.encode(buf);
        put_bool(buf, self.created);
        put_bool(buf, self.canceled);
        buf.put_i64(self.compact_revision);
        put_bytes(buf, self.cancel_reason.as_bytes());
        put_count(buf, self.events.len());
        for event in &self.events {
            event.encode(buf);
        }
    }
}

impl Decode for WatchResponse {
    fn decode(r: &mut Reader) -> Result<Self, WireError> {
        Ok(WatchResponse {
            header: ResponseHeader::decode(r)?,
            created: r.bool("created")?,
            canceled: r.bool("canceled")?,
            compact_revision: r.i64("compact revision")?,
            cancel_reason: r.string("cancel reason")?,
            events: r.list("events", EVENT_MIN_BYTES, Event::decode)?,
        })
    }
}
