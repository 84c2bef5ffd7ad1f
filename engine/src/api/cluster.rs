//! Membership requests: list, add, remove, update, promote.

use super::ResponseHeader;

/// One member of the cluster as the state machine records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    /// Member id, derived from its peer URLs and the cluster token.
    pub id: u64,
    /// Name; empty until the member has started and published itself.
    pub name: String,
    /// URLs peers reach it on.
    pub peer_urls: Vec<String>,
    /// URLs clients reach it on; empty until it has started.
    pub client_urls: Vec<String>,
    /// Whether it is a non-voting learner.
    pub is_learner: bool,
}

impl Member {
    /// Whether the member has started and published its name and client URLs.
    pub fn is_started(&self) -> bool {
        !self.name.is_empty()
    }
}

/// Lists the members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberListRequest {
    /// Go through a ReadIndex round instead of the local view.
    pub linearizable: bool,
}

/// Adds a member (a voter, or a learner).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberAddRequest {
    /// The new member's peer URLs.
    pub peer_urls: Vec<String>,
    /// Add it as a learner.
    pub is_learner: bool,
    /// Add a voter even if the cluster would lose quorum until it starts.
    pub force: bool,
}

/// Removes a member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberRemoveRequest {
    /// The member to remove.
    pub id: u64,
}

/// Changes a member's peer URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberUpdateRequest {
    /// The member to change.
    pub id: u64,
    /// Its new peer URLs.
    pub peer_urls: Vec<String>,
}

/// Promotes a learner to a voter once it has caught up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberPromoteRequest {
    /// The learner to promote.
    pub id: u64,
}

/// The membership after a membership request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberResponse {
    /// Response metadata.
    pub header: ResponseHeader,
    /// The member the request added (for `MemberAdd`).
    pub member: Option<Member>,
    /// Every member, sorted by id.
    pub members: Vec<Member>,
}
