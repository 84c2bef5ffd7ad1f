//! What a raft entry carries: a client request or a membership change,
//! tagged with the member that proposed it and its request id there.

use crate::api::{Member, Request};

/// The payload of a normal entry, or the context of a conf change entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The member whose client is waiting for the answer.
    pub origin: u64,
    /// The request's id on `origin` (0: nobody waits).
    pub request_id: u64,
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
}
