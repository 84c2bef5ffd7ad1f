//! The checkers against hand-made histories: known anomalies are rejected,
//! known good (including concurrent and indeterminate) histories accepted,
//! and random sequential histories from a model always pass.

use super::*;
use crate::history::*;
use proptest::prelude::*;

const S: u64 = 1_000_000_000;

fn put(key: &str, value: &str) -> OpKind {
    OpKind::Put {
        key: key.into(),
        value: value.into(),
    }
}

fn get(key: &str) -> OpKind {
    OpKind::Get {
        key: key.into(),
        serializable: false,
    }
}

fn got(revision: u64, value: Option<(&str, u64)>) -> Outcome {
    Outcome::Get {
        revision,
        value: value.map(|(v, m)| Seen {
            value: v.into(),
            mod_revision: m,
        }),
    }
}

fn change(revision: u64, key: &str, value: Option<&str>) -> Change {
    Change {
        revision,
        key: key.into(),
        value: value.map(Into::into),
    }
}

fn log(changes: Vec<Change>) -> StoreLog {
    let final_revision = changes.iter().map(|c| c.revision).max().unwrap_or(1);
    StoreLog {
        changes,
        final_revision,
    }
}

fn kinds(report: &CheckReport) -> Vec<ViolationKind> {
    report.violations.iter().map(|v| v.kind).collect()
}

/// put a=v1 (rev 2), put a=v2 (rev 3), both complete; then `read`.
fn two_puts_then(read: Outcome) -> History {
    let mut h = History::default();
    h.push(1, put("a", "v1"), 0, S, Outcome::Put { revision: 2 });
    h.push(
        1,
        put("a", "v2"),
        2 * S,
        3 * S,
        Outcome::Put { revision: 3 },
    );
    h.push(2, get("a"), 4 * S, 5 * S, read);
    h
}

fn two_puts_log() -> StoreLog {
    log(vec![change(2, "a", Some("v1")), change(3, "a", Some("v2"))])
}

#[test]
fn a_sequential_history_passes() {
    let h = two_puts_then(got(3, Some(("v2", 3))));
    let report = check(&h, &two_puts_log(), 100_000);
    assert!(report.passed(), "{:?}", report.violations);
    assert_eq!(report.wgl_keys_checked, 1);
}

#[test]
fn a_stale_read_is_rejected_by_both_checkers() {
    let h = two_puts_then(got(2, Some(("v1", 2))));
    let report = check(&h, &two_puts_log(), 100_000);
    let found = kinds(&report);
    assert!(found.contains(&ViolationKind::RealTimeOrder), "{found:?}");
    assert!(found.contains(&ViolationKind::NotLinearizable), "{found:?}");
}

#[test]
fn a_stale_serializable_read_is_accepted() {
    let mut h = History::default();
    h.push(1, put("a", "v1"), 0, S, Outcome::Put { revision: 2 });
    h.push(
        1,
        put("a", "v2"),
        2 * S,
        3 * S,
        Outcome::Put { revision: 3 },
    );
    h.push(
        2,
        OpKind::Get {
            key: "a".into(),
            serializable: true,
        },
        4 * S,
        5 * S,
        got(2, Some(("v1", 2))),
    );
    let report = check(&h, &two_puts_log(), 100_000);
    assert!(report.passed(), "{:?}", report.violations);
}

#[test]
fn a_serializable_read_of_a_state_that_never_existed_is_rejected() {
    let mut h = History::default();
    h.push(1, put("a", "v1"), 0, S, Outcome::Put { revision: 2 });
    h.push(
        2,
        OpKind::Get {
            key: "a".into(),
            serializable: true,
        },
        4 * S,
        5 * S,
        got(2, None),
    );
    let report = check(&h, &log(vec![change(2, "a", Some("v1"))]), 100_000);
    assert_eq!(kinds(&report), vec![ViolationKind::WrongRead]);
}

#[test]
fn a_lost_write_is_rejected() {
    // v2 was acknowledged at revision 3, but the committed log ends at 2.
    let h = two_puts_then(got(2, Some(("v1", 2))));
    let report = check(&h, &log(vec![change(2, "a", Some("v1"))]), 100_000);
    let found = kinds(&report);
    assert!(found.contains(&ViolationKind::FutureRevision), "{found:?}");
    assert!(found.contains(&ViolationKind::NotLinearizable), "{found:?}");

    // Same, but another write took its revision.
    let mut h = History::default();
    h.push(1, put("a", "v1"), 0, S, Outcome::Put { revision: 2 });
    h.push(2, put("b", "w1"), 0, S, Outcome::Put { revision: 2 });
    let report = check(&h, &log(vec![change(2, "b", Some("w1"))]), 100_000);
    assert_eq!(kinds(&report), vec![ViolationKind::LostWrite]);
}

#[test]
fn a_read_of_a_value_never_written_is_rejected() {
    let h = two_puts_then(got(3, Some(("ghost", 3))));
    let report = check(&h, &two_puts_log(), 100_000);
    let found = kinds(&report);
    assert!(found.contains(&ViolationKind::WrongRead), "{found:?}");
    assert!(found.contains(&ViolationKind::NotLinearizable), "{found:?}");
}

#[test]
fn a_log_value_no_client_wrote_is_rejected() {
    let mut h = History::default();
    h.push(1, put("a", "v1"), 0, S, Outcome::Put { revision: 2 });
    let bad = log(vec![
        change(2, "a", Some("v1")),
        change(3, "a", Some("ghost")),
    ]);
    assert_eq!(
        kinds(&check(&h, &bad, 100_000)),
        vec![ViolationKind::PhantomWrite]
    );
}

#[test]
fn a_revision_going_backwards_is_rejected() {
    // Nothing changed between the two reads, so the values agree and only
    // the revisions show the anomaly.
    let mut h = History::default();
    h.push(1, put("a", "v1"), 0, S, Outcome::Put { revision: 2 });
    h.push(2, put("b", "w1"), 0, S, Outcome::Put { revision: 3 });
    h.push(1, get("a"), 2 * S, 3 * S, got(3, Some(("v1", 2))));
    h.push(1, get("a"), 4 * S, 5 * S, got(2, Some(("v1", 2))));
    let l = log(vec![change(2, "a", Some("v1")), change(3, "b", Some("w1"))]);
    assert_eq!(
        kinds(&check(&h, &l, 100_000)),
        vec![ViolationKind::RealTimeOrder]
    );
}

#[test]
fn a_write_applied_twice_is_rejected() {
    let mut h = History::default();
    h.push(1, put("a", "v1"), 0, S, Outcome::Put { revision: 2 });
    let l = log(vec![change(2, "a", Some("v1")), change(3, "a", Some("v1"))]);
    assert!(kinds(&check(&h, &l, 100_000)).contains(&ViolationKind::DuplicateWrite));
}

#[test]
fn indeterminate_writes_may_or_may_not_apply() {
    // Applied: it is in the log and a later read sees it.
    let mut h = History::default();
    h.push(
        1,
        put("a", "v1"),
        0,
        0,
        Outcome::Indeterminate("timeout".into()),
    );
    h.push(2, get("a"), 5 * S, 6 * S, got(2, Some(("v1", 2))));
    let applied = log(vec![change(2, "a", Some("v1"))]);
    let report = check(&h, &applied, 100_000);
    assert!(report.passed(), "{:?}", report.violations);

    // Not applied: absent from the log, reads see nothing.
    let mut h = History::default();
    h.push(
        1,
        put("a", "v1"),
        0,
        0,
        Outcome::Indeterminate("timeout".into()),
    );
    h.push(2, get("a"), 5 * S, 6 * S, got(1, None));
    let report = check(&h, &log(vec![]), 100_000);
    assert!(report.passed(), "{:?}", report.violations);
}

#[test]
fn a_write_reported_failed_must_not_apply() {
    let mut h = History::default();
    h.push(1, put("a", "v1"), 0, S, Outcome::Failed("rejected".into()));
    let report = check(&h, &log(vec![change(2, "a", Some("v1"))]), 100_000);
    assert_eq!(kinds(&report), vec![ViolationKind::PhantomWrite]);
}

#[test]
fn concurrent_operations_may_be_ordered_either_way() {
    // A read overlapping a put may see the old or the new value.
    for (revision, value) in [(1, None), (2, Some(("v1", 2)))] {
        let mut h = History::default();
        h.push(1, put("a", "v1"), 0, 4 * S, Outcome::Put { revision: 2 });
        h.push(2, get("a"), S, 3 * S, got(revision, value));
        let report = check(&h, &log(vec![change(2, "a", Some("v1"))]), 100_000);
        assert!(report.passed(), "{:?}", report.violations);
    }
}

#[test]
fn cas_outcomes_are_checked_against_the_value() {
    let cas = |expected: Option<&str>, value: &str| OpKind::Cas {
        key: "a".into(),
        expected: expected.map(Into::into),
        value: value.into(),
    };
    let mut h = History::default();
    h.push(1, put("a", "v1"), 0, S, Outcome::Put { revision: 2 });
    h.push(
        1,
        cas(Some("v1"), "v2"),
        2 * S,
        3 * S,
        Outcome::Cas {
            revision: 3,
            succeeded: true,
        },
    );
    // Claims to fail although the key held what it expected.
    h.push(
        1,
        cas(Some("v2"), "v3"),
        4 * S,
        5 * S,
        Outcome::Cas {
            revision: 3,
            succeeded: false,
        },
    );
    let l = log(vec![change(2, "a", Some("v1")), change(3, "a", Some("v2"))]);
    let found = kinds(&check(&h, &l, 100_000));
    assert!(found.contains(&ViolationKind::WrongRead), "{found:?}");
    assert!(found.contains(&ViolationKind::NotLinearizable), "{found:?}");
}

#[test]
fn a_range_must_match_the_whole_key_space() {
    let mut h = History::default();
    h.push(1, put("a", "v1"), 0, S, Outcome::Put { revision: 2 });
    h.push(
        1,
        put("b", "w1"),
        2 * S,
        3 * S,
        Outcome::Put { revision: 3 },
    );
    let seen = |v: &str, m| Seen {
        value: v.into(),
        mod_revision: m,
    };
    h.push(
        2,
        OpKind::Range {
            serializable: false,
        },
        4 * S,
        5 * S,
        Outcome::Range {
            revision: 3,
            kvs: vec![("a".into(), seen("v1", 2))],
        },
    );
    let l = log(vec![change(2, "a", Some("v1")), change(3, "b", Some("w1"))]);
    assert_eq!(
        kinds(&check(&h, &l, 100_000)),
        vec![ViolationKind::WrongRead]
    );
}

#[derive(Debug, Clone)]
enum Gen {
    Put(u8),
    Get(u8),
    Delete(u8),
    Cas(u8, bool),
}

fn gen_op() -> impl Strategy<Value = Gen> {
    prop_oneof![
        (0u8..3).prop_map(Gen::Put),
        (0u8..3).prop_map(Gen::Get),
        (0u8..3).prop_map(Gen::Delete),
        (0u8..3, any::<bool>()).prop_map(|(k, b)| Gen::Cas(k, b)),
    ]
}

/// Runs `ops` one after another against a model store, producing a
/// correct history and log.
fn sequential(ops: &[Gen]) -> (History, StoreLog) {
    use std::collections::BTreeMap;
    let mut h = History::default();
    let mut store: BTreeMap<String, Seen> = BTreeMap::new();
    let mut changes = Vec::new();
    let mut revision = 1u64;
    for (n, g) in ops.iter().enumerate() {
        let t = n as u64 * 10;
        let value = format!("v{n}");
        let (kind, outcome) = match g {
            Gen::Put(k) | Gen::Get(k) | Gen::Delete(k) | Gen::Cas(k, _) => {
                let key = format!("k{k}");
                match g {
                    Gen::Put(_) => {
                        revision += 1;
                        store.insert(
                            key.clone(),
                            Seen {
                                value: value.clone(),
                                mod_revision: revision,
                            },
                        );
                        changes.push(change(revision, &key, Some(&value)));
                        (put(&key, &value), Outcome::Put { revision })
                    }
                    Gen::Get(_) => (get(&key), got(revision, None)).clone(),
                    Gen::Delete(_) => {
                        let deleted = store.remove(&key).is_some();
                        if deleted {
                            revision += 1;
                            changes.push(change(revision, &key, None));
                        }
                        (
                            OpKind::Delete { key: key.clone() },
                            Outcome::Delete { revision, deleted },
                        )
                    }
                    Gen::Cas(_, guess_right) => {
                        let current = store.get(&key).map(|s| s.value.clone());
                        let expected = if *guess_right {
                            current.clone()
                        } else {
                            Some("nope".into())
                        };
                        let succeeded = expected == current;
                        if succeeded {
                            revision += 1;
                            store.insert(
                                key.clone(),
                                Seen {
                                    value: value.clone(),
                                    mod_revision: revision,
                                },
                            );
                            changes.push(change(revision, &key, Some(&value)));
                        }
                        (
                            OpKind::Cas {
                                key: key.clone(),
                                expected,
                                value: value.clone(),
                            },
                            Outcome::Cas {
                                revision,
                                succeeded,
                            },
                        )
                    }
                }
            }
        };
        let outcome = match (&kind, outcome) {
            (OpKind::Get { key, .. }, _) => Outcome::Get {
                revision,
                value: store.get(key).cloned(),
            },
            (_, o) => o,
        };
        h.push((n % 3) as u32, kind, t, t + 5, outcome);
    }
    (
        h,
        StoreLog {
            changes,
            final_revision: revision,
        },
    )
}

proptest! {
    #[test]
    fn sequential_histories_from_a_model_pass(ops in prop::collection::vec(gen_op(), 1..60)) {
        let (h, l) = sequential(&ops);
        let report = check(&h, &l, 1_000_000);
        prop_assert!(report.passed(), "{:?}", report.violations);
        prop_assert_eq!(report.wgl_keys_skipped, 0);
    }

    #[test]
    fn a_tampered_read_is_caught(ops in prop::collection::vec(gen_op(), 1..60), pick in any::<prop::sample::Index>()) {
        let (mut h, l) = sequential(&ops);
        let reads: Vec<usize> = h.ops.iter().filter(|o| matches!(o.outcome, Outcome::Get { .. })).map(|o| o.id).collect();
        prop_assume!(!reads.is_empty());
        let id = reads[pick.index(reads.len())];
        if let Outcome::Get { value, .. } = &mut h.ops[id].outcome {
            *value = match value.take() {
                Some(_) => None,
                None => Some(Seen { value: "ghost".into(), mod_revision: 1 }),
            };
        }
        let report = check(&h, &l, 1_000_000);
        prop_assert!(!report.passed());
    }
}

fn watched(revision: u64, key: &str, value: Option<&str>) -> WatchedEvent {
    WatchedEvent {
        revision,
        key: key.into(),
        value: value.map(Into::into),
    }
}

fn watch_log() -> StoreLog {
    log(vec![
        change(2, "a", Some("v1")),
        change(3, "b", Some("w1")),
        change(4, "a", None),
        change(5, "a", Some("v2")),
    ])
}

fn record(events: Vec<WatchedEvent>) -> WatchRecord {
    WatchRecord {
        watcher: 1,
        prefix: "a".into(),
        start_revision: 2,
        seen_through: 5,
        events,
    }
}

#[test]
fn a_watch_stream_equal_to_the_log_passes() {
    let w = record(vec![
        watched(2, "a", Some("v1")),
        watched(4, "a", None),
        watched(5, "a", Some("v2")),
    ]);
    assert!(watch::check(&[w], &watch_log()).is_empty());
    // Seen only up to revision 4: the later event is not owed yet.
    let mut partial = record(vec![watched(2, "a", Some("v1")), watched(4, "a", None)]);
    partial.seen_through = 4;
    assert!(watch::check(&[partial], &watch_log()).is_empty());
}

#[test]
fn gaps_duplicates_reordering_and_inventions_in_a_watch_are_rejected() {
    let bad = [
        vec![watched(2, "a", Some("v1")), watched(5, "a", Some("v2"))],
        vec![
            watched(2, "a", Some("v1")),
            watched(4, "a", None),
            watched(4, "a", None),
            watched(5, "a", Some("v2")),
        ],
        vec![
            watched(2, "a", Some("v1")),
            watched(5, "a", Some("v2")),
            watched(4, "a", None),
        ],
        vec![
            watched(2, "a", Some("v1")),
            watched(4, "a", None),
            watched(5, "a", Some("ghost")),
        ],
    ];
    for events in bad {
        let found = watch::check(&[record(events.clone())], &watch_log());
        assert_eq!(found.len(), 1, "{events:?}");
        assert_eq!(found[0].kind, ViolationKind::WatchMismatch);
    }
}

mod leases {
    use super::S;
    use crate::check::{ViolationKind, leases};
    use crate::history::*;

    const ID: i64 = 0x694d_0000_0000_0001;

    /// A 5 s lease granted at 0 s whose key was put (revision 10) at 0.1 s.
    fn record(events: Vec<(u64, u64, LeaseEventKind)>) -> LeaseRecord {
        LeaseRecord {
            user: 0,
            id: ID,
            ttl_seconds: 5,
            key: "l0-1".into(),
            granted_at: 0,
            put: Some((S / 10, 10)),
            events: events
                .into_iter()
                .map(|(invoke, complete, kind)| LeaseEvent {
                    invoke,
                    complete,
                    kind,
                })
                .collect(),
        }
    }

    fn keep_alive(answer: LeaseAnswer) -> LeaseEventKind {
        LeaseEventKind::KeepAlive(answer)
    }

    fn read(revision: u64, present: bool) -> LeaseEventKind {
        LeaseEventKind::Read {
            revision,
            present_with_lease: present.then_some(ID),
        }
    }

    fn broken(events: Vec<(u64, u64, LeaseEventKind)>) -> bool {
        let found = leases::check(&[record(events)]);
        assert!(found.iter().all(|v| v.kind == ViolationKind::LeaseBroken));
        !found.is_empty()
    }

    #[test]
    fn a_lease_kept_alive_then_abandoned_then_expired_passes() {
        assert!(!broken(vec![
            (S, S + 1, read(11, true)),
            (2 * S, 2 * S + 1, keep_alive(LeaseAnswer::Acked(11))),
            (4 * S, 4 * S + 1, keep_alive(LeaseAnswer::Acked(11))),
            (6 * S, 6 * S + 1, read(11, true)),
            // The last refresh was sent at 4 s: gone after 9 s is fine.
            (9 * S + 1, 9 * S + 2, read(12, false)),
            (10 * S, 10 * S + 1, keep_alive(LeaseAnswer::NotFound)),
            (11 * S, 11 * S + 1, read(13, false)),
        ]));
    }

    #[test]
    fn an_expiry_before_the_promise_ends_is_caught() {
        // Kept alive at 4 s with a 5 s TTL, yet gone at 8 s.
        assert!(broken(vec![
            (4 * S, 4 * S + 1, keep_alive(LeaseAnswer::Acked(11))),
            (8 * S, 8 * S + 1, read(12, false)),
        ]));
        assert!(broken(vec![
            (4 * S, 4 * S + 1, keep_alive(LeaseAnswer::Acked(11))),
            (8 * S, 8 * S + 1, keep_alive(LeaseAnswer::NotFound)),
        ]));
        // A TTL reset to the grant time after a failover shows up the same way.
        assert!(broken(vec![
            (3 * S, 3 * S + 1, keep_alive(LeaseAnswer::Acked(11))),
            (6 * S, 6 * S + 1, read(12, false)),
        ]));
    }

    #[test]
    fn a_revoke_ends_the_promise() {
        assert!(!broken(vec![
            (S, S + 1, keep_alive(LeaseAnswer::Acked(11))),
            (
                2 * S,
                2 * S + 1,
                LeaseEventKind::Revoke(LeaseAnswer::Acked(12))
            ),
            (2 * S + 2, 2 * S + 3, read(12, false)),
            (3 * S, 3 * S + 1, keep_alive(LeaseAnswer::NotFound)),
        ]));
    }

    #[test]
    fn a_key_readable_after_its_lease_ended_is_caught() {
        assert!(broken(vec![
            (S, S + 1, LeaseEventKind::Revoke(LeaseAnswer::Acked(12))),
            (2 * S, 2 * S + 1, read(13, true)),
        ]));
        assert!(broken(vec![
            (6 * S, 6 * S + 1, read(12, false)),
            (7 * S, 7 * S + 1, read(14, true)),
        ]));
        // A stale read from before the end is fine.
        assert!(!broken(vec![
            (6 * S, 6 * S + 1, read(12, false)),
            (7 * S, 7 * S + 1, read(11, true)),
        ]));
    }

    #[test]
    fn a_keep_alive_acknowledged_after_the_lease_was_gone_is_caught() {
        assert!(broken(vec![
            (6 * S, 6 * S + 1, keep_alive(LeaseAnswer::NotFound)),
            (7 * S, 7 * S + 1, keep_alive(LeaseAnswer::Acked(12))),
        ]));
    }

    #[test]
    fn a_key_with_another_lease_is_caught_and_an_unsure_put_proves_nothing() {
        let mut other = record(vec![(S, S + 1, read(11, true))]);
        if let LeaseEventKind::Read {
            present_with_lease, ..
        } = &mut other.events[0].kind
        {
            *present_with_lease = Some(7);
        }
        assert!(!leases::check(&[other]).is_empty());
        let mut unsure = record(vec![(S, S + 1, read(11, false))]);
        unsure.put = None;
        assert!(leases::check(&[unsure]).is_empty());
    }
}
