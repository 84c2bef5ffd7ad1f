//! A Wing–Gong–Lowe linearizability search, one key at a time
//! (linearizability is local: a history is linearizable iff each key's
//! sub-history is). It trusts no revision: only what was written and what
//! was read. Indeterminate writes may take effect at any point after they
//! were issued, or never; ranges (several keys) are left to the revision
//! check. Visited (linearized set, value) pairs are memoized; the search
//! gives up (inconclusive, not a failure) after `budget` steps.

use super::{Violation, ViolationKind};
use crate::history::{History, Op, OpKind, Outcome};
use std::collections::{BTreeMap, HashSet};

/// The verdict for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// A linearization exists.
    Linearizable,
    /// None exists.
    Violation(Violation),
    /// The search ran out of budget.
    Inconclusive,
}

/// One operation as the register model sees it.
#[derive(Debug, Clone)]
struct Step<'a> {
    op: &'a Op,
    /// `u64::MAX` when the operation never completed.
    complete: u64,
    /// Whether the linearization may leave this operation out
    /// (an indeterminate write that perhaps never took effect).
    optional: bool,
}

/// The register model: `state` is the key's value; returns the state after
/// `step`, or `None` if the step's observed result is impossible here.
fn apply<'a>(state: Option<&'a str>, step: &Step<'a>) -> Option<Option<&'a str>> {
    let indeterminate = matches!(step.op.outcome, Outcome::Indeterminate(_));
    match (&step.op.kind, &step.op.outcome) {
        (OpKind::Put { value, .. }, _) => Some(Some(value.as_str())),
        (OpKind::Delete { .. }, Outcome::Delete { deleted, .. }) => {
            (*deleted == state.is_some()).then_some(None)
        }
        (OpKind::Delete { .. }, _) if indeterminate => Some(None),
        (
            OpKind::Cas {
                expected, value, ..
            },
            outcome,
        ) => {
            let holds = state == expected.as_deref();
            match outcome {
                Outcome::Cas { succeeded, .. } if *succeeded != holds => None,
                _ if holds => Some(Some(value.as_str())),
                _ => Some(state),
            }
        }
        (OpKind::Get { .. }, Outcome::Get { value, .. }) => {
            (state == value.as_ref().map(|s| s.value.as_str())).then_some(state)
        }
        _ => None,
    }
}

/// Searches one key's operations (sorted by invoke time).
fn search(steps: &[Step<'_>], budget: u64) -> Option<bool> {
    let n = steps.len();
    let words = n.div_ceil(64).max(1);
    let mut done = vec![0u64; words];
    let mut seen: HashSet<(Vec<u64>, Option<String>)> = HashSet::new();
    let mut spent = 0u64;

    fn is_done(done: &[u64], i: usize) -> bool {
        done[i / 64] & (1 << (i % 64)) != 0
    }
    fn flip(done: &mut [u64], i: usize) {
        done[i / 64] ^= 1 << (i % 64);
    }

    // Depth-first: the stack holds (operation linearized, state before it).
    let mut stack: Vec<(usize, Option<&str>)> = Vec::new();
    let mut state: Option<&str> = None;
    let mut next_candidate = 0usize;
    let mut required_left = steps.iter().filter(|s| !s.optional).count();
    loop {
        spent += 1;
        if spent > budget {
            return None;
        }
        // Every required operation linearized: found one.
        if required_left == 0 {
            return Some(true);
        }
        // The earliest completion among pending operations bounds which may
        // go next: an operation invoked after it cannot precede it. Sorted
        // by invoke, and complete >= invoke, so the scan stops early.
        let first_pending = (0..n).find(|&i| !is_done(&done, i)).unwrap_or(n);
        let mut horizon = u64::MAX;
        for (i, step) in steps.iter().enumerate().skip(first_pending) {
            if step.op.invoke >= horizon {
                break;
            }
            if !is_done(&done, i) {
                horizon = horizon.min(step.complete);
            }
        }
        let mut advanced = false;
        let mut i = next_candidate.max(first_pending);
        while i < n && steps[i].op.invoke < horizon {
            if !is_done(&done, i) {
                if let Some(after) = apply(state, &steps[i]) {
                    flip(&mut done, i);
                    if seen.insert((done.clone(), after.map(str::to_owned))) {
                        stack.push((i, state));
                        state = after;
                        if !steps[i].optional {
                            required_left -= 1;
                        }
                        next_candidate = 0;
                        advanced = true;
                        break;
                    }
                    flip(&mut done, i);
                }
            }
            i += 1;
        }
        if advanced {
            continue;
        }
        // Backtrack; with nothing left to undo, no linearization exists.
        let Some((last, before)) = stack.pop() else {
            return Some(false);
        };
        flip(&mut done, last);
        if !steps[last].optional {
            required_left += 1;
        }
        state = before;
        next_candidate = last + 1;
    }
}

/// Checks each key's sub-history; one outcome per key, in key order.
pub fn check_per_key(history: &History, budget: u64) -> Vec<KeyOutcome> {
    let mut by_key: BTreeMap<&str, Vec<Step<'_>>> = BTreeMap::new();
    for op in &history.ops {
        let Some(key) = op.kind.key() else { continue };
        let indeterminate = matches!(op.outcome, Outcome::Indeterminate(_));
        if matches!(op.outcome, Outcome::Failed(_)) || (indeterminate && !op.kind.is_write()) {
            continue;
        }
        // Serializable reads may be stale: not part of the real-time model.
        if op.kind.is_serializable() {
            continue;
        }
        by_key.entry(key).or_default().push(Step {
            op,
            complete: op.complete.unwrap_or(u64::MAX),
            optional: indeterminate,
        });
    }
    by_key
        .into_iter()
        .map(|(key, mut steps)| {
            steps.sort_by_key(|s| (s.op.invoke, s.op.id));
            match search(&steps, budget) {
                None => KeyOutcome::Inconclusive,
                Some(true) => KeyOutcome::Linearizable,
                Some(false) => KeyOutcome::Violation(Violation {
                    kind: ViolationKind::NotLinearizable,
                    op: None,
                    detail: format!(
                        "no linearization of the {} operations on key {key}",
                        steps.len()
                    ),
                }),
            }
        })
        .collect()
}
