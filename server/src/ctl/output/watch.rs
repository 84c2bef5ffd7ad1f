//! `keelctl watch`'s output, as etcdctl 3.4 prints each watch response.

use super::json::{self, ObjectBuilder};
use super::kv::simple_kv;
use super::{OutputFormat, PrintOptions};
use keel_engine::api::{EventKind, WatchResponse};

/// The bytes etcdctl prints for one response: a progress notification
/// first as `progress notify: REV` (in every format); then in the simple
/// format each event as `PUT`/`DELETE`, the previous key and value if
/// asked for, then the key and value; in JSON the Go struct, one object per
/// line. Table is not a watch format in etcdctl either: it prints like
/// simple.
pub fn watch_response(options: PrintOptions, response: &WatchResponse) -> Vec<u8> {
    let mut out = Vec::new();
    if response.is_progress_notify() {
        out.extend_from_slice(
            format!("progress notify: {}\n", response.header.revision).as_bytes(),
        );
    }
    if options.format == OutputFormat::Json {
        let events = response
            .events
            .iter()
            .map(|e| {
                let kind = match e.kind {
                    EventKind::Put => 0,
                    EventKind::Delete => 1,
                };
                ObjectBuilder::new()
                    .signed("type", kind)
                    .value("kv", Some(json::key_value(&e.kv)))
                    .value("prev_kv", e.prev_kv.as_ref().map(json::key_value))
                    .build()
            })
            .collect();
        let object = ObjectBuilder::new()
            .value("Header", Some(json::header(&response.header)))
            // clientv3 makes the slice: `[]`, never `null` or left out.
            .always("Events", json::Json::Array(events))
            .signed_always("CompactRevision", response.compact_revision)
            .bool_always("Canceled", response.canceled)
            .bool_always("Created", response.created)
            .build();
        out.extend_from_slice(object.render().as_bytes());
        out.push(b'\n');
        return out;
    }
    for event in &response.events {
        out.extend_from_slice(match event.kind {
            EventKind::Put => b"PUT\n",
            EventKind::Delete => b"DELETE\n",
        });
        if let Some(prev) = &event.prev_kv {
            simple_kv(&mut out, options.hex, false, prev);
        }
        simple_kv(&mut out, options.hex, false, &event.kv);
    }
    out
}
