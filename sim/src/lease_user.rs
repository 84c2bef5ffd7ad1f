//! Lease users: each on its own simulated host, through the real client
//! library, over and over: grant a lease, put a key with it, keep it alive
//! for a while (reading the key now and then), then either revoke it or
//! abandon it and watch it expire. Everything is recorded for the lease
//! checker (`check::leases`).

use crate::history::{LeaseAnswer, LeaseEvent, LeaseEventKind, LeaseRecord, Nanos};
use crate::timeline::Timeline;
use bytes::Bytes;
use keel_engine::api::*;
use keel_server::client::{Client, ClientError, ClientOptions};
use madsim::rand::{Rng, thread_rng};
use std::time::Duration;

/// The prefix of every key a lease user writes (outside the KV workload's).
pub const LEASE_KEY_PREFIX: &str = "l";

/// The longest TTL a lease user asks for, in seconds.
pub const MAX_TTL_SECONDS: i64 = 6;

fn answer(result: &Result<Response, ClientError>) -> LeaseAnswer {
    match result {
        Ok(response) => LeaseAnswer::Acked(response.header().revision.max(0) as u64),
        Err(ClientError::Api(ApiError::LeaseNotFound)) => LeaseAnswer::NotFound,
        Err(_) => LeaseAnswer::Failed,
    }
}

struct User {
    id: u32,
    client: Client,
    timeline: Timeline,
    records: Vec<LeaseRecord>,
}

impl User {
    async fn timed(&self, request: Request) -> (Nanos, Nanos, Result<Response, ClientError>) {
        let invoke = self.timeline.now();
        let result = self.client.request(request).await;
        (invoke, self.timeline.now(), result)
    }

    /// Records one keep-alive, read or revoke of `record`.
    async fn step(&self, record: &mut LeaseRecord, request: Request) -> LeaseAnswer {
        let (invoke, complete, result) = self.timed(request.clone()).await;
        let kind = match (&request, &result) {
            (Request::Range(_), Ok(Response::Range(r))) => LeaseEventKind::Read {
                revision: r.header.revision.max(0) as u64,
                present_with_lease: r.kvs.first().map(|kv| kv.lease),
            },
            (Request::Range(_), _) => return LeaseAnswer::Failed,
            (Request::LeaseRevoke(_), _) => LeaseEventKind::Revoke(answer(&result)),
            _ => LeaseEventKind::KeepAlive(answer(&result)),
        };
        let outcome = match &kind {
            LeaseEventKind::KeepAlive(a) | LeaseEventKind::Revoke(a) => *a,
            LeaseEventKind::Read { revision, .. } => LeaseAnswer::Acked(*revision),
        };
        record.events.push(LeaseEvent {
            invoke,
            complete,
            kind,
        });
        outcome
    }

    /// One lease, from grant to revoke or expiry.
    async fn one_lease(&mut self, n: u64, stop: Nanos) {
        let ttl_seconds = thread_rng().gen_range(3..=MAX_TTL_SECONDS);
        let grant = Request::LeaseGrant(LeaseGrantRequest { ttl_seconds, id: 0 });
        let (granted_at, _, result) = self.timed(grant).await;
        let Ok(Response::LeaseGrant(granted)) = result else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            return;
        };
        let mut record = LeaseRecord {
            user: self.id,
            id: granted.id,
            ttl_seconds: granted.ttl_seconds,
            key: format!("{LEASE_KEY_PREFIX}{}-{n}", self.id),
            granted_at,
            ..LeaseRecord::default()
        };
        let put = Request::Put(PutRequest {
            key: Bytes::from(record.key.clone()),
            value: Bytes::from_static(b"held"),
            lease: granted.id,
            ..PutRequest::default()
        });
        let (_, complete, result) = self.timed(put).await;
        if let Ok(response) = result {
            record.put = Some((complete, response.header().revision.max(0) as u64));
        }
        let read = Request::Range(RangeRequest {
            key: Bytes::from(record.key.clone()),
            ..RangeRequest::default()
        });
        let keep_alive = Request::LeaseKeepAlive(LeaseKeepAliveRequest { id: granted.id });
        let third = Duration::from_millis(ttl_seconds as u64 * 1000 / 3);
        let hold_until = self.timeline.now() + thread_rng().gen_range(2..15) * 1_000_000_000;
        while self.timeline.now() < hold_until.min(stop) {
            let pick = thread_rng().gen_range(0..10);
            let request = if pick < 7 { &keep_alive } else { &read };
            if self.step(&mut record, request.clone()).await == LeaseAnswer::NotFound {
                break;
            }
            tokio::time::sleep(third).await;
        }
        if thread_rng().gen_bool(0.5) {
            let revoke = Request::LeaseRevoke(LeaseRevokeRequest { id: granted.id });
            self.step(&mut record, revoke).await;
        }
        // Abandoned (or revoked): read the key until it is seen gone.
        let give_up = self.timeline.now() + (ttl_seconds as u64 + 4) * 1_000_000_000;
        while self.timeline.now() < give_up.min(stop) {
            self.step(&mut record, read.clone()).await;
            let gone = matches!(
                record.events.last(),
                Some(LeaseEvent {
                    kind: LeaseEventKind::Read {
                        present_with_lease: None,
                        ..
                    },
                    ..
                })
            );
            if gone {
                break;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        self.records.push(record);
    }
}

/// One lease user's loop until `stop` (simulated nanoseconds since the
/// start); returns what it did.
pub async fn run_lease_user(
    id: u32,
    endpoints: Vec<String>,
    timeline: Timeline,
    stop: Nanos,
) -> Vec<LeaseRecord> {
    let mut options = ClientOptions::new(endpoints);
    options.command_timeout = Duration::from_secs(2);
    options.dial_timeout = Duration::from_millis(500);
    let client = match Client::new(options) {
        Ok(client) => client,
        Err(err) => {
            timeline.event(format!("lease user {id} could not start: {err}"));
            return Vec::new();
        }
    };
    let mut user = User {
        id,
        client,
        timeline,
        records: Vec::new(),
    };
    let mut n = 0;
    while user.timeline.now() < stop {
        n += 1;
        user.one_lease(n, stop).await;
    }
    user.timeline
        .event(format!("lease user {id}: {} leases", user.records.len()));
    user.records
}
