//! The revision-order check: every operation placed in the total order the
//! store's revisions give, then checked against the committed log and
//! against real time. Linear in the history (plus sorting).

use super::{Violation, ViolationKind};
use crate::history::{History, Op, OpKind, Outcome, Seen, StoreLog};
use std::collections::BTreeMap;

/// The state of every key at every revision, from the committed log.
struct States {
    /// key → (revision, value, mod revision) in revision order.
    by_key: BTreeMap<String, Vec<(u64, Option<Seen>)>>,
}

impl States {
    fn at(&self, key: &str, revision: u64) -> Option<&Seen> {
        let versions = self.by_key.get(key)?;
        let after = versions.partition_point(|(r, _)| *r <= revision);
        if after == 0 {
            return None;
        }
        versions[after - 1].1.as_ref()
    }

    fn keys(&self) -> impl Iterator<Item = &String> {
        self.by_key.keys()
    }
}

fn violation(kind: ViolationKind, op: &Op, detail: String) -> Violation {
    Violation {
        kind,
        op: Some(op.id),
        detail: format!("{detail}; {op}"),
    }
}

/// Checks `history` against `log`; returns everything wrong.
pub fn check(history: &History, log: &StoreLog) -> Vec<Violation> {
    let mut violations = Vec::new();

    // Who wrote each value (values are unique per run).
    let mut writer_of: BTreeMap<&str, &Op> = BTreeMap::new();
    for op in &history.ops {
        if let Some(value) = op.kind.written_value() {
            writer_of.insert(value, op);
        }
    }

    // The log: one change per revision, each value from a write that could
    // have applied, at most once.
    let mut states = States {
        by_key: BTreeMap::new(),
    };
    let mut change_at: BTreeMap<u64, (&str, Option<&str>)> = BTreeMap::new();
    let mut applied_at: BTreeMap<usize, u64> = BTreeMap::new();
    for change in &log.changes {
        if change_at
            .insert(change.revision, (&change.key, change.value.as_deref()))
            .is_some()
        {
            violations.push(Violation {
                kind: ViolationKind::PhantomWrite,
                op: None,
                detail: format!(
                    "two changes at revision {} (the workload writes one key at a time)",
                    change.revision
                ),
            });
        }
        let seen = change.value.as_ref().map(|value| Seen {
            value: value.clone(),
            mod_revision: change.revision,
        });
        states
            .by_key
            .entry(change.key.clone())
            .or_default()
            .push((change.revision, seen));
        let Some(value) = change.value.as_deref() else {
            continue;
        };
        match writer_of.get(value) {
            None => violations.push(Violation {
                kind: ViolationKind::PhantomWrite,
                op: None,
                detail: format!(
                    "revision {} holds {}={value}, which no client wrote",
                    change.revision, change.key
                ),
            }),
            Some(op) => {
                if op.kind.key() != Some(change.key.as_str()) {
                    violations.push(violation(
                        ViolationKind::PhantomWrite,
                        op,
                        format!("its value appears under key {}", change.key),
                    ));
                }
                if let Some(first) = applied_at.insert(op.id, change.revision) {
                    violations.push(violation(
                        ViolationKind::DuplicateWrite,
                        op,
                        format!("applied at revisions {first} and {}", change.revision),
                    ));
                }
                let may_apply = matches!(
                    op.outcome,
                    Outcome::Indeterminate(_)
                        | Outcome::Put { .. }
                        | Outcome::Cas {
                            succeeded: true,
                            ..
                        }
                );
                if !may_apply {
                    violations.push(violation(
                        ViolationKind::PhantomWrite,
                        op,
                        format!(
                            "reported as not applied, but the log has it at revision {}",
                            change.revision
                        ),
                    ));
                }
            }
        }
    }
    for versions in states.by_key.values_mut() {
        versions.sort_by_key(|(r, _)| *r);
    }

    // Deletes carry no value: acknowledged ones claim their revision; the
    // rest of the log's deletes must be explainable by indeterminate ones.
    let mut unexplained_deletes: BTreeMap<&str, i64> = BTreeMap::new();
    for change in &log.changes {
        if change.value.is_none() {
            *unexplained_deletes.entry(&change.key).or_default() += 1;
        }
    }

    // Each operation's position in the total order: a write at revision r
    // sits at 2r, a read at header revision h at 2h+1 (after write h).
    let mut position: BTreeMap<usize, u64> = BTreeMap::new();
    for op in &history.ops {
        let key = op.kind.key();
        match (&op.kind, &op.outcome) {
            (_, Outcome::Failed(_)) => continue,
            (OpKind::Delete { key }, Outcome::Indeterminate(_)) => {
                *unexplained_deletes.entry(key).or_default() -= 1;
                continue;
            }
            (_, Outcome::Indeterminate(_)) => {
                if let Some(&r) = applied_at.get(&op.id) {
                    position.insert(op.id, 2 * r);
                }
                continue;
            }
            _ => {}
        }
        let Some(h) = op.outcome.revision() else {
            continue;
        };
        if h > log.final_revision {
            violations.push(violation(
                ViolationKind::FutureRevision,
                op,
                format!(
                    "revision {h} is beyond the cluster's final revision {}",
                    log.final_revision
                ),
            ));
            continue;
        }
        let wrote = op.outcome.wrote();
        position.insert(op.id, if wrote { 2 * h } else { 2 * h + 1 });
        let key = key.unwrap_or_default();
        match (&op.kind, &op.outcome) {
            (OpKind::Put { value, .. }, Outcome::Put { revision })
            | (
                OpKind::Cas { value, .. },
                Outcome::Cas {
                    revision,
                    succeeded: true,
                },
            ) => {
                if change_at.get(revision) != Some(&(key, Some(value.as_str()))) {
                    violations.push(violation(
                        ViolationKind::LostWrite,
                        op,
                        format!(
                            "acknowledged at revision {revision}, where the log has {:?}",
                            change_at.get(revision)
                        ),
                    ));
                }
                if let OpKind::Cas { expected, .. } = &op.kind {
                    let before = states.at(key, revision - 1).map(|s| s.value.as_str());
                    if before != expected.as_deref() {
                        violations.push(violation(
                            ViolationKind::WrongRead,
                            op,
                            format!("CAS succeeded but the key held {before:?} before it"),
                        ));
                    }
                }
            }
            (OpKind::Cas { expected, .. }, Outcome::Cas { revision, .. }) => {
                let now = states.at(key, *revision).map(|s| s.value.as_str());
                if now == expected.as_deref() {
                    violations.push(violation(
                        ViolationKind::WrongRead,
                        op,
                        format!("CAS failed but the key held {now:?} at revision {revision}"),
                    ));
                }
            }
            (OpKind::Delete { .. }, Outcome::Delete { revision, deleted }) => {
                if *deleted {
                    *unexplained_deletes.entry(key).or_default() -= 1;
                    let ok = change_at.get(revision) == Some(&(key, None))
                        && states.at(key, revision - 1).is_some();
                    if !ok {
                        violations.push(violation(
                            ViolationKind::LostWrite,
                            op,
                            format!(
                                "delete acknowledged at revision {revision}, where the log has {:?}",
                                change_at.get(revision)
                            ),
                        ));
                    }
                } else if let Some(seen) = states.at(key, *revision) {
                    violations.push(violation(
                        ViolationKind::WrongRead,
                        op,
                        format!(
                            "deleted nothing, but the key held {seen:?} at revision {revision}"
                        ),
                    ));
                }
            }
            (OpKind::Get { .. }, Outcome::Get { revision, value }) => {
                let expected = states.at(key, *revision);
                if expected != value.as_ref() {
                    violations.push(violation(
                        ViolationKind::WrongRead,
                        op,
                        format!("the key held {expected:?} at revision {revision}"),
                    ));
                }
            }
            (OpKind::Range { .. }, Outcome::Range { revision, kvs }) => {
                let expected: Vec<(String, Seen)> = states
                    .keys()
                    .filter_map(|k| states.at(k, *revision).map(|s| (k.clone(), s.clone())))
                    .collect();
                if &expected != kvs {
                    violations.push(violation(
                        ViolationKind::WrongRead,
                        op,
                        format!("the key space held {expected:?} at revision {revision}"),
                    ));
                }
            }
            _ => violations.push(violation(
                ViolationKind::WrongRead,
                op,
                "the answer does not match the request".into(),
            )),
        }
    }
    for (key, count) in unexplained_deletes {
        if count > 0 {
            violations.push(Violation {
                kind: ViolationKind::PhantomWrite,
                op: None,
                detail: format!("{count} delete(s) of {key} in the log that no client asked for"),
            });
        }
    }

    // Reads must not see a write that had not been issued yet.
    for op in &history.ops {
        let (Some(complete), Some(&pos)) = (op.complete, position.get(&op.id)) else {
            continue;
        };
        if pos % 2 == 1 {
            let h = pos / 2;
            if let Some((_, Some(value))) = change_at.get(&h) {
                if let Some(writer) = writer_of.get(value) {
                    if writer.invoke > complete {
                        violations.push(violation(
                            ViolationKind::FutureRevision,
                            op,
                            format!("saw revision {h}, written by op#{} issued later", writer.id),
                        ));
                    }
                }
            }
        }
    }

    violations.extend(real_time(history, &position));
    violations
}

/// For every operation o that must respect real time, every operation that
/// completed before o was invoked sits no later than o in the order.
fn real_time(history: &History, position: &BTreeMap<usize, u64>) -> Vec<Violation> {
    let mut completed: Vec<(u64, u64, usize)> = history
        .ops
        .iter()
        .filter_map(|op| Some((op.complete?, *position.get(&op.id)?, op.id)))
        .collect();
    completed.sort_unstable();
    let mut invoked: Vec<&Op> = history
        .ops
        .iter()
        .filter(|op| position.contains_key(&op.id) && !op.kind.is_serializable())
        .collect();
    invoked.sort_by_key(|op| (op.invoke, op.id));

    let mut violations = Vec::new();
    let mut next = 0;
    let mut latest: Option<(u64, usize)> = None; // highest position so far, and its op
    for op in invoked {
        while next < completed.len() && completed[next].0 < op.invoke {
            let (_, pos, id) = completed[next];
            if latest.is_none_or(|(p, _)| pos > p) {
                latest = Some((pos, id));
            }
            next += 1;
        }
        let pos = position[&op.id];
        if let Some((before, by)) = latest {
            if before > pos {
                violations.push(violation(
                    ViolationKind::RealTimeOrder,
                    op,
                    format!(
                        "ordered at revision {}{} but op#{by}, complete before it started, is at revision {}{}",
                        pos / 2,
                        if pos % 2 == 1 { " (read)" } else { "" },
                        before / 2,
                        if before % 2 == 1 { " (read)" } else { "" },
                    ),
                ));
            }
        }
    }
    violations
}
