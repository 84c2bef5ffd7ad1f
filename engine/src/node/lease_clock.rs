//! Counting lease TTLs down on one member.
//!
//! Every member keeps a deadline per lease, set when a grant or keep-alive
//! *applies here* (so at or after the moment the client sent it). Only the
//! leader acts on them: it proposes an expiry for a lease past its
//! deadline, and the expiry entry is checked against the replicated state
//! when it applies (a keep-alive that applied first wins). Because a new
//! leader already holds its own deadlines from the entries it applied,
//! a change of leader neither resets TTLs nor shortens them.
//!
//! Guarantee: a lease whose latest grant or keep-alive was sent at time T is
//! not revoked by expiry before T + TTL on any member's clock.
//!
//! Each deadline remembers the raft index of the refresh it counts from, so
//! a snapshot carrying a newer refresh than the member ever applied (it was
//! partitioned while keep-alives went on) restarts the countdown instead of
//! keeping the stale one (found by keel-sim: such a member became leader
//! and expired a lease that was being kept alive).

use crate::mvcc::Lease;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::time::Instant;

/// One member's lease deadlines.
#[derive(Debug, Default)]
pub(crate) struct LeaseClock {
    /// Per lease: the deadline and the raft index of the refresh it counts from.
    deadlines: BTreeMap<i64, (Instant, u64)>,
    by_deadline: BTreeSet<(Instant, i64)>,
    /// Leases whose expiry this member proposed, with when.
    expiring: BTreeMap<i64, Instant>,
}

impl LeaseClock {
    /// Restarts lease `id`'s countdown from the refresh (grant or
    /// keep-alive) applied at `refreshed_index`: it expires at `deadline`.
    pub(crate) fn refresh(&mut self, id: i64, deadline: Instant, refreshed_index: u64) {
        if let Some((old, _)) = self.deadlines.insert(id, (deadline, refreshed_index)) {
            self.by_deadline.remove(&(old, id));
        }
        self.by_deadline.insert((deadline, id));
        self.expiring.remove(&id);
    }

    /// Moves lease `id`'s deadline to `deadline` if that is earlier (a
    /// leader's checkpointed countdown). The leader rounds its remaining
    /// time up and this member applies the checkpoint after the leader
    /// measured it, so the result is never earlier than the leader's own.
    pub(crate) fn shorten(&mut self, id: i64, deadline: Instant) {
        if let Some(&(current, refreshed_index)) = self.deadlines.get(&id) {
            if deadline < current {
                self.refresh(id, deadline, refreshed_index);
            }
        }
    }

    /// Lease `id` is gone.
    pub(crate) fn forget(&mut self, id: i64) {
        if let Some((old, _)) = self.deadlines.remove(&id) {
            self.by_deadline.remove(&(old, id));
        }
        self.expiring.remove(&id);
    }

    /// The expiry proposed for `id` applied (or was refused): it may be
    /// proposed again if the lease is still there.
    pub(crate) fn expiry_settled(&mut self, id: i64) {
        self.expiring.remove(&id);
    }

    /// Makes the clock match the replicated leases (after opening the store
    /// or installing a snapshot): a lease it does not know yet, or whose
    /// latest refresh it never applied, counts down from its checkpointed
    /// remaining TTL (or the full TTL) from `now`; deadlines of leases that
    /// no longer exist are dropped; deadlines already counting from the
    /// latest refresh stay.
    pub(crate) fn sync_with(&mut self, leases: &[Lease], now: Instant) {
        let live: BTreeSet<i64> = leases.iter().map(|l| l.id).collect();
        let gone: Vec<i64> = self
            .deadlines
            .keys()
            .filter(|id| !live.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.forget(id);
        }
        for lease in leases {
            let current = self
                .deadlines
                .get(&lease.id)
                .is_some_and(|&(_, from)| from >= lease.refreshed_index);
            if !current {
                let seconds = match lease.remaining_ttl_seconds {
                    0 => lease.ttl_seconds,
                    left => left,
                };
                self.refresh(
                    lease.id,
                    now + seconds_duration(seconds),
                    lease.refreshed_index,
                );
            }
        }
    }

    /// Leases past their deadline at `now` whose expiry this member has not
    /// proposed in the last `retry_after`, at most `max`, earliest first;
    /// each is marked as proposed at `now`.
    pub(crate) fn take_expired(
        &mut self,
        now: Instant,
        retry_after: Duration,
        max: usize,
    ) -> Vec<i64> {
        let mut due = Vec::new();
        for &(deadline, id) in &self.by_deadline {
            if deadline > now || due.len() >= max {
                break;
            }
            let recently = self
                .expiring
                .get(&id)
                .is_some_and(|&at| now.saturating_duration_since(at) < retry_after);
            if !recently {
                due.push(id);
            }
        }
        for &id in &due {
            self.expiring.insert(id, now);
        }
        due
    }

    /// Stops tracking proposed expiries (leadership was lost: the next
    /// leader decides for itself).
    pub(crate) fn clear_expiring(&mut self) {
        self.expiring.clear();
    }

    /// Whole seconds left for `id` at `now`, rounded up (0 once past).
    pub(crate) fn remaining_seconds(&self, id: i64, now: Instant) -> Option<i64> {
        let (deadline, _) = self.deadlines.get(&id)?;
        let left = deadline.saturating_duration_since(now);
        let whole = left.as_secs() as i64;
        Some(if left.subsec_nanos() > 0 {
            whole + 1
        } else {
            whole
        })
    }

    /// Whole seconds left for `id` at `now`, truncated as etcd reports a
    /// lease's time to live (a lease just granted 100 s has 99 left).
    pub(crate) fn remaining_whole_seconds(&self, id: i64, now: Instant) -> Option<i64> {
        let (deadline, _) = self.deadlines.get(&id)?;
        Some(deadline.saturating_duration_since(now).as_secs() as i64)
    }

    /// Remaining TTLs (seconds, at least 1) of up to `max` leases, by id,
    /// for a checkpoint.
    pub(crate) fn checkpoint(&self, now: Instant, max: usize) -> Vec<(i64, i64)> {
        self.deadlines
            .keys()
            .take(max)
            .filter_map(|&id| Some((id, self.remaining_seconds(id, now)?.max(1))))
            .collect()
    }
}

/// `seconds` as a duration (non-positive: zero; capped far in the future).
pub(crate) fn seconds_duration(seconds: i64) -> Duration {
    Duration::from_secs(seconds.clamp(0, 100 * 365 * 24 * 3600) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(id: i64, ttl: i64, remaining: i64) -> Lease {
        Lease {
            id,
            ttl_seconds: ttl,
            remaining_ttl_seconds: remaining,
            refreshed_index: 1,
        }
    }

    #[tokio::test]
    async fn expired_leases_are_proposed_once_per_retry_interval() {
        let now = Instant::now();
        let mut clock = LeaseClock::default();
        clock.refresh(1, now + Duration::from_secs(1), 1);
        clock.refresh(2, now + Duration::from_secs(5), 1);
        let retry = Duration::from_secs(2);
        assert!(clock.take_expired(now, retry, 10).is_empty());
        let later = now + Duration::from_secs(1);
        assert_eq!(clock.take_expired(later, retry, 10), vec![1]);
        assert!(
            clock.take_expired(later, retry, 10).is_empty(),
            "proposed already"
        );
        assert_eq!(
            clock.take_expired(later + retry, retry, 10),
            vec![1],
            "retried"
        );
        // A keep-alive that applies moves the deadline and clears the mark.
        clock.refresh(1, later + Duration::from_secs(10), 2);
        assert!(clock.take_expired(later + retry, retry, 10).is_empty());
        let much_later = now + Duration::from_secs(30);
        assert_eq!(
            clock.take_expired(much_later, retry, 1),
            vec![2],
            "earliest first, bounded"
        );
    }

    #[tokio::test]
    async fn remaining_rounds_up_and_sync_keeps_known_deadlines() {
        let now = Instant::now();
        let mut clock = LeaseClock::default();
        clock.refresh(1, now + Duration::from_millis(2500), 1);
        assert_eq!(clock.remaining_seconds(1, now), Some(3));
        assert_eq!(
            clock.remaining_seconds(1, now + Duration::from_secs(9)),
            Some(0)
        );
        assert_eq!(clock.remaining_seconds(2, now), None);
        clock.sync_with(&[lease(1, 60, 0), lease(2, 60, 7), lease(3, 60, 0)], now);
        assert_eq!(
            clock.remaining_seconds(1, now),
            Some(3),
            "known deadline kept"
        );
        assert_eq!(
            clock.remaining_seconds(2, now),
            Some(7),
            "checkpointed remaining"
        );
        assert_eq!(clock.remaining_seconds(3, now), Some(60), "full TTL");
        assert_eq!(clock.remaining_whole_seconds(3, now), Some(60));
        let a_moment_later = now + Duration::from_millis(1);
        assert_eq!(
            clock.remaining_seconds(3, a_moment_later),
            Some(60),
            "rounded up"
        );
        assert_eq!(
            clock.remaining_whole_seconds(3, a_moment_later),
            Some(59),
            "truncated"
        );
        // A snapshot with a keep-alive this member never applied restarts
        // the countdown; one with nothing newer keeps it.
        let mut newer = lease(3, 60, 0);
        newer.refreshed_index = 9;
        let later = now + Duration::from_secs(20);
        clock.sync_with(&[lease(1, 60, 0), newer], later);
        assert_eq!(clock.remaining_seconds(3, later), Some(60), "newer refresh");
        assert_eq!(clock.remaining_seconds(1, later), Some(0), "nothing newer");
        clock.sync_with(&[lease(3, 60, 0)], now);
        assert_eq!(clock.remaining_seconds(1, now), None, "gone leases dropped");
        assert_eq!(clock.checkpoint(later, 10), vec![(3, 60)]);
    }
}
