//! Lease requests: grant, revoke, keep-alive, time-to-live, list.
//!
//! A lease is a TTL the cluster counts down; keys attached to it (`put
//! --lease`) are deleted, at one revision, when it is revoked or expires.
//! Expiry is decided by the leader alone and applied through raft, so every
//! member deletes the same keys at the same revision.

use super::ResponseHeader;
use bytes::Bytes;

/// The largest TTL a lease may have, in seconds (etcd's `MaxLeaseTTL`).
pub const MAX_LEASE_TTL_SECONDS: i64 = 9_000_000_000;

/// Grants a lease of `ttl_seconds`; with `id` 0 the cluster picks the id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseGrantRequest {
    /// Requested TTL in seconds; raised to the cluster's minimum if lower.
    pub ttl_seconds: i64,
    /// Requested id, or 0 to let the cluster choose one.
    pub id: i64,
}

/// The granted lease.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseGrantResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// The lease's id (never 0).
    pub id: i64,
    /// The TTL granted, in seconds.
    pub ttl_seconds: i64,
}

/// Revokes a lease and deletes every key attached to it, at one revision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseRevokeRequest {
    /// The lease.
    pub id: i64,
}

/// Result of a revoke.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseRevokeResponse {
    /// Response metadata; its revision is the deletion's (or the current
    /// one if no key was attached).
    pub header: ResponseHeader,
}

/// Restarts a lease's countdown at its full TTL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseKeepAliveRequest {
    /// The lease.
    pub id: i64,
}

/// Result of a keep-alive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseKeepAliveResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// The lease.
    pub id: i64,
    /// The TTL the countdown restarted from, in seconds.
    pub ttl_seconds: i64,
}

/// Asks how long a lease has left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaseTimeToLiveRequest {
    /// The lease.
    pub id: i64,
    /// Also list the keys attached to it.
    pub keys: bool,
}

/// A lease's remaining time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseTimeToLiveResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// The lease.
    pub id: i64,
    /// Seconds left (rounded up), or -1 if the lease does not exist.
    pub ttl_seconds: i64,
    /// The TTL it was granted with, in seconds (0 if it does not exist).
    pub granted_ttl_seconds: i64,
    /// Keys attached to it, in key order, if asked for.
    pub keys: Vec<Bytes>,
}

/// The leases that exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseLeasesResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// Their ids, ascending.
    pub leases: Vec<i64>,
}
