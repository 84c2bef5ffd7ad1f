//! The Cluster service: membership.

use super::ResponseHeader;

message! {
    /// One member of the cluster.
    pub struct Member = "etcdserverpb.Member" {
        1 => id: uint64 as "ID",
        2 => name: string,
        3 => peer_urls: repeated_string as "peerURLs",
        4 => client_urls: repeated_string as "clientURLs",
        5 => is_learner: bool as "isLearner",
    }
}

message! {
    /// Adds a member.
    pub struct MemberAddRequest = "etcdserverpb.MemberAddRequest" {
        1 => peer_urls: repeated_string as "peerURLs",
        2 => is_learner: bool as "isLearner",
    }
}

message! {
    /// The member added and the new membership.
    pub struct MemberAddResponse = "etcdserverpb.MemberAddResponse" {
        1 => header: message<ResponseHeader>,
        2 => member: message<Member>,
        3 => members: repeated_message<Member>,
    }
}

message! {
    /// Removes a member.
    pub struct MemberRemoveRequest = "etcdserverpb.MemberRemoveRequest" {
        1 => id: uint64 as "ID",
    }
}

message! {
    /// The membership after a removal.
    pub struct MemberRemoveResponse = "etcdserverpb.MemberRemoveResponse" {
        1 => header: message<ResponseHeader>,
        2 => members: repeated_message<Member>,
    }
}

message! {
    /// Changes a member's peer URLs.
    pub struct MemberUpdateRequest = "etcdserverpb.MemberUpdateRequest" {
        1 => id: uint64 as "ID",
        2 => peer_urls: repeated_string as "peerURLs",
    }
}

message! {
    /// The membership after an update.
    pub struct MemberUpdateResponse = "etcdserverpb.MemberUpdateResponse" {
        1 => header: message<ResponseHeader>,
        2 => members: repeated_message<Member>,
    }
}

message! {
    /// Lists the members.
    pub struct MemberListRequest = "etcdserverpb.MemberListRequest" {}
}

message! {
    /// The membership.
    pub struct MemberListResponse = "etcdserverpb.MemberListResponse" {
        1 => header: message<ResponseHeader>,
        2 => members: repeated_message<Member>,
    }
}

message! {
    /// Promotes a learner.
    pub struct MemberPromoteRequest = "etcdserverpb.MemberPromoteRequest" {
        1 => id: uint64 as "ID",
    }
}

message! {
    /// The membership after a promotion.
    pub struct MemberPromoteResponse = "etcdserverpb.MemberPromoteResponse" {
        1 => header: message<ResponseHeader>,
        2 => members: repeated_message<Member>,
    }
}
