//! The cases Keel does not answer as etcd because it lacks the feature
//! they exercise, by group, with the reason. A `Sent` case is replayed and
//! must still differ from etcd's answer (when it starts to match, the
//! feature arrived: take it off this list); a `NotSent` case is skipped by
//! name because sending it to Keel would change Keel's state in a way
//! etcd's did not (a later case would then differ for no reason of its
//! own). `stand_in` keeps the store in step where etcd's answer wrote keys.

/// Whether a gap case is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Replayed; Keel's answer must still differ from etcd's.
    Sent,
    /// Not replayed: it would change Keel's state where etcd's did not.
    NotSent,
    /// Replayed and compared with the remaining TTL (`"TTL"`) blanked on
    /// both sides: which whole second a run sees depends on timing, so
    /// the known difference cannot be asserted either way.
    TtlBlanked,
}

/// One group of cases with the same missing feature.
pub struct Gap {
    /// Why Keel differs.
    pub reason: &'static str,
    /// How the group's cases are treated.
    pub handling: Handling,
    /// The cases (names in cases.json).
    pub cases: &'static [&'static str],
}

/// Every known gap.
pub const GAPS: &[Gap] = &[
    Gap {
        reason: "no v3lock service (/v3/lock/*) in Keel; stand-in writes keep the store in step",
        handling: Handling::Sent,
        cases: &[
            "lock_lock",
            "lock_bad_lease",
            "lock_unlock",
            "lock_unlock_missing",
            "lock_unlock_no_key",
            "lock_no_name",
            "lock_unlock_no_name",
        ],
    },
    Gap {
        reason: "no v3election service (/v3/election/*) in Keel; stand-in writes keep the store in step",
        handling: Handling::Sent,
        cases: &[
            "election_leader_none",
            "election_campaign",
            "election_leader",
            "election_proclaim_wrong_rev",
            "election_proclaim",
            "election_leader_after_proclaim",
            "election_observe",
            "election_proclaim_not_leader",
            "election_resign",
            "election_resign_again",
            "election_leader_after_resign",
        ],
    },
    Gap {
        reason: "the snapshot streams Keel's backup format, not etcd's bbolt file: the blobs differ",
        handling: Handling::Sent,
        cases: &["maintenance_snapshot"],
    },
    Gap {
        reason: "no WebSocket upgrade (grpc-websocket-proxy) on /v3/ in Keel",
        handling: Handling::Sent,
        cases: &["ka_websocket_upgrade"],
    },
    Gap {
        reason: "Keel's engine refuses negative lease ids (etcd grants lease -1), so lists lack it",
        handling: Handling::Sent,
        cases: &[
            "lease_grant_negative_id",
            "lease_leases_after_revoke",
            "v3beta_lease_leases",
        ],
    },
    Gap {
        reason: "Keel lists leases by id, etcd by expiry (soonest first)",
        handling: Handling::Sent,
        cases: &[
            "lease_leases",
            "lease_leases_kv_alias",
            "lease_leases_no_body",
        ],
    },
    Gap {
        reason: "the remaining whole seconds depend on when the case runs (Keel, like \
                 etcd, truncates: 999 right after a keep-alive; a slow run sees 998)",
        handling: Handling::TtlBlanked,
        cases: &[
            "lease_timetolive",
            "lease_timetolive_keys",
            "lease_timetolive_kv_alias",
        ],
    },
    Gap {
        reason: "Keel's engine does not keep an activated alarm of type NONE (etcd stores it: \
                 status errors, /health 503, deactivation lists it)",
        handling: Handling::Sent,
        cases: &[
            "maintenance_alarm_list_none_raised",
            "maintenance_status_none_raised",
            "health_alarm_none_raised",
            "maintenance_alarm_deactivate_none",
        ],
    },
    Gap {
        reason: "etcd 3.4 bug: updating a learner's peer URLs drops its isLearner flag",
        handling: Handling::Sent,
        cases: &["member_update_learner", "member_list_after_update"],
    },
    Gap {
        reason: "etcd refuses membership changes while a voting member is not connected \
                 ('unhealthy cluster'); Keel would add the learner",
        handling: Handling::NotSent,
        cases: &["cluster_member_add_learner_unhealthy"],
    },
];

/// The gap a case belongs to, if any.
pub fn gap_of(name: &str) -> Option<&'static Gap> {
    GAPS.iter().find(|gap| gap.cases.contains(&name))
}

/// The plain KV writes (path, body) that leave Keel's store as etcd's was
/// after gap case `name` (its lock, election or authenticated put wrote
/// keys), so that later revisions and ranges stay comparable.
pub fn stand_in(name: &str) -> Vec<(&'static str, &'static str)> {
    // "mylock/1234", "/1234", "myelection/1234": etcd's keys for lease
    // 4660 (0x1234); "v1"/"v2": the campaign and proclaim values.
    match name {
        "lock_lock" => vec![("/v3/kv/put", r#"{"key":"bXlsb2NrLzEyMzQ=","lease":"4660"}"#)],
        "lock_unlock" => vec![("/v3/kv/deleterange", r#"{"key":"bXlsb2NrLzEyMzQ="}"#)],
        "lock_no_name" => vec![("/v3/kv/put", r#"{"key":"LzEyMzQ=","lease":"4660"}"#)],
        "lock_unlock_no_name" => vec![("/v3/kv/deleterange", r#"{"key":"LzEyMzQ="}"#)],
        "election_campaign" => vec![(
            "/v3/kv/put",
            r#"{"key":"bXllbGVjdGlvbi8xMjM0","value":"djE=","lease":"4660"}"#,
        )],
        "election_proclaim" => vec![(
            "/v3/kv/put",
            r#"{"key":"bXllbGVjdGlvbi8xMjM0","value":"djI=","lease":"4660"}"#,
        )],
        "election_resign" => vec![("/v3/kv/deleterange", r#"{"key":"bXllbGVjdGlvbi8xMjM0"}"#)],
        _ => Vec::new(),
    }
}
