//! How the state machine's own records are stored (integers big-endian):
//!
//! ```text
//! checkpoint meta: 0x01 | index u64 | term u64 | cluster_id u64 | conf_state_len u32 | conf_state (protobuf)
//! member entry:    0x01 | member (the wire codec's encoding)   (active)
//!                  0x02 | id u64                              (removed)
//! alarm key:       member_id u64 | alarm u8
//! ```
//! Decoding checks every length against the bytes present (the wire codec's
//! `Reader`).

use crate::api::{AlarmMember, AlarmType, Member};
use crate::mvcc::KvError;
use crate::wire::codec::put_bytes;
use crate::wire::{Decode, Encode, Reader as WireReader, WireError};
use bytes::{BufMut, Bytes, BytesMut};
use protobuf::Message as _;
use raft::eraftpb::ConfState;

const META_VERSION: u8 = 1;
const ACTIVE: u8 = 1;
const REMOVED: u8 = 2;

/// What a checkpoint records about the raft log it was built from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppliedMeta {
    /// Last applied raft index.
    pub index: u64,
    /// Its term.
    pub term: u64,
    /// Raft configuration as of `index`.
    pub conf_state: ConfState,
    /// The cluster the state belongs to.
    pub cluster_id: u64,
}

impl AppliedMeta {
    /// Encodes the meta for a checkpoint.
    pub fn encode(&self) -> Result<Bytes, String> {
        let conf_state = self
            .conf_state
            .write_to_bytes()
            .map_err(|e| format!("conf state: {e}"))?;
        let mut buf = BytesMut::with_capacity(1 + 24 + 4 + conf_state.len());
        buf.put_u8(META_VERSION);
        buf.put_u64(self.index);
        buf.put_u64(self.term);
        buf.put_u64(self.cluster_id);
        put_bytes(&mut buf, &conf_state);
        Ok(buf.freeze())
    }

    /// Decodes [`AppliedMeta::encode`]; empty bytes (a fresh file) decode to
    /// the default: nothing applied.
    pub fn decode(bytes: &Bytes) -> Result<AppliedMeta, String> {
        if bytes.is_empty() {
            return Ok(AppliedMeta::default());
        }
        let mut r = WireReader::new(bytes.clone());
        let wire = |e: WireError| e.to_string();
        if r.u8("meta").map_err(wire)? != META_VERSION {
            return Err("unknown checkpoint meta version".into());
        }
        let index = r.u64("meta").map_err(wire)?;
        let term = r.u64("meta").map_err(wire)?;
        let cluster_id = r.u64("meta").map_err(wire)?;
        let conf_state = ConfState::parse_from_bytes(&r.bytes("conf state").map_err(wire)?)
            .map_err(|e| format!("conf state: {e}"))?;
        r.finish().map_err(wire)?;
        Ok(AppliedMeta {
            index,
            term,
            conf_state,
            cluster_id,
        })
    }
}

/// A row of the members tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberEntry {
    /// A current member.
    Active(Member),
    /// A member that was removed (its id may never rejoin).
    Removed(u64),
}

/// Encodes a members-tree row: `0x01 | member` (wire encoding) or
/// `0x02 | id u64`.
pub fn encode_member_entry(entry: &MemberEntry) -> Bytes {
    let mut buf = BytesMut::new();
    match entry {
        MemberEntry::Active(m) => {
            buf.put_u8(ACTIVE);
            m.encode(&mut buf);
        }
        MemberEntry::Removed(id) => {
            buf.put_u8(REMOVED);
            buf.put_u64(*id);
        }
    }
    buf.freeze()
}

/// Decodes [`encode_member_entry`].
pub fn decode_member_entry(bytes: &Bytes) -> Result<MemberEntry, KvError> {
    let mut r = WireReader::new(bytes.clone());
    let wire = |e: WireError| corrupt(e.to_string());
    let entry = match r.u8("member entry").map_err(wire)? {
        ACTIVE => MemberEntry::Active(Member::decode(&mut r).map_err(wire)?),
        REMOVED => MemberEntry::Removed(r.u64("member id").map_err(wire)?),
        _ => return Err(corrupt("unknown member entry kind".into())),
    };
    r.finish().map_err(wire)?;
    Ok(entry)
}

/// The alarms-tree key of an alarm.
pub fn encode_alarm_key(alarm: &AlarmMember) -> Bytes {
    let mut buf = BytesMut::with_capacity(9);
    buf.put_u64(alarm.member_id);
    buf.put_u8(match alarm.alarm {
        AlarmType::None => 0,
        AlarmType::NoSpace => 1,
        AlarmType::Corrupt => 2,
    });
    buf.freeze()
}

/// Decodes [`encode_alarm_key`].
pub fn decode_alarm_key(key: &[u8]) -> Result<AlarmMember, KvError> {
    let (id, kind) = match key {
        [id @ .., kind] if id.len() == 8 => (id, *kind),
        _ => return Err(corrupt("bad alarm key length".into())),
    };
    let member_id = u64::from_be_bytes(id.try_into().map_err(|_| corrupt("alarm key".into()))?);
    let alarm = match kind {
        1 => AlarmType::NoSpace,
        2 => AlarmType::Corrupt,
        _ => return Err(corrupt("unknown alarm".into())),
    };
    Ok(AlarmMember { member_id, alarm })
}

fn corrupt(detail: String) -> KvError {
    KvError::Corrupt(format!("cluster state record: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn member() -> impl Strategy<Value = Member> {
        (
            any::<u64>(),
            ".{0,8}",
            prop::collection::vec(".{0,12}", 0..3),
            prop::collection::vec(".{0,12}", 0..3),
            any::<bool>(),
        )
            .prop_map(|(id, name, peer_urls, client_urls, is_learner)| Member {
                id,
                name,
                peer_urls,
                client_urls,
                is_learner,
            })
    }

    proptest! {
        #[test]
        fn member_entries_round_trip_and_truncations_fail(m in member(), removed in any::<bool>()) {
            let entry = if removed { MemberEntry::Removed(m.id) } else { MemberEntry::Active(m) };
            let bytes = encode_member_entry(&entry);
            prop_assert_eq!(decode_member_entry(&bytes).unwrap(), entry);
            for cut in 0..bytes.len() {
                prop_assert!(decode_member_entry(&bytes.slice(..cut)).is_err());
            }
        }

        #[test]
        fn meta_round_trips(index in any::<u64>(), term in any::<u64>(), cluster_id in any::<u64>(),
                            voters in prop::collection::vec(any::<u64>(), 0..5)) {
            let meta = AppliedMeta { index, term, cluster_id, conf_state: ConfState { voters, ..ConfState::default() } };
            prop_assert_eq!(AppliedMeta::decode(&meta.encode().unwrap()).unwrap(), meta);
        }

        #[test]
        fn garbage_never_panics(raw in prop::collection::vec(any::<u8>(), 0..64)) {
            let raw = Bytes::from(raw);
            let _ = decode_member_entry(&raw);
            let _ = AppliedMeta::decode(&raw);
            let _ = decode_alarm_key(&raw);
        }
    }

    #[test]
    fn alarm_keys_round_trip() {
        let alarm = AlarmMember {
            member_id: 7,
            alarm: AlarmType::NoSpace,
        };
        assert_eq!(decode_alarm_key(&encode_alarm_key(&alarm)).unwrap(), alarm);
        assert!(decode_alarm_key(&[0u8; 8]).is_err());
    }
}
