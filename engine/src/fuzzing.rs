//! Entry points shared by the fuzz targets (`fuzz/`) and the corpus replay
//! tests: each takes arbitrary bytes and must return — `Ok` or a typed
//! error — without panicking, hanging or allocating past the limits it is
//! given. A panic here is a bug in the code under it.

use crate::api::*;
use crate::mvcc::{Backend, KvError, KvStore};
use crate::storage::btree::{BTreeOptions, BTreeStore};
use crate::storage::disk::{Disk, SimDisk};
use crate::storage::wal::{Wal, WalOptions, segment_name};
use crate::wire::{self, Decode, Encode, Frame, FrameKind, RaftMessages};
use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

/// Largest frame the wire targets accept (a member's default is larger;
/// the limit is what matters, not its size).
pub const MAX_FRAME_BYTES: usize = 1 << 20;

/// Opens a WAL whose only segment holds `data` and reads every entry it
/// recovers. Returns how many entries it read.
pub fn wal_recovery(data: &[u8]) -> Result<usize, String> {
    let disk: Arc<dyn Disk> = Arc::new(SimDisk::new(0));
    let dir = Path::new("/wal");
    disk.create_dir_all(dir).map_err(|e| e.to_string())?;
    let file = disk
        .create(&dir.join(segment_name(1, 1)))
        .map_err(|e| e.to_string())?;
    file.write_all_at(data, 0).map_err(|e| e.to_string())?;
    file.sync_data().map_err(|e| e.to_string())?;
    let options = WalOptions {
        segment_bytes: 64 << 10,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(disk, dir, options).map_err(|e| e.to_string())?;
    let (first, last) = (wal.first_index(), wal.last_index());
    if last < first {
        return Ok(0);
    }
    let entries = wal
        .entries(first, last + 1, Some(16 << 20))
        .map_err(|e| e.to_string())?;
    Ok(entries.len())
}

/// Treats `data` two ways: as a snapshot image to install (verified before
/// use) and as a B-tree file to open; scans every tree of whatever opens.
/// Returns how many entries the scans saw, or why neither way opened.
pub fn btree_image(data: &[u8]) -> Result<usize, String> {
    let options = BTreeOptions {
        max_file_bytes: 64 << 20,
        ..BTreeOptions::default()
    };
    let disk: Arc<dyn Disk> = Arc::new(SimDisk::new(0));
    let installed = BTreeStore::install_image(
        Arc::clone(&disk),
        Path::new("/installed"),
        &mut &data[..],
        options.clone(),
    )
    .map_err(|e| e.to_string())
    .and_then(|store| scan_all(&store));
    let file = disk.create(Path::new("/raw")).map_err(|e| e.to_string())?;
    file.write_all_at(data, 0).map_err(|e| e.to_string())?;
    let opened = BTreeStore::open(disk, Path::new("/raw"), options)
        .map_err(|e| e.to_string())
        .and_then(|store| scan_all(&store));
    match (installed, opened) {
        (Ok(a), Ok(b)) => Ok(a + b),
        (Ok(seen), Err(_)) | (Err(_), Ok(seen)) => Ok(seen),
        (Err(image), Err(file)) => Err(format!("as an image: {image}; as a file: {file}")),
    }
}

fn scan_all(store: &BTreeStore) -> Result<usize, String> {
    let view = store.view();
    let mut seen = 0;
    for tree in view.tree_names() {
        for reverse in [false, true] {
            let iter = view
                .range(
                    &tree,
                    Bound::Unbounded,
                    Bound::Unbounded,
                    reverse,
                    Some(10_000),
                )
                .map_err(|e| e.to_string())?;
            for item in iter {
                let (key, _) = item.map_err(|e| e.to_string())?;
                seen += 1;
                view.get(&tree, &key).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(seen)
}

/// Decodes `data` as one client frame as a server would (whatever decodes
/// must encode back to a frame that decodes to the same thing), and as a
/// server's answer as the client library would (responses, errors, watch
/// responses).
pub fn client_frame(data: &[u8]) -> Result<(), String> {
    if server_frame(data) {
        return Ok(());
    }
    let frame = wire::decode_client_frame(data, MAX_FRAME_BYTES).map_err(|e| e.to_string())?;
    let again = match &frame {
        wire::ClientFrame::Request(id, request) => {
            Frame::new(FrameKind::Request, *id, request.to_bytes())
        }
        wire::ClientFrame::WatchCreate(id, create) => {
            Frame::new(FrameKind::WatchCreate, *id, create.to_bytes())
        }
        wire::ClientFrame::WatchCancel(id) => {
            Frame::new(FrameKind::WatchCancel, *id, bytes::Bytes::new())
        }
        wire::ClientFrame::Backup(id) => {
            Frame::new(FrameKind::BackupRequest, *id, bytes::Bytes::new())
        }
    };
    match wire::decode_client_frame(&again.encode(), usize::MAX) {
        Ok(back) if back == frame => Ok(()),
        other => panic!("frame {frame:?} did not survive a round trip: {other:?}"),
    }
}

/// What the client library does with a frame from the server; true if
/// `data` is a well-formed answer.
fn server_frame(data: &[u8]) -> bool {
    let Ok(Some((frame, used))) = wire::decode_frame(data, MAX_FRAME_BYTES) else {
        return false;
    };
    let whole = used == data.len();
    match frame.kind {
        FrameKind::WatchResponse => match crate::api::WatchResponse::from_bytes(&frame.body) {
            Ok(response) => {
                let again = crate::api::WatchResponse::from_bytes(&response.to_bytes());
                assert_eq!(again.as_ref(), Ok(&response), "watch response round trip");
                whole
            }
            Err(_) => false,
        },
        FrameKind::Response | FrameKind::Error => wire::decode_response(&frame).is_ok() && whole,
        FrameKind::BackupData => match wire::decode_backup_data(&frame) {
            Ok(Ok(data)) => {
                let again = Frame::new(FrameKind::BackupData, frame.request_id, data.encode());
                assert_eq!(again.body, frame.body, "backup data round trip");
                whole
            }
            _ => false,
        },
        _ => false,
    }
}

/// The auth tree's entries as the `auth_store` target reads them from its
/// input: `key_len u16 | key | value_len u16 | value`, repeated.
pub fn auth_tree_bytes(entries: &[(Bytes, Bytes)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in entries {
        for part in [key, value] {
            let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&part[..usize::from(len)]);
        }
    }
    out
}

/// Rebuilds an auth store from `data` read as an auth tree's entries (see
/// [`auth_tree_bytes`]), as a member does from its state file; whatever
/// loads must then answer reads and permission checks without panicking.
/// Returns how many users it holds.
pub fn auth_store(data: &[u8]) -> Result<usize, String> {
    use crate::auth::{Access, AuthInfo, AuthStore};
    let mut entries = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let mut part = || -> Result<Bytes, String> {
            let (len, tail) = rest.split_at_checked(2).ok_or("truncated length")?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            let (bytes, tail) = tail.split_at_checked(len).ok_or("truncated entry")?;
            rest = tail;
            Ok(Bytes::copy_from_slice(bytes))
        };
        let key = part()?;
        let value = part()?;
        entries.push((key, value));
    }
    let store =
        AuthStore::load(entries.iter().map(|(k, v)| (k.as_ref(), v))).map_err(|e| e.to_string())?;
    let users = match store.read(&AuthRequest::UserList) {
        Ok(AuthAnswer::Users(users)) => users,
        other => return Err(format!("user list: {other:?}")),
    };
    for user in &users {
        let who = AuthInfo {
            user: user.clone(),
            revision: store.revision(),
        };
        for (key, range_end) in [(&b""[..], &b"\0"[..]), (b"a", b""), (b"a", b"b")] {
            let _ = store.check(Some(&who), key, range_end, Access::Read);
            let _ = store.check(Some(&who), key, range_end, Access::Write);
        }
        let _ = store.check_admin(Some(&who));
        let _ = store.read(&AuthRequest::UserGet { name: user.clone() });
    }
    if let Ok(AuthAnswer::RoleNames(roles)) = store.read(&AuthRequest::RoleList) {
        for role in roles {
            let _ = store.read(&AuthRequest::RoleGet { role });
        }
    }
    Ok(users.len())
}

/// Decodes `data` as one peer frame.
pub fn peer_frame(data: &[u8]) -> Result<(), String> {
    wire::decode_peer_frame(data, MAX_FRAME_BYTES)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Decodes `data` as the body of a raft-messages peer frame, as a member
/// receives it. Returns how many messages it held.
pub fn raft_messages(data: &[u8]) -> Result<usize, String> {
    RaftMessages::from_bytes(&Bytes::copy_from_slice(data))
        .map(|messages| messages.0.len())
        .map_err(|e| e.to_string())
}

/// One step of the [`kv_ops`] target.
#[derive(Debug, Clone, Arbitrary)]
pub enum KvOp {
    /// Put key `k` (of a small space) = `v`.
    Put {
        /// Key number.
        k: u8,
        /// Value.
        v: u8,
        /// Ask for the previous pair.
        prev_kv: bool,
    },
    /// Delete key `k`, or the keys `[k, end)`.
    Delete {
        /// First key number.
        k: u8,
        /// Range end (exclusive), if a range.
        end: Option<u8>,
    },
    /// If `k`'s value is `expect`, put `k` = `v`, else delete `other`.
    Cas {
        /// Key compared and written.
        k: u8,
        /// Expected value.
        expect: u8,
        /// New value.
        v: u8,
        /// Key deleted on failure.
        other: u8,
    },
    /// Read the keys `[k, end)` (or one key) at the current revision.
    Range {
        /// First key number.
        k: u8,
        /// Range end (exclusive), if a range.
        end: Option<u8>,
    },
    /// Compact at `back` revisions before the current one.
    Compact {
        /// How far back.
        back: u8,
    },
    /// Grant lease number `l` (of a small space; refused if it exists).
    LeaseGrant {
        /// Lease number.
        l: u8,
    },
    /// Put key `k` = `v` attached to lease number `l` (refused if the
    /// lease does not exist).
    PutLeased {
        /// Key number.
        k: u8,
        /// Value.
        v: u8,
        /// Lease number.
        l: u8,
    },
    /// Revoke lease number `l`: its keys go at one revision.
    LeaseRevoke {
        /// Lease number.
        l: u8,
    },
    /// Write everything durably.
    Checkpoint,
    /// Power loss and reopen: the store comes back as of its last checkpoint.
    CrashAndReopen,
}

fn key(k: u8) -> Bytes {
    Bytes::from(format!("k{:03}", k % 32))
}

fn lease_id(l: u8) -> i64 {
    i64::from(l % 8) + 1
}

/// What the model keeps per key: value, create revision, version, lease.
type ModelKv = (Bytes, i64, i64, i64);

#[derive(Clone, Default)]
struct Model {
    keys: BTreeMap<Bytes, ModelKv>,
    leases: std::collections::BTreeSet<i64>,
    revision: i64,
    compacted: i64,
}

impl Model {
    fn put(&mut self, key: Bytes, value: Bytes) {
        self.put_leased(key, value, 0);
    }

    fn put_leased(&mut self, key: Bytes, value: Bytes, lease: i64) {
        self.revision += 1;
        let revision = self.revision;
        let entry = self
            .keys
            .entry(key)
            .or_insert((Bytes::new(), revision, 0, 0));
        entry.0 = value;
        entry.2 += 1;
        entry.3 = lease;
    }

    /// Revokes `lease`: its keys go at one revision (none: no revision).
    fn revoke(&mut self, lease: i64) {
        self.leases.remove(&lease);
        let before = self.keys.len();
        self.keys.retain(|_, kv| kv.3 != lease);
        if self.keys.len() != before {
            self.revision += 1;
        }
    }

    fn delete(&mut self, from: &Bytes, end: Option<&Bytes>) -> i64 {
        let doomed: Vec<Bytes> = self
            .keys
            .keys()
            .filter(|k| match end {
                Some(end) => *k >= from && *k < end,
                None => *k == from,
            })
            .cloned()
            .collect();
        if !doomed.is_empty() {
            self.revision += 1;
        }
        for k in &doomed {
            self.keys.remove(k);
        }
        doomed.len() as i64
    }
}

/// Runs the operations `data` describes against a KvStore on a simulated
/// disk and against a model, with checkpoints and power losses between
/// them, and panics where the store and the model disagree. Returns how
/// many operations ran.
pub fn kv_ops(data: &[u8]) -> Result<usize, String> {
    let mut input = Unstructured::new(data);
    let mut ops = Vec::new();
    while !input.is_empty() && ops.len() < 256 {
        ops.push(KvOp::arbitrary(&mut input).map_err(|e| e.to_string())?);
    }
    let sim = SimDisk::new(u64::from(data.first().copied().unwrap_or(0)));
    let open = |sim: &SimDisk| -> Result<KvStore, String> {
        let backend =
            Backend::open(Arc::new(sim.clone()), Path::new("/db")).map_err(|e| e.to_string())?;
        KvStore::open(backend).map_err(|e| e.to_string())
    };
    let mut store = open(&sim)?;
    let mut model = Model {
        revision: 1,
        ..Model::default()
    };
    let mut durable = model.clone();
    let mut ran = 0;
    for op in ops {
        ran += 1;
        match op {
            KvOp::Put { k, v, prev_kv } => {
                let before = model.keys.get(&key(k)).cloned();
                let response = store
                    .put(&PutRequest {
                        key: key(k),
                        value: Bytes::from(vec![v]),
                        prev_kv,
                        ..PutRequest::default()
                    })
                    .map_err(|e| e.to_string())?;
                model.put(key(k), Bytes::from(vec![v]));
                assert_eq!(response.header.revision, model.revision);
                if prev_kv {
                    assert_eq!(
                        response.prev_kv.map(|kv| (
                            kv.value,
                            kv.create_revision,
                            kv.version,
                            kv.lease
                        )),
                        before
                    );
                }
            }
            KvOp::Delete { k, end } => {
                let end_key = end.map(key);
                let response = store
                    .delete_range(&DeleteRangeRequest {
                        key: key(k),
                        range_end: end_key.clone().unwrap_or_default(),
                        prev_kv: false,
                    })
                    .map_err(|e| e.to_string())?;
                if end_key.as_ref().is_some_and(|end| *end <= key(k)) {
                    // An empty or inverted range deletes nothing.
                    assert_eq!(response.deleted, 0);
                    continue;
                }
                let deleted = model.delete(&key(k), end_key.as_ref());
                assert_eq!(response.deleted, deleted);
                assert_eq!(response.header.revision, model.revision);
            }
            KvOp::Cas {
                k,
                expect,
                v,
                other,
            } => {
                let txn = TxnRequest {
                    compare: vec![Compare {
                        result: CompareResult::Equal,
                        target: CompareTarget::Value(Bytes::from(vec![expect])),
                        key: key(k),
                        range_end: Bytes::new(),
                    }],
                    success: vec![RequestOp::Put(PutRequest {
                        key: key(k),
                        value: Bytes::from(vec![v]),
                        ..PutRequest::default()
                    })],
                    failure: vec![RequestOp::DeleteRange(DeleteRangeRequest {
                        key: key(other),
                        ..DeleteRangeRequest::default()
                    })],
                };
                let response = store.txn(&txn).map_err(|e| e.to_string())?;
                let holds = model
                    .keys
                    .get(&key(k))
                    .is_some_and(|(value, ..)| value[..] == [expect]);
                assert_eq!(response.succeeded, holds);
                if holds {
                    model.put(key(k), Bytes::from(vec![v]));
                } else {
                    model.delete(&key(other), None);
                }
                assert_eq!(response.header.revision, model.revision);
            }
            KvOp::Range { k, end } => {
                let end_key = end.map(key);
                let response = store
                    .range(&RangeRequest {
                        key: key(k),
                        range_end: end_key.clone().unwrap_or_default(),
                        ..RangeRequest::default()
                    })
                    .map_err(|e| e.to_string())?;
                let expected: Vec<(Bytes, ModelKv)> = model
                    .keys
                    .iter()
                    .filter(|(candidate, _)| match &end_key {
                        Some(end) => **candidate >= key(k) && *candidate < end,
                        None => **candidate == key(k),
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let got: Vec<(Bytes, ModelKv)> = response
                    .kvs
                    .into_iter()
                    .map(|kv| {
                        let fields = (kv.value, kv.create_revision, kv.version, kv.lease);
                        (kv.key, fields)
                    })
                    .collect();
                assert_eq!(got, expected);
                assert_eq!(response.header.revision, model.revision);
            }
            KvOp::Compact { back } => {
                let at = model.revision - i64::from(back);
                match store.compact(at) {
                    Ok(_) => {
                        assert!(at > model.compacted && at <= model.revision);
                        model.compacted = at;
                    }
                    Err(KvError::Api(ApiError::Compacted { .. })) => assert!(at <= model.compacted),
                    Err(other) => return Err(other.to_string()),
                }
            }
            KvOp::LeaseGrant { l } => {
                let grant = LeaseGrantRequest {
                    ttl_seconds: 10,
                    id: lease_id(l),
                };
                match store.lease_grant(&grant, ran as u64, 0) {
                    Ok(granted) => {
                        assert!(model.leases.insert(granted.id), "granted twice");
                        assert_eq!(granted.id, lease_id(l));
                    }
                    Err(KvError::Api(ApiError::LeaseExists)) => {
                        assert!(model.leases.contains(&lease_id(l)))
                    }
                    Err(other) => return Err(other.to_string()),
                }
                assert_eq!(store.revision(), model.revision);
            }
            KvOp::PutLeased { k, v, l } => {
                let put = PutRequest {
                    key: key(k),
                    value: Bytes::from(vec![v]),
                    lease: lease_id(l),
                    ..PutRequest::default()
                };
                match store.put(&put) {
                    Ok(response) => {
                        assert!(model.leases.contains(&lease_id(l)));
                        model.put_leased(key(k), Bytes::from(vec![v]), lease_id(l));
                        assert_eq!(response.header.revision, model.revision);
                    }
                    Err(KvError::Api(ApiError::LeaseNotFound)) => {
                        assert!(!model.leases.contains(&lease_id(l)))
                    }
                    Err(other) => return Err(other.to_string()),
                }
            }
            KvOp::LeaseRevoke { l } => match store.lease_revoke(lease_id(l)) {
                Ok(response) => {
                    assert!(model.leases.contains(&lease_id(l)));
                    model.revoke(lease_id(l));
                    assert_eq!(response.header.revision, model.revision);
                    assert!(store.lease_keys(lease_id(l)).is_empty());
                    let all = store
                        .range(&RangeRequest {
                            key: Bytes::from_static(b"\0"),
                            range_end: Bytes::from_static(b"\0"),
                            keys_only: true,
                            ..RangeRequest::default()
                        })
                        .map_err(|e| e.to_string())?;
                    let keys: Vec<Bytes> = all.kvs.into_iter().map(|kv| kv.key).collect();
                    assert_eq!(keys, model.keys.keys().cloned().collect::<Vec<_>>());
                }
                Err(KvError::Api(ApiError::LeaseNotFound)) => {
                    assert!(!model.leases.contains(&lease_id(l)))
                }
                Err(other) => return Err(other.to_string()),
            },
            KvOp::Checkpoint => {
                store
                    .backend_mut()
                    .checkpoint(Bytes::new())
                    .map_err(|e| e.to_string())?;
                durable = model.clone();
            }
            KvOp::CrashAndReopen => {
                drop(store);
                sim.crash();
                store = open(&sim)?;
                model = durable.clone();
                assert_eq!(store.revision(), model.revision.max(model.compacted));
                let leases: Vec<i64> = store.leases().iter().map(|l| l.id).collect();
                assert_eq!(leases, model.leases.iter().copied().collect::<Vec<_>>());
                for &lease in &model.leases {
                    let attached: Vec<Bytes> = model
                        .keys
                        .iter()
                        .filter(|(_, kv)| kv.3 == lease)
                        .map(|(k, _)| k.clone())
                        .collect();
                    assert_eq!(store.lease_keys(lease), attached, "lease {lease}");
                }
            }
        }
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_length_prefixes_are_errors_not_allocations() {
        // A frame claiming 4 GiB.
        let mut frame = u32::MAX.to_be_bytes().to_vec();
        frame.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(client_frame(&frame).is_err());
        assert!(peer_frame(&frame).is_err());
        // A raft-messages body claiming 2^32 - 1 messages.
        assert!(raft_messages(&u32::MAX.to_be_bytes()).is_err());
    }

    #[test]
    fn garbage_is_refused_by_every_entry_point() {
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
        assert!(wal_recovery(&garbage).is_err());
        assert!(btree_image(&garbage).is_err());
        assert!(client_frame(&garbage).is_err());
        assert!(peer_frame(&garbage).is_err());
    }

    #[test]
    fn kv_ops_agree_with_the_model_across_crashes() {
        // A fixed pseudo-random script covering every op kind.
        let data: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let ran = kv_ops(&data).unwrap();
        assert!(ran >= 100, "{ran}");
    }
}
