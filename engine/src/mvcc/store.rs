//! The multi-version key-value store: etcd's data model over the backend.
//!
//! Every write request gets the next store revision; each key version is
//! stored under its revision in the `kv` tree, and the in-memory
//! [`KeyIndex`] maps keys to their revisions. Reads at a past revision work
//! until compaction drops that history.
//!
//! Everything here runs when a raft entry is applied, on every member, so it
//! must be deterministic: no configuration-dependent checks, no clocks, no
//! hash-map iteration.

use super::backend::{Backend, Tree};
use super::error::KvError;
use super::key_index::{Generation, KeyIndex};
use super::key_range::KeyRange;
use super::lease::{Lease, LeaseTable};
use super::record::Record;
use super::revision::Revision;
use super::txn::{check_delete, check_put, check_range, compare_holds};
use crate::api::*;
use bytes::Bytes;
use std::cmp::Ordering;
use std::ops::{Bound, ControlFlow};

/// Meta-tree key of the revision the store is compacted to.
const META_COMPACT_REVISION: &[u8] = b"compact_revision";

/// The key-value state machine.
#[derive(Debug)]
pub struct KvStore {
    backend: Backend,
    index: KeyIndex,
    revision: i64,
    compact_revision: i64,
    leases: LeaseTable,
}

/// The revision a write request is being applied at.
struct WriteCtx {
    main: i64,
    sub: i64,
}

impl WriteCtx {
    /// Reads inside a txn see the txn's own earlier writes.
    fn read_revision(&self) -> i64 {
        if self.sub > 0 {
            self.main
        } else {
            self.main - 1
        }
    }

    fn next(&mut self) -> Revision {
        let rev = Revision::new(self.main, self.sub);
        self.sub += 1;
        rev
    }
}

impl KvStore {
    /// Opens the store over `backend`, rebuilding the key index from the
    /// `kv` tree. A fresh store is at revision 1, as etcd's is.
    pub fn open(backend: Backend) -> Result<KvStore, KvError> {
        let compact_revision = match backend.get(Tree::Meta, META_COMPACT_REVISION)? {
            Some(raw) => decode_i64(&raw).ok_or_else(|| corrupt("compact revision"))?,
            None => 0,
        };
        let mut index = KeyIndex::new();
        let mut revision = 1;
        let mut leases = LeaseTable::new();
        backend.scan(
            Tree::Leases,
            (Bound::Unbounded, Bound::Unbounded),
            false,
            |k, v| {
                leases.insert(Lease::decode(k, v)?);
                Ok(ControlFlow::Continue(()))
            },
        )?;
        backend.scan(
            Tree::Kv,
            (Bound::Unbounded, Bound::Unbounded),
            false,
            |k, v| {
                let rev = Revision::from_bytes(k).ok_or_else(|| corrupt("kv tree key"))?;
                match decode_record(v)? {
                    Record::Put(kv) => {
                        index.put_in(
                            &kv.key,
                            rev,
                            Generation {
                                create_revision: kv.create_revision,
                                version: kv.version,
                            },
                        );
                        leases.attach(&kv.key, kv.lease);
                    }
                    Record::Tombstone { key, .. } => {
                        if index.latest(&key, rev.main).is_none() {
                            return Err(corrupt("tombstone of a key that is not alive"));
                        }
                        index.tombstone(&key, rev);
                        leases.detach(&key);
                    }
                }
                revision = revision.max(rev.main);
                Ok(ControlFlow::Continue(()))
            },
        )?;
        leases.check_attachments()?;
        Ok(KvStore {
            backend,
            index,
            // A compaction may have dropped the newest revision (a delete).
            revision: revision.max(compact_revision),
            compact_revision,
            leases,
        })
    }

    /// The store's current revision.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Keys that exist now.
    pub fn live_keys(&self) -> usize {
        self.index.live_len()
    }

    /// The revision history is compacted to (reads below it fail).
    pub fn compact_revision(&self) -> i64 {
        self.compact_revision
    }

    /// The backend, for the state machine's own trees and checkpoints.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Mutable access to the backend, for the state machine's own trees.
    pub fn backend_mut(&mut self) -> &mut Backend {
        &mut self.backend
    }

    /// Reads keys as [`RangeRequest`] describes.
    pub fn range(&self, req: &RangeRequest) -> Result<RangeResponse, KvError> {
        check_range(req)?;
        let at = self.read_revision(req.revision, self.revision)?;
        self.range_at(req, at, self.revision)
    }

    /// Writes one key at a new revision.
    pub fn put(&mut self, req: &PutRequest) -> Result<PutResponse, KvError> {
        check_put(req)?;
        self.check_put_state(req, self.revision)?;
        let mut w = self.begin();
        let resp = self.exec_put(&mut w, req)?;
        self.commit(w);
        Ok(resp)
    }

    /// Deletes keys; a delete that removes nothing does not bump the revision.
    pub fn delete_range(
        &mut self,
        req: &DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse, KvError> {
        check_delete(req)?;
        let mut w = self.begin();
        let resp = self.exec_delete(&mut w, req)?;
        self.commit(w);
        Ok(resp)
    }

    /// Runs a txn atomically at one revision. All compares, nested ones
    /// included, are evaluated against the state before the txn, as etcd
    /// does; the chosen operations are checked before any runs, so a failing
    /// txn changes nothing.
    pub fn txn(&mut self, req: &TxnRequest) -> Result<TxnResponse, KvError> {
        super::txn::check_txn(req, usize::MAX)?;
        let start = self.revision;
        let mut path = Vec::new();
        self.plan_txn(req, start, &mut path)?;
        self.check_txn_path(req, start, &mut path.iter().copied())?;
        let mut w = self.begin();
        let resp = self.exec_txn(&mut w, req, &mut path.iter().copied())?;
        self.commit(w);
        Ok(resp)
    }

    /// Runs a txn that only reads (no puts or deletes on any path), without
    /// taking the store mutably.
    pub fn read_txn(&self, req: &TxnRequest) -> Result<TxnResponse, KvError> {
        super::txn::check_txn(req, usize::MAX)?;
        let at = self.revision;
        let mut path = Vec::new();
        self.plan_txn(req, at, &mut path)?;
        self.check_txn_path(req, at, &mut path.iter().copied())?;
        self.read_txn_path(req, at, &mut path.iter().copied())
    }

    fn read_txn_path(
        &self,
        req: &TxnRequest,
        at: i64,
        path: &mut impl Iterator<Item = bool>,
    ) -> Result<TxnResponse, KvError> {
        let succeeded = path.next().ok_or_else(|| corrupt("txn plan too short"))?;
        let mut responses = Vec::new();
        for op in if succeeded {
            &req.success
        } else {
            &req.failure
        } {
            responses.push(match op {
                RequestOp::Range(r) => {
                    let read_at = if r.revision > 0 { r.revision } else { at };
                    ResponseOp::Range(self.range_at(r, read_at, at)?)
                }
                RequestOp::Txn(t) => ResponseOp::Txn(self.read_txn_path(t, at, path)?),
                RequestOp::Put(_) | RequestOp::DeleteRange(_) => {
                    return Err(
                        ApiError::BadRequest("read_txn given a txn that writes".into()).into(),
                    );
                }
            });
        }
        Ok(TxnResponse {
            header: header_at(at),
            succeeded,
            responses,
        })
    }

    /// Drops history below `revision`: reads at `revision` and later still
    /// work, reads before it fail with `Compacted`.
    pub fn compact(&mut self, revision: i64) -> Result<CompactionResponse, KvError> {
        if revision <= self.compact_revision {
            return Err(ApiError::Compacted {
                compact_revision: self.compact_revision,
            }
            .into());
        }
        if revision > self.revision {
            return Err(ApiError::FutureRevision.into());
        }
        for rev in self.index.compact(revision) {
            self.backend.delete(Tree::Kv, &rev.to_bytes());
        }
        self.compact_revision = revision;
        self.backend.put(
            Tree::Meta,
            Bytes::from_static(META_COMPACT_REVISION),
            Bytes::copy_from_slice(&revision.to_be_bytes()),
        );
        Ok(CompactionResponse {
            header: self.header(),
        })
    }

    /// A hash of every stored key version up to `revision` (0: the latest):
    /// members with the same history and compaction agree on it.
    pub fn hash_kv(&self, revision: i64) -> Result<HashKvResponse, KvError> {
        let at = self.read_revision(revision, self.revision)?;
        let mut hasher = crc32fast::Hasher::new();
        let upper = Revision::start_of(at + 1).to_bytes();
        let bounds = (Bound::Unbounded, Bound::Excluded(&upper[..]));
        self.backend.scan(Tree::Kv, bounds, false, |k, v| {
            hasher.update(k);
            hasher.update(v);
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(HashKvResponse {
            header: self.header(),
            hash: hasher.finalize(),
            compact_revision: self.compact_revision,
        })
    }

    /// The changes to keys in `range` from revision `from` on, read from
    /// the revision-ordered history (never a scan of the keys), at most
    /// about `max_events` of them or `max_bytes` of keys and values: a
    /// revision (a txn) is never split, so the last one may go over. `from` below the compaction point fails
    /// with `Compacted` (etcd cancels such a watch with the compact
    /// revision); `from` of 0 or less means "after the current revision".
    pub fn changes(
        &self,
        range: &KeyRange,
        from: i64,
        max_events: usize,
        max_bytes: usize,
        with_prev_kv: bool,
    ) -> Result<Changes, KvError> {
        let from = if from <= 0 { self.revision + 1 } else { from };
        if from < self.compact_revision {
            return Err(KvError::Api(ApiError::Compacted {
                compact_revision: self.compact_revision,
            }));
        }
        let mut events = Vec::new();
        // A start beyond the current revision waits there (etcd allows
        // watching the future).
        let mut next_revision = (self.revision + 1).max(from);
        let start = Revision::start_of(from).to_bytes();
        let mut last_main = 0;
        let mut bytes = 0usize;
        self.backend.scan(
            Tree::Kv,
            (Bound::Included(&start[..]), Bound::Unbounded),
            false,
            |raw_rev, raw| {
                let rev = Revision::from_bytes(raw_rev).ok_or_else(|| {
                    KvError::Corrupt(format!("kv tree key of {} bytes", raw_rev.len()))
                })?;
                if rev.main != last_main && (events.len() >= max_events || bytes >= max_bytes) {
                    next_revision = rev.main;
                    return Ok(ControlFlow::Break(()));
                }
                last_main = rev.main;
                let record = decode_record(raw)?;
                if !range.contains(record.key()) {
                    return Ok(ControlFlow::Continue(()));
                }
                let prev_kv = if with_prev_kv {
                    self.read_key(record.key(), rev.main - 1)?
                } else {
                    None
                };
                bytes += raw.len()
                    + prev_kv
                        .as_ref()
                        .map_or(0, |kv| kv.key.len() + kv.value.len());
                events.push(match record {
                    Record::Put(kv) => Event {
                        kind: EventKind::Put,
                        kv,
                        prev_kv,
                    },
                    Record::Tombstone { key, mod_revision } => Event {
                        kind: EventKind::Delete,
                        kv: KeyValue {
                            key,
                            mod_revision,
                            ..KeyValue::default()
                        },
                        prev_kv,
                    },
                });
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(Changes {
            events,
            next_revision,
        })
    }

    /// Grants a lease at raft index `index`. With `req.id` 0 the lease gets
    /// `auto_id`, or the next free id after it. The TTL must be positive
    /// and at most [`MAX_LEASE_TTL_SECONDS`] (the proposer raises it to the
    /// cluster's minimum first).
    pub fn lease_grant(
        &mut self,
        req: &LeaseGrantRequest,
        index: u64,
        auto_id: i64,
    ) -> Result<LeaseGrantResponse, KvError> {
        if req.ttl_seconds > MAX_LEASE_TTL_SECONDS {
            return Err(ApiError::LeaseTtlTooLarge.into());
        }
        if req.ttl_seconds <= 0 || req.id < 0 {
            return Err(ApiError::BadRequest("lease TTL and id must be positive".into()).into());
        }
        let id = if req.id != 0 {
            if self.leases.contains(req.id) {
                return Err(ApiError::LeaseExists.into());
            }
            req.id
        } else {
            let mut id = auto_id.max(1);
            while self.leases.contains(id) {
                id = id.checked_add(1).unwrap_or(1);
            }
            id
        };
        let lease = Lease {
            id,
            ttl_seconds: req.ttl_seconds,
            remaining_ttl_seconds: 0,
            refreshed_index: index,
        };
        self.store_lease(lease);
        Ok(LeaseGrantResponse {
            header: self.header(),
            id,
            ttl_seconds: lease.ttl_seconds,
        })
    }

    /// Revokes lease `id`: deletes every key attached to it at one new
    /// revision (none if no key is attached), then the lease.
    pub fn lease_revoke(&mut self, id: i64) -> Result<LeaseRevokeResponse, KvError> {
        if !self.leases.contains(id) {
            return Err(ApiError::LeaseNotFound.into());
        }
        let keys = self.leases.remove(id);
        self.backend.delete(Tree::Leases, &Lease::row_key(id));
        let mut w = self.begin();
        for key in keys {
            let delete = DeleteRangeRequest {
                key,
                ..DeleteRangeRequest::default()
            };
            self.exec_delete(&mut w, &delete)?;
        }
        self.commit(w);
        Ok(LeaseRevokeResponse {
            header: self.header(),
        })
    }

    /// Restarts lease `id`'s countdown as of raft index `index`.
    pub fn lease_keep_alive(
        &mut self,
        id: i64,
        index: u64,
    ) -> Result<LeaseKeepAliveResponse, KvError> {
        let Some(lease) = self.leases.get_mut(id) else {
            return Err(ApiError::LeaseNotFound.into());
        };
        lease.refreshed_index = index;
        lease.remaining_ttl_seconds = 0;
        let lease = *lease;
        self.store_lease(lease);
        Ok(LeaseKeepAliveResponse {
            header: self.header(),
            id,
            ttl_seconds: lease.ttl_seconds,
        })
    }

    /// The leader found lease `id` expired when it had applied
    /// `decided_index`. Revokes it unless a keep-alive applied after that
    /// index (then the expiry lost the race and nothing changes: `None`).
    pub fn lease_expire(
        &mut self,
        id: i64,
        decided_index: u64,
    ) -> Result<Option<LeaseRevokeResponse>, KvError> {
        match self.leases.get(id) {
            None => Err(ApiError::LeaseNotFound.into()),
            Some(lease) if lease.refreshed_index > decided_index => Ok(None),
            Some(_) => self.lease_revoke(id).map(Some),
        }
    }

    /// Records the leader's remaining TTLs (seconds), measured when it had
    /// applied `decided_index`, so a member that restarts does not count
    /// them from the full TTL again. Unknown leases, and leases kept alive
    /// after `decided_index`, are skipped; values are kept within 1..=ttl.
    pub fn lease_checkpoint(&mut self, decided_index: u64, remaining: &[(i64, i64)]) {
        for &(id, left) in remaining {
            let lease = self.leases.get_mut(id);
            if let Some(lease) = lease.filter(|l| l.refreshed_index <= decided_index) {
                lease.remaining_ttl_seconds = left.clamp(1, lease.ttl_seconds);
                let lease = *lease;
                self.store_lease(lease);
            }
        }
    }

    /// Lease `id`, if it exists.
    pub fn lease(&self, id: i64) -> Option<Lease> {
        self.leases.get(id).copied()
    }

    /// Every lease, by id.
    pub fn leases(&self) -> Vec<Lease> {
        self.leases.iter().copied().collect()
    }

    /// The keys attached to lease `id`, in key order.
    pub fn lease_keys(&self, id: i64) -> Vec<Bytes> {
        self.leases.keys_of(id)
    }

    fn store_lease(&mut self, lease: Lease) {
        self.leases.insert(lease);
        self.backend
            .put(Tree::Leases, Lease::row_key(lease.id), lease.encode());
    }

    fn header(&self) -> ResponseHeader {
        header_at(self.revision)
    }

    /// The revision a read asks for, checked against history: `requested`
    /// of 0 or less means `current`.
    fn read_revision(&self, requested: i64, current: i64) -> Result<i64, ApiError> {
        if requested > current {
            return Err(ApiError::FutureRevision);
        }
        let at = if requested <= 0 { current } else { requested };
        if at < self.compact_revision {
            return Err(ApiError::Compacted {
                compact_revision: self.compact_revision,
            });
        }
        Ok(at)
    }

    fn begin(&self) -> WriteCtx {
        WriteCtx {
            main: self.revision + 1,
            sub: 0,
        }
    }

    fn commit(&mut self, w: WriteCtx) {
        if w.sub > 0 {
            self.revision = w.main;
        }
    }

    /// The version of `key` visible at `at`, if the key existed then.
    fn read_key(&self, key: &[u8], at: i64) -> Result<Option<KeyValue>, KvError> {
        match self.index.latest(key, at) {
            Some(rev) => self.kv_at(rev).map(Some),
            None => Ok(None),
        }
    }

    /// The key version stored at `rev`, which the index says is a put.
    fn kv_at(&self, rev: Revision) -> Result<KeyValue, KvError> {
        let raw = self
            .backend
            .get(Tree::Kv, &rev.to_bytes())?
            .ok_or_else(|| KvError::Corrupt(format!("revision {rev} is indexed but not stored")))?;
        match decode_record(&raw)? {
            Record::Put(kv) => Ok(kv),
            Record::Tombstone { .. } => Err(KvError::Corrupt(format!(
                "revision {rev} is indexed as a put but stored as a delete"
            ))),
        }
    }

    /// Reads at `at`; the header carries `current`, the revision the reader
    /// sees as latest (etcd answers with the current revision, not `at`).
    fn range_at(
        &self,
        req: &RangeRequest,
        at: i64,
        current: i64,
    ) -> Result<RangeResponse, KvError> {
        let range = KeyRange::new(&req.key, &req.range_end);
        let count = self.index.count(&range, at) as i64;
        let mut resp = RangeResponse {
            header: header_at(current),
            kvs: Vec::new(),
            more: false,
            count,
        };
        if req.count_only {
            return Ok(resp);
        }
        let filtered = req.min_mod_revision != 0
            || req.max_mod_revision != 0
            || req.min_create_revision != 0
            || req.max_create_revision != 0;
        let limit = usize::try_from(req.limit).unwrap_or(0);
        // Without sorting or filters, one key past the limit tells `more`.
        let fetch = if limit == 0 || req.sort_order != SortOrder::None || filtered {
            usize::MAX
        } else {
            limit + 1
        };
        let mut revs = Vec::new();
        self.index.visit(&range, at, |_, rev| {
            revs.push(rev);
            if revs.len() >= fetch {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        for rev in revs {
            let kv = self.kv_at(rev)?;
            if passes_filters(req, &kv) {
                resp.kvs.push(kv);
            }
        }
        sort_kvs(&mut resp.kvs, req.sort_order, req.sort_target);
        if limit > 0 && resp.kvs.len() > limit {
            resp.kvs.truncate(limit);
            resp.more = true;
        }
        if req.keys_only {
            for kv in &mut resp.kvs {
                kv.value = Bytes::new();
            }
        }
        Ok(resp)
    }

    /// Checks a put against the state at `at`: its lease exists, and a key it
    /// keeps the value or lease of exists.
    fn check_put_state(&self, req: &PutRequest, at: i64) -> Result<(), ApiError> {
        if req.lease != 0 && !self.leases.contains(req.lease) {
            return Err(ApiError::LeaseNotFound);
        }
        if (req.ignore_value || req.ignore_lease) && self.index.latest(&req.key, at).is_none() {
            return Err(ApiError::KeyNotFound);
        }
        Ok(())
    }

    fn exec_put(&mut self, w: &mut WriteCtx, req: &PutRequest) -> Result<PutResponse, KvError> {
        // The previous value is read only when the request needs it: the
        // index knows the create revision and version (a txn never writes
        // a key twice, so the newest change is the one visible to it).
        let prev = if req.prev_kv || req.ignore_value || req.ignore_lease {
            self.read_key(&req.key, w.read_revision())?
        } else {
            None
        };
        let (value, lease) = match &prev {
            Some(p) if req.ignore_value || req.ignore_lease => (
                if req.ignore_value {
                    p.value.clone()
                } else {
                    req.value.clone()
                },
                if req.ignore_lease { p.lease } else { req.lease },
            ),
            None if req.ignore_value || req.ignore_lease => {
                return Err(ApiError::KeyNotFound.into());
            }
            _ => (req.value.clone(), req.lease),
        };
        let rev = w.next();
        let generation = self.index.put(&req.key, rev);
        debug_assert!(prev.as_ref().is_none_or(|p| {
            p.create_revision == generation.create_revision && p.version + 1 == generation.version
        }));
        let kv = KeyValue {
            key: req.key.clone(),
            create_revision: generation.create_revision,
            mod_revision: rev.main,
            version: generation.version,
            value,
            lease,
        };
        self.leases.attach(&kv.key, kv.lease);
        self.backend.put(
            Tree::Kv,
            Bytes::copy_from_slice(&rev.to_bytes()),
            Record::Put(kv).encode(),
        );
        Ok(PutResponse {
            header: header_at(rev.main),
            prev_kv: if req.prev_kv { prev } else { None },
        })
    }

    fn exec_delete(
        &mut self,
        w: &mut WriteCtx,
        req: &DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse, KvError> {
        let range = KeyRange::new(&req.key, &req.range_end);
        let mut doomed = Vec::new();
        self.index.visit(&range, w.read_revision(), |key, rev| {
            doomed.push((key.clone(), rev));
            ControlFlow::Continue(())
        });
        let mut prev_kvs = Vec::new();
        for (key, rev) in &doomed {
            if req.prev_kv {
                prev_kvs.push(self.kv_at(*rev)?);
            }
            let tomb = w.next();
            let record = Record::Tombstone {
                key: key.clone(),
                mod_revision: tomb.main,
            };
            self.backend.put(
                Tree::Kv,
                Bytes::copy_from_slice(&tomb.to_bytes()),
                record.encode(),
            );
            self.index.tombstone(key, tomb);
            self.leases.detach(key);
        }
        Ok(DeleteRangeResponse {
            header: header_at(w.read_revision()),
            deleted: doomed.len() as i64,
            prev_kvs,
        })
    }

    /// Evaluates the compares of `req` and of every nested txn on the path it
    /// takes, in pre-order, at revision `at`.
    fn plan_txn(&self, req: &TxnRequest, at: i64, path: &mut Vec<bool>) -> Result<(), KvError> {
        let mut ok = true;
        for compare in &req.compare {
            if !self.compare_at(compare, at)? {
                ok = false;
                break;
            }
        }
        path.push(ok);
        for op in if ok { &req.success } else { &req.failure } {
            if let RequestOp::Txn(nested) = op {
                self.plan_txn(nested, at, path)?;
            }
        }
        Ok(())
    }

    /// Whether `compare` holds for every key it names at `at` (an empty range
    /// compares an absent key).
    fn compare_at(&self, compare: &Compare, at: i64) -> Result<bool, KvError> {
        let range = KeyRange::new(&compare.key, &compare.range_end);
        let mut revs = Vec::new();
        self.index.visit(&range, at, |_, rev| {
            revs.push(rev);
            ControlFlow::Continue(())
        });
        if revs.is_empty() {
            return Ok(compare_holds(compare, None));
        }
        for rev in revs {
            if !compare_holds(compare, Some(&self.kv_at(rev)?)) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Checks every operation on the planned path against the state at `at`.
    fn check_txn_path(
        &self,
        req: &TxnRequest,
        at: i64,
        path: &mut impl Iterator<Item = bool>,
    ) -> Result<(), KvError> {
        let ok = path.next().ok_or_else(|| corrupt("txn plan too short"))?;
        for op in if ok { &req.success } else { &req.failure } {
            match op {
                RequestOp::Range(r) => {
                    self.read_revision(r.revision, at)?;
                }
                RequestOp::Put(p) => self.check_put_state(p, at)?,
                RequestOp::DeleteRange(_) => {}
                RequestOp::Txn(nested) => self.check_txn_path(nested, at, path)?,
            }
        }
        Ok(())
    }

    fn exec_txn(
        &mut self,
        w: &mut WriteCtx,
        req: &TxnRequest,
        path: &mut impl Iterator<Item = bool>,
    ) -> Result<TxnResponse, KvError> {
        let succeeded = path.next().ok_or_else(|| corrupt("txn plan too short"))?;
        let ops = if succeeded {
            &req.success
        } else {
            &req.failure
        };
        let mut responses = Vec::with_capacity(ops.len());
        for op in ops {
            responses.push(match op {
                RequestOp::Range(r) => {
                    let current = w.read_revision();
                    let at = if r.revision > 0 { r.revision } else { current };
                    ResponseOp::Range(self.range_at(r, at, current)?)
                }
                RequestOp::Put(p) => ResponseOp::Put(self.exec_put(w, p)?),
                RequestOp::DeleteRange(d) => ResponseOp::DeleteRange(self.exec_delete(w, d)?),
                RequestOp::Txn(t) => ResponseOp::Txn(self.exec_txn(w, t, path)?),
            });
        }
        Ok(TxnResponse {
            header: header_at(w.read_revision()),
            succeeded,
            responses,
        })
    }
}

/// A header carrying only a revision; the server fills in the rest.
fn header_at(revision: i64) -> ResponseHeader {
    ResponseHeader {
        revision,
        ..ResponseHeader::default()
    }
}

fn passes_filters(req: &RangeRequest, kv: &KeyValue) -> bool {
    (req.min_mod_revision == 0 || kv.mod_revision >= req.min_mod_revision)
        && (req.max_mod_revision == 0 || kv.mod_revision <= req.max_mod_revision)
        && (req.min_create_revision == 0 || kv.create_revision >= req.min_create_revision)
        && (req.max_create_revision == 0 || kv.create_revision <= req.max_create_revision)
}

/// Sorts as etcd does: a non-key target with no order sorts ascending; ties
/// keep key order.
fn sort_kvs(kvs: &mut [KeyValue], order: SortOrder, target: SortTarget) {
    let order = match (order, target) {
        (SortOrder::None, SortTarget::Key) => return,
        (SortOrder::None, _) => SortOrder::Ascend,
        (order, _) => order,
    };
    let cmp = |a: &KeyValue, b: &KeyValue| -> Ordering {
        match target {
            SortTarget::Key => a.key.cmp(&b.key),
            SortTarget::Version => a.version.cmp(&b.version),
            SortTarget::Create => a.create_revision.cmp(&b.create_revision),
            SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
            SortTarget::Value => a.value.cmp(&b.value),
        }
    };
    match order {
        SortOrder::Descend => kvs.sort_by(|a, b| cmp(b, a)),
        _ => kvs.sort_by(cmp),
    }
}

fn decode_record(raw: &Bytes) -> Result<Record, KvError> {
    Record::decode(raw).map_err(|e| KvError::Corrupt(e.to_string()))
}

fn decode_i64(raw: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(raw.try_into().ok()?))
}

fn corrupt(what: &str) -> KvError {
    KvError::Corrupt(format!("bad {what}"))
}

#[cfg(test)]
mod tests;
