//! The watch checker: every watcher's stream must be exactly the committed
//! log's changes to its range, from its start revision up to the revision
//! it reports having seen — in order, nothing missing, nothing twice,
//! nothing invented.

use super::{Violation, ViolationKind};
use crate::history::{StoreLog, WatchRecord};

/// Checks each watcher's events against `log`.
pub fn check(watchers: &[WatchRecord], log: &StoreLog) -> Vec<Violation> {
    let mut violations = Vec::new();
    for w in watchers {
        let expected: Vec<(u64, &str, Option<&str>)> = log
            .changes
            .iter()
            .filter(|c| c.revision >= w.start_revision && c.revision <= w.seen_through)
            .filter(|c| c.key.starts_with(&w.prefix))
            .map(|c| (c.revision, c.key.as_str(), c.value.as_deref()))
            .collect();
        let got: Vec<(u64, &str, Option<&str>)> = w
            .events
            .iter()
            .map(|e| (e.revision, e.key.as_str(), e.value.as_deref()))
            .collect();
        if got == expected {
            continue;
        }
        let first_difference = got
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(expected.len()));
        violations.push(Violation {
            kind: ViolationKind::WatchMismatch,
            op: None,
            detail: format!(
                "watcher {} (revisions {}..={}): {} events, the log has {}; first difference at #{first_difference}: got {:?}, log {:?}",
                w.watcher,
                w.start_revision,
                w.seen_through,
                got.len(),
                expected.len(),
                got.get(first_difference),
                expected.get(first_difference),
            ),
        });
    }
    violations
}
