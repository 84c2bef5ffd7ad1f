//! The Lease service: grant, revoke, keep-alive, time-to-live, list.

use super::ResponseHeader;

message! {
    /// Grants a lease.
    pub struct LeaseGrantRequest = "etcdserverpb.LeaseGrantRequest" {
        1 => ttl: int64 as "TTL",
        2 => id: int64 as "ID",
    }
}

message! {
    /// The granted lease.
    pub struct LeaseGrantResponse = "etcdserverpb.LeaseGrantResponse" {
        1 => header: message<ResponseHeader>,
        2 => id: int64 as "ID",
        3 => ttl: int64 as "TTL",
        4 => error: string,
    }
}

message! {
    /// Revokes a lease.
    pub struct LeaseRevokeRequest = "etcdserverpb.LeaseRevokeRequest" {
        1 => id: int64 as "ID",
    }
}

message! {
    /// Result of a revoke.
    pub struct LeaseRevokeResponse = "etcdserverpb.LeaseRevokeResponse" {
        1 => header: message<ResponseHeader>,
    }
}

message! {
    /// A lease's remaining TTL, as a leader checkpoints it.
    pub struct LeaseCheckpoint = "etcdserverpb.LeaseCheckpoint" {
        1 => id: int64 as "ID",
        2 => remaining_ttl: int64 as "remaining_TTL",
    }
}

message! {
    /// Checkpoints of several leases (etcd's internal request).
    pub struct LeaseCheckpointRequest = "etcdserverpb.LeaseCheckpointRequest" {
        1 => checkpoints: repeated_message<LeaseCheckpoint>,
    }
}

message! {
    /// Restarts a lease's countdown.
    pub struct LeaseKeepAliveRequest = "etcdserverpb.LeaseKeepAliveRequest" {
        1 => id: int64 as "ID",
    }
}

message! {
    /// Result of a keep-alive (TTL 0: the lease is gone).
    pub struct LeaseKeepAliveResponse = "etcdserverpb.LeaseKeepAliveResponse" {
        1 => header: message<ResponseHeader>,
        2 => id: int64 as "ID",
        3 => ttl: int64 as "TTL",
    }
}

message! {
    /// Asks how long a lease has left.
    pub struct LeaseTimeToLiveRequest = "etcdserverpb.LeaseTimeToLiveRequest" {
        1 => id: int64 as "ID",
        2 => keys: bool,
    }
}

message! {
    /// A lease's remaining time (TTL -1: the lease is gone).
    pub struct LeaseTimeToLiveResponse = "etcdserverpb.LeaseTimeToLiveResponse" {
        1 => header: message<ResponseHeader>,
        2 => id: int64 as "ID",
        3 => ttl: int64 as "TTL",
        4 => granted_ttl: int64 as "grantedTTL",
        5 => keys: repeated_bytes,
    }
}

message! {
    /// Lists the leases.
    pub struct LeaseLeasesRequest = "etcdserverpb.LeaseLeasesRequest" {}
}

message! {
    /// One lease of a list.
    pub struct LeaseStatus = "etcdserverpb.LeaseStatus" {
        1 => id: int64 as "ID",
    }
}

message! {
    /// The leases that exist.
    pub struct LeaseLeasesResponse = "etcdserverpb.LeaseLeasesResponse" {
        1 => header: message<ResponseHeader>,
        2 => leases: repeated_message<LeaseStatus>,
    }
}
