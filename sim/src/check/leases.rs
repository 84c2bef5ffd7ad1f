//! The lease checker. For every lease a workload user held:
//!
//! * **kept alive means alive**: an acknowledged grant or keep-alive sent
//!   at time T promises the lease until T + TTL (the cluster counts from
//!   when it applies the entry, which is after T). Until the user revokes
//!   it, no observation completed before that promise ends may show the
//!   lease gone (a keep-alive answered "not found", or a read without the
//!   key after the put was acknowledged).
//! * **gone means gone**: once the key is seen absent at revision G (or the
//!   revoke was acknowledged at G), no read at revision G or later shows
//!   it; no keep-alive is acknowledged after the lease was seen gone.
//! * a read of the key shows the lease it was put with.

use super::{Violation, ViolationKind};
use crate::history::{LeaseAnswer, LeaseEventKind, LeaseRecord, Nanos};

/// Checks every lease record.
pub fn check(records: &[LeaseRecord]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for record in records {
        check_alive_while_promised(record, &mut violations);
        check_gone_stays_gone(record, &mut violations);
    }
    violations
}

fn violation(record: &LeaseRecord, detail: String) -> Violation {
    Violation {
        kind: ViolationKind::LeaseBroken,
        op: None,
        detail: format!(
            "lease {:016x} of user {} (ttl {}s, key {}): {detail}",
            record.id, record.user, record.ttl_seconds, record.key
        ),
    }
}

fn ttl_nanos(record: &LeaseRecord) -> Nanos {
    record.ttl_seconds.max(0) as u64 * 1_000_000_000
}

/// Whether this event shows the lease gone, and when it completed.
fn observed_gone(record: &LeaseRecord, kind: &LeaseEventKind, invoke: Nanos) -> bool {
    match kind {
        LeaseEventKind::KeepAlive(LeaseAnswer::NotFound) => true,
        LeaseEventKind::Read {
            present_with_lease: None,
            ..
        } => record.put.is_some_and(|(put_done, _)| put_done <= invoke),
        _ => false,
    }
}

fn check_alive_while_promised(record: &LeaseRecord, violations: &mut Vec<Violation>) {
    let ttl = ttl_nanos(record);
    // The promise made by the acknowledged refreshes sent before `at`:
    // each one's send time plus the TTL. (One sent later and acknowledged
    // after the lease was seen gone is the other check's business.)
    let promised_until = |at: Nanos| {
        record
            .events
            .iter()
            .filter(|e| e.invoke < at)
            .filter(|e| matches!(e.kind, LeaseEventKind::KeepAlive(LeaseAnswer::Acked(_))))
            .map(|e| e.invoke + ttl)
            .fold(record.granted_at + ttl, Nanos::max)
    };
    let revoke_sent = record
        .events
        .iter()
        .filter(|e| matches!(e.kind, LeaseEventKind::Revoke(_)))
        .map(|e| e.invoke)
        .min()
        .unwrap_or(Nanos::MAX);
    for event in &record.events {
        if !observed_gone(record, &event.kind, event.invoke) {
            continue;
        }
        let promised_until = promised_until(event.complete);
        if event.complete < promised_until && event.complete < revoke_sent {
            violations.push(violation(
                record,
                format!(
                    "seen gone by {:?} completed at {}ms, but acknowledged refreshes promised it until {}ms",
                    event.kind,
                    event.complete / 1_000_000,
                    promised_until / 1_000_000
                ),
            ));
        }
    }
}

fn check_gone_stays_gone(record: &LeaseRecord, violations: &mut Vec<Violation>) {
    // The first revision at which the key is known gone, and the first
    // time the lease was seen gone.
    let mut gone_revision = u64::MAX;
    let mut gone_seen_at = Nanos::MAX;
    for event in &record.events {
        match event.kind {
            LeaseEventKind::Revoke(LeaseAnswer::Acked(revision)) => {
                gone_revision = gone_revision.min(revision);
                gone_seen_at = gone_seen_at.min(event.complete);
            }
            LeaseEventKind::Read { revision, .. }
                if observed_gone(record, &event.kind, event.invoke) =>
            {
                gone_revision = gone_revision.min(revision);
                gone_seen_at = gone_seen_at.min(event.complete);
            }
            LeaseEventKind::KeepAlive(LeaseAnswer::NotFound) => {
                gone_seen_at = gone_seen_at.min(event.complete);
            }
            _ => {}
        }
    }
    for event in &record.events {
        match event.kind {
            LeaseEventKind::Read {
                revision,
                present_with_lease: Some(lease),
            } => {
                if lease != record.id {
                    violations.push(violation(
                        record,
                        format!("read at revision {revision} shows lease {lease:016x}"),
                    ));
                }
                if revision >= gone_revision {
                    violations.push(violation(
                        record,
                        format!(
                            "key readable at revision {revision}, after the lease ended at revision {gone_revision}"
                        ),
                    ));
                }
            }
            LeaseEventKind::KeepAlive(LeaseAnswer::Acked(_)) if event.invoke > gone_seen_at => {
                violations.push(violation(
                    record,
                    format!(
                        "keep-alive sent at {}ms acknowledged after the lease was seen gone at {}ms",
                        event.invoke / 1_000_000,
                        gone_seen_at / 1_000_000
                    ),
                ));
            }
            _ => {}
        }
    }
}
