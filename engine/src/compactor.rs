//! Auto-compaction as etcd 3.4 does it (`--auto-compaction-mode` and
//! `--auto-compaction-retention`): a task beside the node that, while its
//! member leads, proposes compactions through raft like any client would.
//!
//! - **revision** mode keeps the last N revisions: every
//!   [`REVISION_CHECK_INTERVAL`] it compacts to `revision - N` (when that is
//!   positive and new).
//! - **periodic** mode keeps a time window: it samples the revision every
//!   tenth of the window (of an hour, for windows over an hour), waits one
//!   window, then compacts to the revision sampled a window ago, again every
//!   window (at most every hour), sliding along.
//!
//! Followers keep sampling but do not compact (etcd pauses their
//! compactors). Failures are logged and retried at the next turn. Time is
//! tokio's, so the simulator runs this too.

use crate::api::{ApiError, CompactionRequest, Request};
use crate::node::NodeHandle;
use std::collections::VecDeque;
use std::time::Duration;

/// How often revision mode looks at the revision (etcd's 5 minutes).
pub const REVISION_CHECK_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// The longest periodic mode waits between compactions.
const MAX_COMPACT_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Samples per compaction interval in periodic mode.
const RETRY_DIVISOR: u32 = 10;

/// What to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoCompaction {
    /// Keep the history of this long a window.
    Periodic(Duration),
    /// Keep this many revisions.
    Revision(i64),
}

/// Why an auto-compaction setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutoCompactionError {
    /// The mode is neither `periodic` nor `revision`.
    #[error("unknown auto-compaction-mode {0:?}")]
    UnknownMode(String),
    /// The retention is neither a non-negative integer nor a Go duration.
    #[error("error parsing CompactionRetention: {0}")]
    BadRetention(String),
}

impl AutoCompaction {
    /// Reads etcd's two settings as etcd 3.4 does: an integer retention is
    /// hours (periodic) or revisions (revision); anything else must be a
    /// duration (`30m`, `1h30m`), which revision mode takes as a count of
    /// nanoseconds, as etcd does. A zero retention disables compaction
    /// (`None`). `parse_duration` is Go's `time.ParseDuration`.
    pub fn from_settings(
        mode: &str,
        retention: &str,
        parse_duration: impl Fn(&str) -> Result<Duration, String>,
    ) -> Result<Option<AutoCompaction>, AutoCompactionError> {
        let retention = retention.trim();
        let (hours_or_revisions, duration) = match retention.parse::<i64>() {
            Ok(n) if n >= 0 => (Some(n), None),
            _ => (
                None,
                Some(parse_duration(retention).map_err(AutoCompactionError::BadRetention)?),
            ),
        };
        let policy = match mode {
            "periodic" | "" => AutoCompaction::Periodic(match (hours_or_revisions, duration) {
                (Some(hours), _) => Duration::from_secs(hours.unsigned_abs() * 3600),
                (None, Some(duration)) => duration,
                (None, None) => Duration::ZERO,
            }),
            "revision" => AutoCompaction::Revision(match (hours_or_revisions, duration) {
                (Some(revisions), _) => revisions,
                (None, Some(duration)) => i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX),
                (None, None) => 0,
            }),
            other => return Err(AutoCompactionError::UnknownMode(other.to_string())),
        };
        let disabled = match policy {
            AutoCompaction::Periodic(window) => window.is_zero(),
            AutoCompaction::Revision(revisions) => revisions <= 0,
        };
        Ok((!disabled).then_some(policy))
    }
}

/// Runs `policy` for the member behind `node` until the node stops.
/// Revision mode checks every `revision_check_interval` (etcd:
/// [`REVISION_CHECK_INTERVAL`]).
pub async fn run(node: NodeHandle, policy: AutoCompaction, revision_check_interval: Duration) {
    match policy {
        AutoCompaction::Revision(keep) => run_revision(node, keep, revision_check_interval).await,
        AutoCompaction::Periodic(window) => run_periodic(node, window).await,
    }
}

async fn run_revision(node: NodeHandle, keep: i64, interval: Duration) {
    let mut previous = 0;
    loop {
        tokio::time::sleep(interval).await;
        let status = node.status();
        if status.stopped {
            return;
        }
        if status.leader_id != status.member_id {
            continue;
        }
        let revision = status.revision.saturating_sub(keep);
        if revision <= 0 || revision == previous {
            continue;
        }
        tracing::info!(
            revision,
            retention = keep,
            "starting auto revision compaction"
        );
        if compact(&node, revision).await {
            previous = revision;
        }
    }
}

async fn run_periodic(node: NodeHandle, window: Duration) {
    let compact_interval = window.min(MAX_COMPACT_INTERVAL);
    let retry_interval = compact_interval / RETRY_DIVISOR;
    // revisions[0] is the revision one window ago, once the window is full.
    let retentions = (window.as_nanos() / retry_interval.as_nanos().max(1)) as usize + 1;
    let mut revisions: VecDeque<i64> = VecDeque::with_capacity(retentions + 1);
    let mut last_success = tokio::time::Instant::now();
    let mut wait = window;
    loop {
        revisions.push_back(node.status().revision);
        if revisions.len() > retentions {
            revisions.pop_front();
        }
        tokio::time::sleep(retry_interval).await;
        let status = node.status();
        if status.stopped {
            return;
        }
        if status.leader_id != status.member_id || last_success.elapsed() < wait {
            continue;
        }
        wait = compact_interval;
        let Some(&revision) = revisions.front() else {
            continue;
        };
        tracing::info!(
            revision,
            compact_period = ?window,
            "starting auto periodic compaction"
        );
        if compact(&node, revision).await {
            last_success = tokio::time::Instant::now();
        }
    }
}

/// Proposes a compaction to `revision`; true when done (or already done).
async fn compact(node: &NodeHandle, revision: i64) -> bool {
    let request = Request::Compact(CompactionRequest {
        revision,
        physical: false,
    });
    match node.request(request).await {
        Ok(_) | Err(ApiError::Compacted { .. }) => {
            tracing::info!(revision, "completed auto compaction");
            true
        }
        Err(err) => {
            tracing::warn!(revision, %err, "failed auto compaction; retrying later");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Duration, String> {
        match text {
            "90m" => Ok(Duration::from_secs(5400)),
            "0s" => Ok(Duration::ZERO),
            _ => Err(format!("time: invalid duration {text:?}")),
        }
    }

    #[test]
    fn settings_are_read_as_etcd_reads_them() {
        let read = |mode, retention| AutoCompaction::from_settings(mode, retention, parse);
        assert_eq!(read("periodic", "0"), Ok(None));
        assert_eq!(read("revision", "0"), Ok(None));
        assert_eq!(read("periodic", "0s"), Ok(None));
        assert_eq!(
            read("periodic", "2"),
            Ok(Some(AutoCompaction::Periodic(Duration::from_secs(7200))))
        );
        assert_eq!(
            read("", "90m"),
            Ok(Some(AutoCompaction::Periodic(Duration::from_secs(5400))))
        );
        assert_eq!(
            read("revision", "1000"),
            Ok(Some(AutoCompaction::Revision(1000)))
        );
        assert_eq!(
            read("revision", "90m"),
            Ok(Some(AutoCompaction::Revision(5_400_000_000_000)))
        );
        assert_eq!(
            read("periodic", "-1"),
            Err(AutoCompactionError::BadRetention(
                "time: invalid duration \"-1\"".into()
            ))
        );
        assert_eq!(
            read("hourly", "1"),
            Err(AutoCompactionError::UnknownMode("hourly".into()))
        );
    }
}
