//! A watcher that speaks etcd's gRPC Watch API, as clientv3 does: one
//! Watch stream on one member with the `hasleader` metadata; when the
//! stream or its connection fails, or the member loses its leader for too
//! long, it moves to the next member and creates the watch again from the
//! revision after the last one it knows it has seen. It trusts each
//! response's header revision as "everything up to here was delivered", so
//! the watch checker holds Keel's etcd adapter to that promise.

use crate::history::{WatchRecord, WatchedEvent};
use crate::timeline::Timeline;
use crate::workload::PREFIX;
use bytes::Bytes;
use keel_server::etcd::proto::etcdserverpb as pb;
use keel_server::etcd::proto::mvccpb;
use keel_server::grpc::Status;
use keel_server::grpc::client::{CallStream, Channel};
use std::time::Duration;

const WATCH: &str = "/etcdserverpb.Watch/Watch";

/// Watches the workload's key space from `start_revision` (0: from now)
/// through members `endpoints` in turn until `stop`; returns what it saw.
pub async fn run_etcd_watcher(
    id: u32,
    endpoints: Vec<String>,
    timeline: Timeline,
    stop: u64,
    start_revision: i64,
) -> WatchRecord {
    let mut record = WatchRecord {
        watcher: id,
        prefix: PREFIX.into(),
        ..Default::default()
    };
    // The revision to (re)start from; 0 until the first created response.
    let mut next = start_revision.max(0);
    let mut created = false;
    let mut member = 0usize;
    while timeline.now() < stop {
        let endpoint = &endpoints[member % endpoints.len()];
        member += 1;
        let left = Duration::from_nanos(stop.saturating_sub(timeline.now()));
        let watched = tokio::time::timeout(
            left,
            watch_on(
                endpoint,
                &mut next,
                &mut created,
                &mut record,
                &timeline,
                id,
            ),
        )
        .await;
        match watched {
            Err(_) => break,
            Ok(Err(status)) => {
                timeline.event(format!("etcd watcher {id} on {endpoint}: {status}"));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(Ok(())) => {}
        }
    }
    if created && record.start_revision == 0 {
        record.start_revision = 1;
    }
    record.seen_through = if created { (next - 1).max(0) as u64 } else { 0 };
    timeline.event(format!(
        "etcd watcher {id}: {} events through revision {}",
        record.events.len(),
        record.seen_through
    ));
    record
}

/// One watch stream on `endpoint`, until it fails.
async fn watch_on(
    endpoint: &str,
    next: &mut i64,
    created: &mut bool,
    record: &mut WatchRecord,
    timeline: &Timeline,
    id: u32,
) -> Result<(), Status> {
    let tcp = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::net::TcpStream::connect(endpoint),
    )
    .await
    .map_err(|_| Status::new(keel_server::grpc::Code::Unavailable, "connect timed out"))?
    .map_err(|e| Status::new(keel_server::grpc::Code::Unavailable, e.to_string()))?;
    let channel = Channel::connect(tcp).await?;
    let mut stream: CallStream = channel.stream(WATCH, &[("hasleader", "true")]).await?;
    let mut range_end = PREFIX.as_bytes().to_vec();
    if let Some(last) = range_end.last_mut() {
        *last += 1;
    }
    stream.send(&pb::WatchRequest {
        request_union: Some(pb::RequestUnion::CreateRequest(pb::WatchCreateRequest {
            key: Bytes::from_static(PREFIX.as_bytes()),
            range_end: Bytes::from(range_end),
            start_revision: *next,
            ..Default::default()
        })),
    })?;
    loop {
        let Some(response) = stream.next::<pb::WatchResponse>().await? else {
            return Ok(());
        };
        let header_revision = response.header.as_ref().map_or(0, |h| h.revision);
        if response.created {
            if response.canceled {
                return Err(Status::internal(format!(
                    "watch refused: {}",
                    response.cancel_reason
                )));
            }
            if !*created {
                *created = true;
                if *next == 0 {
                    *next = header_revision + 1;
                }
                record.start_revision = (*next).max(1) as u64;
                timeline.event(format!(
                    "etcd watcher {id} created from revision {} on {endpoint}",
                    record.start_revision
                ));
            }
            continue;
        }
        if response.canceled {
            return Err(Status::internal(format!(
                "watch canceled (compact revision {}): {}",
                response.compact_revision, response.cancel_reason
            )));
        }
        for event in &response.events {
            let Some(kv) = event.kv.as_ref() else {
                continue;
            };
            record.events.push(WatchedEvent {
                revision: kv.mod_revision.max(0) as u64,
                key: String::from_utf8_lossy(&kv.key).into_owned(),
                value: if event.r#type == mvccpb::EventType::Delete as i32 {
                    None
                } else {
                    Some(String::from_utf8_lossy(&kv.value).into_owned())
                },
            });
            *next = (*next).max(kv.mod_revision + 1);
        }
        // Keel's promise: the header revision of a watch response is what
        // the watch has delivered everything up to.
        *next = (*next).max(header_revision + 1);
    }
}
