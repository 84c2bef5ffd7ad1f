//! What a raft entry carries: a client request or a membership change,
//! tagged with the member that proposed it and its request id there.

use crate::api::{Member, Request};
use crate::auth::AuthInfo;

/// The payload of a normal entry, or the context of a conf change entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The member whose client is waiting for the answer.
    pub origin: u64,
    /// The request's id on `origin` (0: nobody waits).
    pub request_id: u64,
    /// Who made the request, as `origin` resolved it (checked against the
    /// permissions in force when the entry applies).
    pub who: Option<AuthInfo>,
    /// What to apply.
    pub body: ProposalBody,
}

/// What a proposal asks the state machine to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposalBody {
    /// A client write (put, delete, txn, compaction, member update, alarm).
    Client(Request),
    /// A started member records its name and client URLs.
    Publish(Member),
    /// Adds a member (conf change context).
    AddMember(Member),
    /// Removes a member (conf change context).
    RemoveMember(u64),
    /// Promotes a learner (conf change context).
    PromoteMember(u64),
    /// The leader found a lease expired, having applied up to
    /// `decided_index`; applies as a revoke unless a keep-alive applied
    /// after that index.
    LeaseExpire {
        /// The lease.
        id: i64,
        /// The leader's applied index when it decided.
        decided_index: u64,
    },
    /// The leader's remaining TTLs, in seconds, by lease id, as of its
    /// applied index `decided_index` (a lease kept alive after that index
    /// keeps its newer countdown).
    LeaseCheckpoint {
        /// The leader's applied index when it measured.
        decided_index: u64,
        /// (lease id, remaining seconds).
        remaining: Vec<(i64, i64)>,
    },
}

use crate::wire::{Decode, Encode, Reader, WireError};
use bytes::{BufMut, Bytes, BytesMut};

/// Format version of a proposal (entries outlive the code that wrote them):
/// version 2 added who made it; version 1 entries decode as anonymous.
const PROPOSAL_VERSION: u8 = 2;

impl Proposal {
    /// The entry bytes:
    /// `version u8 | origin u64 | request_id u64 | who | tag u8 | body`,
    /// who being `0`, or `1 | user | auth revision u64`; the body
    /// in the wire codec (tag 0 request, 1 publish, 2 add, 3 remove,
    /// 4 promote, 5 lease expiry `id i64 | decided_index u64`, 6 lease
    /// checkpoint `decided_index u64 | count u32 | (id i64 | remaining i64)*`).
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        buf.put_u8(PROPOSAL_VERSION);
        buf.put_u64(self.origin);
        buf.put_u64(self.request_id);
        match &self.who {
            None => buf.put_u8(0),
            Some(who) => {
                buf.put_u8(1);
                crate::wire::codec::put_bytes(&mut buf, who.user.as_bytes());
                buf.put_u64(who.revision);
            }
        }
        match &self.body {
            ProposalBody::Client(request) => {
                buf.put_u8(0);
                request.encode(&mut buf);
            }
            ProposalBody::Publish(member) => {
                buf.put_u8(1);
                member.encode(&mut buf);
            }
            ProposalBody::AddMember(member) => {
                buf.put_u8(2);
                member.encode(&mut buf);
            }
            ProposalBody::RemoveMember(id) => {
                buf.put_u8(3);
                buf.put_u64(*id);
            }
            ProposalBody::PromoteMember(id) => {
                buf.put_u8(4);
                buf.put_u64(*id);
            }
            ProposalBody::LeaseExpire { id, decided_index } => {
                buf.put_u8(5);
                buf.put_i64(*id);
                buf.put_u64(*decided_index);
            }
            ProposalBody::LeaseCheckpoint {
                decided_index,
                remaining,
            } => {
                buf.put_u8(6);
                buf.put_u64(*decided_index);
                crate::wire::codec::put_count(&mut buf, remaining.len());
                for (id, left) in remaining {
                    buf.put_i64(*id);
                    buf.put_i64(*left);
                }
            }
        }
        buf.freeze()
    }

    /// Decodes [`Proposal::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Proposal, WireError> {
        let mut r = Reader::new(Bytes::copy_from_slice(bytes));
        let version = r.u8("proposal")?;
        if version != 1 && version != PROPOSAL_VERSION {
            return Err(WireError::Malformed {
                what: "proposal",
                detail: format!("unknown version {version}"),
            });
        }
        let origin = r.u64("proposal")?;
        let request_id = r.u64("proposal")?;
        let who = if version == 1 {
            None
        } else {
            match r.u8("proposal caller")? {
                0 => None,
                1 => Some(AuthInfo {
                    user: r.string("proposal caller")?,
                    revision: r.u64("proposal caller")?,
                }),
                tag => {
                    return Err(WireError::Malformed {
                        what: "proposal caller",
                        detail: format!("unknown tag {tag}"),
                    });
                }
            }
        };
        let body = match r.u8("proposal body")? {
            0 => ProposalBody::Client(Request::decode(&mut r)?),
            1 => ProposalBody::Publish(Member::decode(&mut r)?),
            2 => ProposalBody::AddMember(Member::decode(&mut r)?),
            3 => ProposalBody::RemoveMember(r.u64("member id")?),
            4 => ProposalBody::PromoteMember(r.u64("member id")?),
            5 => ProposalBody::LeaseExpire {
                id: r.i64("lease id")?,
                decided_index: r.u64("decided index")?,
            },
            6 => ProposalBody::LeaseCheckpoint {
                decided_index: r.u64("decided index")?,
                remaining: r.list("lease checkpoint", 16, |r| {
                    Ok((r.i64("lease id")?, r.i64("remaining ttl")?))
                })?,
            },
            tag => {
                return Err(WireError::Malformed {
                    what: "proposal body",
                    detail: format!("unknown tag {tag}"),
                });
            }
        };
        r.finish()?;
        Ok(Proposal {
            origin,
            request_id,
            who,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{PutRequest, Request};

    #[test]
    fn proposals_round_trip_and_refuse_damage() {
        let member = Member {
            id: 9,
            name: "n".into(),
            peer_urls: vec!["http://a:1".into()],
            client_urls: vec![],
            is_learner: true,
        };
        let bodies = [
            ProposalBody::Client(Request::Put(PutRequest {
                key: Bytes::from_static(b"k"),
                ..PutRequest::default()
            })),
            ProposalBody::Publish(member.clone()),
            ProposalBody::AddMember(member),
            ProposalBody::RemoveMember(4),
            ProposalBody::PromoteMember(5),
            ProposalBody::LeaseExpire {
                id: 0x694d_0000_0000_0001,
                decided_index: 12,
            },
            ProposalBody::LeaseCheckpoint {
                decided_index: 40,
                remaining: vec![(1, 5), (2, 9)],
            },
            ProposalBody::LeaseCheckpoint {
                decided_index: 0,
                remaining: vec![],
            },
        ];
        let callers = [
            None,
            Some(AuthInfo {
                user: "alice".into(),
                revision: 9,
            }),
        ];
        for (body, who) in bodies.into_iter().zip(callers.into_iter().cycle()) {
            let proposal = Proposal {
                origin: 1,
                request_id: 77,
                who,
                body,
            };
            let bytes = proposal.encode();
            assert_eq!(Proposal::decode(&bytes).unwrap(), proposal);
            for cut in 0..bytes.len() {
                assert!(Proposal::decode(&bytes[..cut]).is_err());
            }
            let mut extra = bytes.to_vec();
            extra.push(0);
            assert!(Proposal::decode(&extra).is_err());
        }
        let mut unknown = vec![3u8];
        unknown.extend_from_slice(&[0; 17]);
        unknown.push(3);
        unknown.extend_from_slice(&9u64.to_be_bytes());
        assert!(Proposal::decode(&unknown).is_err(), "unknown version");
    }

    #[test]
    fn version_one_entries_decode_as_anonymous() {
        // An entry written before proposals said who made them: version 1,
        // origin 1, request 2, then a remove-member body.
        let mut old = vec![1u8];
        old.extend_from_slice(&1u64.to_be_bytes());
        old.extend_from_slice(&2u64.to_be_bytes());
        old.push(3);
        old.extend_from_slice(&9u64.to_be_bytes());
        let decoded = Proposal::decode(&old).unwrap();
        assert_eq!(decoded.who, None);
        assert_eq!(decoded.body, ProposalBody::RemoveMember(9));
    }
}
