//! The fault model. Swarm style: each seed draws which faults are on and
//! how hard they hit; `--faults` narrows the choice to a list.

use std::fmt;
use std::str::FromStr;

/// One kind of fault the harness can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// Members split into two groups that cannot talk (both directions).
    Partition,
    /// One member cannot send to another (the reverse direction works).
    OneWay,
    /// The leader is cut off from every other member (clients still reach it).
    LeaderIsolation,
    /// Two groups that only one member (the bridge) connects.
    Bridge,
    /// Every link slows down for a while.
    Latency,
    /// A member is killed, its disk loses (or tears) what was not synced,
    /// and it restarts.
    Kill,
    /// A member stops running for a while, then resumes.
    Pause,
    /// One member's disk fails syncs or flips bits on reads for a while; it
    /// must fail-stop or refuse to start, never serve wrong data.
    Disk,
    /// The leader hands leadership to another member.
    LeaderTransfer,
    /// The failed-member procedure: a member is removed, its data wiped,
    /// and it is added back (sometimes as a learner, then promoted) and
    /// started with `--initial-cluster-state existing`.
    Replace,
    /// Buggify the engine's settings: tiny WAL segments, checkpoints and
    /// log compaction every few dozen entries (snapshots to followers).
    Buggify,
    /// A member defragments its state file while the workload runs (and
    /// whatever other fault is on hits it).
    Defrag,
    /// A backup is taken from a member while the workload runs and restored
    /// onto a fresh disk; at the end it must hold exactly the committed
    /// state at its revision.
    Backup,
    /// Not an event but a setting: every member runs periodic
    /// auto-compaction with a window of a few seconds, so history is
    /// compacted under the workload, the faults and the watchers.
    Compaction,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FaultKind; 14] = [
        FaultKind::Partition,
        FaultKind::OneWay,
        FaultKind::LeaderIsolation,
        FaultKind::Bridge,
        FaultKind::Latency,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Disk,
        FaultKind::LeaderTransfer,
        FaultKind::Replace,
        FaultKind::Buggify,
        FaultKind::Defrag,
        FaultKind::Backup,
        FaultKind::Compaction,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::OneWay => "one-way",
            FaultKind::LeaderIsolation => "leader-isolation",
            FaultKind::Bridge => "bridge",
            FaultKind::Latency => "latency",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::Disk => "disk",
            FaultKind::LeaderTransfer => "leader-transfer",
            FaultKind::Replace => "replace",
            FaultKind::Buggify => "buggify",
            FaultKind::Defrag => "defrag",
            FaultKind::Backup => "backup",
            FaultKind::Compaction => "compaction",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name that is not one of [`FaultKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {0:?} (known: {known})", known = FaultKind::ALL.map(FaultKind::name).join(", "))]
pub struct UnknownFault(pub String);

impl FromStr for FaultKind {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownFault(s.to_string()))
    }
}

/// Parses a comma-separated list of fault names (`none` for no faults).
pub fn parse_fault_list(list: &str) -> Result<Vec<FaultKind>, UnknownFault> {
    if list == "none" {
        return Ok(Vec::new());
    }
    let mut kinds = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(FaultKind::from_str)
        .collect::<Result<Vec<_>, _>>()?;
    kinds.sort();
    kinds.dedup();
    Ok(kinds)
}

/// Which faults one seed injects and how hard.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// The faults drawn for this seed (a subset of what was allowed).
    pub enabled: Vec<FaultKind>,
    /// Mean pause between two faults, in milliseconds.
    pub mean_gap_ms: u64,
    /// Longest a fault lasts, in milliseconds.
    pub max_duration_ms: u64,
}

impl FaultPlan {
    /// Draws a plan from `allowed` with `pick` (a source of numbers in
    /// `0..n`): each allowed fault is on with probability one half, at
    /// least one stays on, and the pace is drawn too.
    pub fn draw(allowed: &[FaultKind], mut pick: impl FnMut(u64) -> u64) -> FaultPlan {
        let mut enabled: Vec<FaultKind> =
            allowed.iter().copied().filter(|_| pick(2) == 0).collect();
        if enabled.is_empty() && !allowed.is_empty() {
            enabled.push(allowed[pick(allowed.len() as u64) as usize]);
        }
        FaultPlan {
            enabled,
            mean_gap_ms: 300 + pick(3_000),
            max_duration_ms: 1_000 + pick(6_000),
        }
    }

    /// Whether `kind` is on.
    pub fn has(&self, kind: FaultKind) -> bool {
        self.enabled.contains(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_lists_parse_and_reject_unknown_names() {
        assert_eq!(
            parse_fault_list("kill, partition,kill").unwrap(),
            vec![FaultKind::Partition, FaultKind::Kill]
        );
        assert_eq!(parse_fault_list("none").unwrap(), vec![]);
        let err = parse_fault_list("partition,flood").unwrap_err();
        assert!(err.to_string().contains("\"flood\""), "{err}");
        for kind in FaultKind::ALL {
            assert_eq!(kind.name().parse::<FaultKind>().unwrap(), kind);
        }
    }

    #[test]
    fn a_plan_keeps_at_least_one_allowed_fault() {
        let mut n = 0;
        // A source that says "off" to every coin flip.
        let plan = FaultPlan::draw(&[FaultKind::Kill, FaultKind::Pause], |range| {
            n += 1;
            if range == 2 { 1 } else { range - 1 }
        });
        assert_eq!(plan.enabled, vec![FaultKind::Pause]);
        let plan = FaultPlan::draw(&[], |_| 0);
        assert!(plan.enabled.is_empty());
        assert!(n > 0);
    }
}
