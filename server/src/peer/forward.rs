//! Requests a follower hands to the leader over the peer port because only
//! the leader can judge them (etcd forwards these the same way).

use super::listener::forward_promote;
use crate::tls::Dialer;
use crate::url::Url;
use keel_engine::api::{ApiError, MemberListRequest, MemberResponse, Request, Response};
use keel_engine::node::NodeHandle;
use std::time::Duration;

/// How long a forwarded request may take at each of the leader's URLs.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// The way to the leader's peer port: the member's peer dialer (its peer
/// TLS identity when peers use TLS).
#[derive(Debug, Clone)]
pub struct LeaderLink {
    dialer: Dialer,
    max_frame_bytes: usize,
}

impl LeaderLink {
    /// A link dialing with `dialer`, reading answers up to
    /// `max_frame_bytes`.
    pub fn new(dialer: Dialer, max_frame_bytes: usize) -> LeaderLink {
        LeaderLink {
            dialer,
            max_frame_bytes,
        }
    }

    /// Asks member `leader` to promote learner `member_id`: its answer, or
    /// `Unavailable` when none of its peer URLs answered. The leader does
    /// not forward again, so a leadership change in between ends as
    /// `NotLeader`.
    pub async fn promote(
        &self,
        node: &NodeHandle,
        leader: u64,
        member_id: u64,
    ) -> Result<MemberResponse, ApiError> {
        let urls = leader_peer_urls(node, leader).await?;
        let mut last_error = format!("member {leader:x} has no peer URL");
        for url in urls {
            let asked = tokio::time::timeout(
                FORWARD_TIMEOUT,
                forward_promote(&url, &self.dialer, member_id, self.max_frame_bytes),
            )
            .await;
            match asked {
                Ok(Ok(answer)) => return answer.0,
                Ok(Err(err)) => last_error = format!("{url}: {err}"),
                Err(_) => last_error = format!("{url}: no answer in {FORWARD_TIMEOUT:?}"),
            }
        }
        Err(ApiError::Unavailable(format!(
            "could not reach the leader: {last_error}"
        )))
    }
}

/// The peer URLs of member `leader` in this member's list.
async fn leader_peer_urls(node: &NodeHandle, leader: u64) -> Result<Vec<Url>, ApiError> {
    let list = Request::MemberList(MemberListRequest {
        linearizable: false,
    });
    let members = match node.request(list).await? {
        Response::Member(members) => members.members,
        other => {
            return Err(ApiError::Unavailable(format!(
                "unexpected answer to member list: {other:?}"
            )));
        }
    };
    Ok(members
        .iter()
        .filter(|m| m.id == leader)
        .flat_map(|m| m.peer_urls.iter())
        .filter_map(|url| Url::parse(url).ok())
        .collect())
}
