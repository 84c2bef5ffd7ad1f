//! Workload clients: each on its own simulated host, using the real client
//! library over simulated TCP, issuing one operation at a time over a
//! small key space with values unique in the whole run, and recording
//! every operation in the shared history.

use crate::history::{History, OpKind, Outcome, Seen};
use crate::timeline::Timeline;
use bytes::Bytes;
use keel_engine::api::*;
use keel_engine::api::{EventKind, WatchCreateRequest};
use keel_server::client::{Client, ClientError, ClientOptions};
use madsim::rand::{Rng, thread_rng};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Number of keys the workload touches (`k0`..).
pub const KEYS: usize = 4;
/// The key space's prefix; a range over it reads every workload key.
pub const PREFIX: &str = "k";

/// Shared recording of what clients did.
pub type SharedHistory = Arc<Mutex<History>>;

fn bytes(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn text(b: &Bytes) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn seen(kv: &KeyValue) -> Seen {
    Seen {
        value: text(&kv.value),
        mod_revision: kv.mod_revision.max(0) as u64,
    }
}

/// The request for `kind`.
pub fn request(kind: &OpKind) -> Request {
    match kind {
        OpKind::Put { key, value } => Request::Put(PutRequest {
            key: bytes(key),
            value: bytes(value),
            ..PutRequest::default()
        }),
        OpKind::Get { key, serializable } => Request::Range(RangeRequest {
            key: bytes(key),
            serializable: *serializable,
            ..RangeRequest::default()
        }),
        OpKind::Delete { key } => Request::DeleteRange(DeleteRangeRequest {
            key: bytes(key),
            ..DeleteRangeRequest::default()
        }),
        OpKind::Cas {
            key,
            expected,
            value,
        } => Request::Txn(TxnRequest {
            compare: vec![Compare {
                result: CompareResult::Equal,
                target: match expected {
                    Some(v) => CompareTarget::Value(bytes(v)),
                    None => CompareTarget::Version(0),
                },
                key: bytes(key),
                range_end: Bytes::new(),
            }],
            success: vec![RequestOp::Put(PutRequest {
                key: bytes(key),
                value: bytes(value),
                ..PutRequest::default()
            })],
            failure: Vec::new(),
        }),
        OpKind::Range { serializable } => Request::Range(RangeRequest {
            key: bytes(PREFIX),
            range_end: Bytes::from(prefix_end(PREFIX)),
            serializable: *serializable,
            ..RangeRequest::default()
        }),
    }
}

fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

/// What the answer (or error) to `kind` means for the checker.
pub fn outcome(kind: &OpKind, answer: Result<Response, ClientError>) -> Outcome {
    let revision = |h: &ResponseHeader| h.revision.max(0) as u64;
    match (kind, answer) {
        (OpKind::Put { .. }, Ok(Response::Put(r))) => Outcome::Put {
            revision: revision(&r.header),
        },
        (OpKind::Get { .. }, Ok(Response::Range(r))) => Outcome::Get {
            revision: revision(&r.header),
            value: r.kvs.first().map(seen),
        },
        (OpKind::Delete { .. }, Ok(Response::DeleteRange(r))) => Outcome::Delete {
            revision: revision(&r.header),
            deleted: r.deleted > 0,
        },
        (OpKind::Cas { .. }, Ok(Response::Txn(r))) => Outcome::Cas {
            revision: revision(&r.header),
            succeeded: r.succeeded,
        },
        (OpKind::Range { .. }, Ok(Response::Range(r))) => Outcome::Range {
            revision: revision(&r.header),
            kvs: r.kvs.iter().map(|kv| (text(&kv.key), seen(kv))).collect(),
        },
        (_, Ok(other)) => Outcome::Failed(format!("unexpected answer {other:?}")),
        // A failed read changed nothing; a failed write may have applied.
        (kind, Err(err)) if kind.is_write() => Outcome::Indeterminate(err.to_string()),
        (_, Err(err)) => Outcome::Failed(err.to_string()),
    }
}

/// Sends `kind` through `client` and records it; returns the outcome.
pub async fn perform(
    client: &Client,
    id: u32,
    kind: OpKind,
    history: &SharedHistory,
    timeline: &Timeline,
) -> Outcome {
    let invoke = timeline.now();
    let answer = client.request(request(&kind)).await;
    let complete = timeline.now();
    let result = outcome(&kind, answer);
    history
        .lock()
        .push(id, kind, invoke, complete, result.clone());
    result
}

/// One client's loop until `stop` (simulated nanoseconds since the start).
pub async fn run_client(
    id: u32,
    endpoints: Vec<String>,
    history: SharedHistory,
    timeline: Timeline,
    stop: u64,
) {
    let mut options = ClientOptions::new(endpoints);
    options.command_timeout = Duration::from_secs(3);
    options.dial_timeout = Duration::from_millis(500);
    let client = match Client::new(options) {
        Ok(client) => client,
        Err(err) => {
            timeline.event(format!("client {id} could not start: {err}"));
            return;
        }
    };
    // The last value this client saw per key: what its CASes expect.
    let mut last: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut n = 0u64;
    while timeline.now() < stop {
        let (choice, key, serializable, think) = {
            let mut rng = thread_rng();
            (
                rng.gen_range(0..100u32),
                format!("{PREFIX}{}", rng.gen_range(0..KEYS)),
                rng.gen_bool(0.3),
                rng.gen_range(0..40u64),
            )
        };
        n += 1;
        let value = format!("c{id}-{n}");
        let kind = match choice {
            0..=29 => OpKind::Put {
                key: key.clone(),
                value,
            },
            30..=54 => OpKind::Get {
                key: key.clone(),
                serializable,
            },
            55..=64 => OpKind::Delete { key: key.clone() },
            65..=89 => OpKind::Cas {
                key: key.clone(),
                expected: last.get(&key).cloned().flatten(),
                value,
            },
            _ => OpKind::Range { serializable },
        };
        let written = kind.written_value().map(str::to_owned);
        match perform(&client, id, kind.clone(), &history, &timeline).await {
            Outcome::Get { value, .. } => {
                last.insert(key, value.map(|s| s.value));
            }
            Outcome::Put { .. }
            | Outcome::Cas {
                succeeded: true, ..
            } => {
                last.insert(key, written);
            }
            Outcome::Delete { .. } => {
                last.insert(key, None);
            }
            Outcome::Range { kvs, .. } => {
                for i in 0..KEYS {
                    let k = format!("{PREFIX}{i}");
                    let v = kvs
                        .iter()
                        .find(|(key, _)| *key == k)
                        .map(|(_, s)| s.value.clone());
                    last.insert(k, v);
                }
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(think)).await;
    }
}

/// A watcher of the whole key space from `start_revision` (0: from now)
/// until `stop`, through the client library (which resumes on another
/// member when its member goes away). Returns everything it saw.
pub async fn run_watcher(
    id: u32,
    endpoints: Vec<String>,
    timeline: Timeline,
    stop: u64,
    start_revision: i64,
) -> crate::history::WatchRecord {
    let mut record = crate::history::WatchRecord {
        watcher: id,
        prefix: PREFIX.into(),
        ..Default::default()
    };
    let mut options = ClientOptions::new(endpoints);
    options.command_timeout = Duration::from_secs(3);
    options.dial_timeout = Duration::from_millis(500);
    let Ok(client) = Client::new(options) else {
        return record;
    };
    let mut watcher = client.watch(WatchCreateRequest {
        key: bytes(PREFIX),
        range_end: Bytes::from(prefix_end(PREFIX)),
        start_revision,
        ..WatchCreateRequest::default()
    });
    let mut created = false;
    loop {
        let now = timeline.now();
        if now >= stop {
            break;
        }
        let left = Duration::from_nanos(stop - now);
        let response = match tokio::time::timeout(left, watcher.next()).await {
            Err(_) => break,
            Ok(None) => {
                // e.g. canceled by compaction after resuming on another member
                timeline.event(format!("watcher {id}: the watch ended"));
                break;
            }
            Ok(Some(Err(_))) => continue, // no endpoint for now: try again
            Ok(Some(Ok(response))) => response,
        };
        if response.created && !created {
            created = true;
            record.start_revision = watcher.next_revision().max(1) as u64;
            timeline.event(format!(
                "watcher {id} created from revision {}",
                record.start_revision
            ));
        }
        for event in &response.events {
            record.events.push(crate::history::WatchedEvent {
                revision: event.kv.mod_revision.max(0) as u64,
                key: text(&event.kv.key),
                value: match event.kind {
                    EventKind::Put => Some(text(&event.kv.value)),
                    EventKind::Delete => None,
                },
            });
        }
    }
    record.seen_through = if created {
        (watcher.next_revision() - 1).max(0) as u64
    } else {
        0
    };
    timeline.event(format!(
        "watcher {id}: {} events through revision {}",
        record.events.len(),
        record.seen_through
    ));
    record
}
