//! The replicated part of leases: which leases exist, their TTLs, the keys
//! attached to each, and the facts the leader's expiry decisions are checked
//! against. Time is not here: counting a TTL down is the node's job
//! (`node::lease_clock`); this table changes only when an entry applies, so
//! every member holds the same one.
//!
//! Stored in the backend's `leases` tree, one row per lease:
//!
//! ```text
//! key:   id i64 (big-endian)
//! value: 0x01 | ttl_seconds i64 | remaining_ttl_seconds i64 | refreshed_index u64
//! ```
//!
//! Attached keys are not stored: each key's record names its lease, and the
//! table is rebuilt from the live records when the store opens.

use super::error::KvError;
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::{BTreeMap, BTreeSet};

const LEASE_ROW_VERSION: u8 = 1;
const LEASE_ROW_BYTES: usize = 1 + 8 + 8 + 8;

/// One lease as every member knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The lease's id (never 0).
    pub id: i64,
    /// The TTL it was granted with, in seconds.
    pub ttl_seconds: i64,
    /// The remaining TTL the leader last checkpointed, in seconds; 0 when
    /// the countdown restarted since (grant or keep-alive). A member that
    /// opens its store counts down from this rather than the full TTL.
    pub remaining_ttl_seconds: i64,
    /// Raft index of the grant or latest keep-alive. An expiry decided at an
    /// index below this lost a race with a keep-alive and does nothing.
    pub refreshed_index: u64,
}

impl Lease {
    /// The lease's row in the `leases` tree.
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(LEASE_ROW_BYTES);
        buf.put_u8(LEASE_ROW_VERSION);
        buf.put_i64(self.ttl_seconds);
        buf.put_i64(self.remaining_ttl_seconds);
        buf.put_u64(self.refreshed_index);
        buf.freeze()
    }

    /// Decodes a row written by [`Lease::encode`] under key `key`.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Lease, KvError> {
        let bad = |what: &str| KvError::Corrupt(format!("lease row: {what}"));
        let id = i64::from_be_bytes(key.try_into().map_err(|_| bad("key length"))?);
        if value.len() != LEASE_ROW_BYTES || value[0] != LEASE_ROW_VERSION {
            return Err(bad("length or version"));
        }
        let field = |at: usize| -> Result<[u8; 8], KvError> {
            value[at..at + 8].try_into().map_err(|_| bad("field"))
        };
        let lease = Lease {
            id,
            ttl_seconds: i64::from_be_bytes(field(1)?),
            remaining_ttl_seconds: i64::from_be_bytes(field(9)?),
            refreshed_index: u64::from_be_bytes(field(17)?),
        };
        if id == 0 || lease.ttl_seconds <= 0 || lease.remaining_ttl_seconds < 0 {
            return Err(bad("values out of range"));
        }
        Ok(lease)
    }

    /// The row key of lease `id`.
    pub fn row_key(id: i64) -> Bytes {
        Bytes::copy_from_slice(&id.to_be_bytes())
    }
}

/// Every lease and the keys attached to each.
#[derive(Debug, Default)]
pub struct LeaseTable {
    leases: BTreeMap<i64, Lease>,
    keys: BTreeMap<i64, BTreeSet<Bytes>>,
    /// The lease of each live key that has one.
    key_lease: BTreeMap<Bytes, i64>,
}

impl LeaseTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a lease read back from the store or just granted.
    pub fn insert(&mut self, lease: Lease) {
        self.leases.insert(lease.id, lease);
    }

    /// The lease `id`, if it exists.
    pub fn get(&self, id: i64) -> Option<&Lease> {
        self.leases.get(&id)
    }

    /// Mutable access to lease `id`, if it exists.
    pub fn get_mut(&mut self, id: i64) -> Option<&mut Lease> {
        self.leases.get_mut(&id)
    }

    /// Whether lease `id` exists.
    pub fn contains(&self, id: i64) -> bool {
        self.leases.contains_key(&id)
    }

    /// Every lease, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Lease> {
        self.leases.values()
    }

    /// How many leases exist.
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// Whether no lease exists.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    /// Removes lease `id`, returning the keys that were attached to it (in
    /// key order). Those keys are no longer attached to anything.
    pub fn remove(&mut self, id: i64) -> Vec<Bytes> {
        self.leases.remove(&id);
        let keys: Vec<Bytes> = self
            .keys
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .collect();
        for key in &keys {
            self.key_lease.remove(key);
        }
        keys
    }

    /// The keys attached to lease `id`, in key order.
    pub fn keys_of(&self, id: i64) -> Vec<Bytes> {
        self.keys
            .get(&id)
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Records that `key` now carries `lease` (0: none), detaching it from
    /// the lease it carried before.
    pub fn attach(&mut self, key: &Bytes, lease: i64) {
        self.detach(key);
        if lease != 0 {
            self.key_lease.insert(key.clone(), lease);
            self.keys.entry(lease).or_default().insert(key.clone());
        }
    }

    /// Records that `key` was deleted.
    pub fn detach(&mut self, key: &[u8]) {
        if let Some(old) = self.key_lease.remove(key) {
            if let Some(set) = self.keys.get_mut(&old) {
                set.remove(key);
                if set.is_empty() {
                    self.keys.remove(&old);
                }
            }
        }
    }

    /// Checks what the store rebuilt: every attached key's lease exists.
    pub fn check_attachments(&self) -> Result<(), KvError> {
        match self.keys.keys().find(|id| !self.leases.contains_key(id)) {
            Some(id) => Err(KvError::Corrupt(format!(
                "keys are attached to lease {id:016x}, which does not exist"
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lease(id: i64) -> Lease {
        Lease {
            id,
            ttl_seconds: 10,
            remaining_ttl_seconds: 0,
            refreshed_index: 3,
        }
    }

    #[test]
    fn rows_round_trip_and_damage_is_refused() {
        let l = Lease {
            id: 0x694d_0000_0000_0007,
            ttl_seconds: 60,
            remaining_ttl_seconds: 17,
            refreshed_index: 99,
        };
        let row = l.encode();
        assert_eq!(Lease::decode(&Lease::row_key(l.id), &row).unwrap(), l);
        for cut in 0..row.len() {
            assert!(Lease::decode(&Lease::row_key(l.id), &row[..cut]).is_err());
        }
        assert!(Lease::decode(b"short", &row).is_err());
        assert!(Lease::decode(&Lease::row_key(0), &row).is_err(), "id 0");
        let mut bad_version = row.to_vec();
        bad_version[0] = 9;
        assert!(Lease::decode(&Lease::row_key(l.id), &bad_version).is_err());
    }

    #[test]
    fn re_attaching_a_key_moves_it_and_removal_returns_its_keys() {
        let mut t = LeaseTable::new();
        t.insert(lease(1));
        t.insert(lease(2));
        let (a, b) = (Bytes::from_static(b"a"), Bytes::from_static(b"b"));
        t.attach(&a, 1);
        t.attach(&b, 1);
        t.attach(&a, 2);
        assert_eq!(t.keys_of(1), vec![b.clone()]);
        assert_eq!(t.keys_of(2), vec![a.clone()]);
        t.attach(&b, 0);
        assert!(t.keys_of(1).is_empty());
        assert_eq!(t.remove(2), vec![a.clone()]);
        assert!(!t.contains(2));
        t.detach(&a); // no longer attached: nothing happens
        assert!(t.check_attachments().is_ok());
        t.attach(&b, 7);
        assert!(t.check_attachments().is_err(), "lease 7 does not exist");
    }

    proptest! {
        /// Against a model: key -> lease, with attachments derived from it.
        #[test]
        fn attachments_follow_a_key_to_lease_model(
            ops in prop::collection::vec((0u8..6, 0i64..4, any::<bool>()), 0..64)
        ) {
            let mut t = LeaseTable::new();
            let mut model: BTreeMap<Bytes, i64> = BTreeMap::new();
            for id in 1..4 {
                t.insert(lease(id));
            }
            for (key, lease_id, delete) in ops {
                let key = Bytes::from(vec![b'k', key]);
                if delete {
                    t.detach(&key);
                    model.remove(&key);
                } else {
                    t.attach(&key, lease_id);
                    if lease_id == 0 { model.remove(&key); } else { model.insert(key, lease_id); }
                }
            }
            for id in 1..4 {
                let expected: Vec<Bytes> =
                    model.iter().filter(|(_, l)| **l == id).map(|(k, _)| k.clone()).collect();
                prop_assert_eq!(t.keys_of(id), expected);
            }
        }
    }
}
