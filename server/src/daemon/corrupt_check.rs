//! etcd's corruption checks. The initial one
//! (`--experimental-initial-corrupt-check`): before a restarted member talks
//! to its peers or serves clients, it compares its hash of the keys with
//! each peer's at its own revision, and refuses to start if one differs
//! while both count from the same compaction. The periodic one
//! (`--experimental-corrupt-check-time`): every interval the leader does the
//! same comparison and raises the cluster-wide CORRUPT alarm for each member
//! whose hash differs, after which the cluster refuses writes (etcd's
//! `etcdserver: corrupt cluster`) until an operator disarms it.
//!
//! The peers are asked on their peer port (a hash-kv request beside the
//! cluster-info one), as etcd asks on its peer port: members trust each
//! other there (peer TLS), it answers even where client URLs require
//! client certificates, and a member answers from its own state. A peer
//! that cannot be reached, has not reached the revision, or has compacted
//! past it is a warning, not a failure, as in etcd: the check catches
//! damage it can prove.

use super::{DaemonError, Identity};
use crate::peer::fetch_hash_kv;
use crate::tls::Dialer;
use crate::url::Url;
use keel_engine::api::{
    AlarmAction, AlarmRequest, AlarmType, ApiError, HashKvRequest, HashKvResponse, Member,
    MemberListRequest, Request, Response,
};
use keel_engine::node::NodeHandle;
use std::time::Duration;

/// This member's hash at its current revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalHash {
    /// This member.
    pub member_id: u64,
    /// The revision hashed at.
    pub revision: i64,
    /// The compaction the hash counts from.
    pub compact_revision: i64,
    /// The hash.
    pub hash: u32,
}

/// What asking one peer gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerOutcome {
    /// Its hash at the revision asked for.
    Hash(HashKvResponse),
    /// It answered without a hash (`FutureRevision`, `Compacted`, ...).
    Refused(ApiError),
    /// No endpoint of it answered: the last error.
    Unreachable(String),
}

/// One peer's part of the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReport {
    /// The peer.
    pub member_id: u64,
    /// Its peer URLs.
    pub endpoints: Vec<String>,
    /// What asking it gave.
    pub outcome: PeerOutcome,
}

/// The check's conclusion: lines to log (warnings, and errors for the
/// mismatches) and how many peers proved to hold different data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Warnings, in peer order.
    pub warnings: Vec<String>,
    /// One line per peer whose hash differs at the same compaction.
    pub mismatches: Vec<String>,
    /// Those peers' ids, in the same order.
    pub corrupt: Vec<u64>,
}

/// Compares `local` with what each peer answered (etcd's rules).
pub fn judge(local: &LocalHash, peers: &[PeerReport]) -> Verdict {
    let me = format!("{:x}", local.member_id);
    let mut verdict = Verdict::default();
    for peer in peers {
        let them = format!("{:x}", peer.member_id);
        match &peer.outcome {
            PeerOutcome::Hash(answer) if answer.hash == local.hash => {}
            PeerOutcome::Hash(answer) if answer.compact_revision == local.compact_revision => {
                verdict.corrupt.push(peer.member_id);
                verdict.mismatches.push(format!(
                    "{me}'s hash {} != {them}'s hash {} (revision {}, peer revision {}, \
                     compact revision {})",
                    local.hash,
                    answer.hash,
                    local.revision,
                    answer.header.revision,
                    local.compact_revision
                ));
            }
            PeerOutcome::Hash(answer) => verdict.warnings.push(format!(
                "{me} cannot check hash of peer({them}): peer has a different compact revision \
                 {} (revision:{})",
                answer.compact_revision, local.revision
            )),
            PeerOutcome::Refused(ApiError::FutureRevision) => verdict.warnings.push(format!(
                "{me} cannot check the hash of peer({:?}) at revision {}: peer is lagging behind",
                peer.endpoints, local.revision
            )),
            PeerOutcome::Refused(err @ ApiError::Compacted { .. }) => {
                verdict.warnings.push(format!(
                    "{me} cannot check the hash of peer({:?}) at revision {}: local node is \
                     lagging behind ({err})",
                    peer.endpoints, local.revision
                ));
            }
            PeerOutcome::Refused(err) => verdict.warnings.push(format!(
                "{me} cannot check the hash of peer({:?}) at revision {}: {err}",
                peer.endpoints, local.revision
            )),
            PeerOutcome::Unreachable(why) => verdict.warnings.push(format!(
                "{me} hash-kv error {why:?} on peer {them} ({:?}) with revision {}",
                peer.endpoints, local.revision
            )),
        }
    }
    verdict
}

/// Runs the check for the member behind `node` (started, not yet talking
/// to peers): each peer is asked at this member's revision, each of its
/// endpoints for up to `timeout`, all peers at once. Mismatches refuse the
/// start with etcd's words.
pub async fn initial_corrupt_check(
    node: &NodeHandle,
    identity: Identity,
    dialer: &Dialer,
    timeout: Duration,
    max_frame_bytes: usize,
) -> Result<(), DaemonError> {
    let me = identity.member_id;
    tracing::info!("{me:x} starting initial corruption check with timeout {timeout:?}...");
    let local = local_hash(node, me).await?;
    let reports = ask_peers(
        node,
        identity,
        dialer,
        local.revision,
        timeout,
        max_frame_bytes,
    )
    .await?;
    let verdict = judge(&local, &reports);
    for line in &verdict.warnings {
        tracing::warn!("{line}");
    }
    for line in &verdict.mismatches {
        tracing::error!("{line}");
    }
    if !verdict.mismatches.is_empty() {
        return Err(DaemonError::DataInconsistency(format!(
            "{me:x} found data inconsistency with peers"
        )));
    }
    tracing::info!("{me:x} succeeded on initial corruption checking: no corruption");
    Ok(())
}

/// Asks every other member for its hash at `revision`, all at once.
async fn ask_peers(
    node: &NodeHandle,
    identity: Identity,
    dialer: &Dialer,
    revision: i64,
    timeout: Duration,
    max_frame_bytes: usize,
) -> Result<Vec<PeerReport>, DaemonError> {
    let me = identity.member_id;
    let peers: Vec<Member> = match node
        .request(Request::MemberList(MemberListRequest {
            linearizable: false,
        }))
        .await
    {
        Ok(Response::Member(list)) => list.members.into_iter().filter(|m| m.id != me).collect(),
        other => {
            return Err(DaemonError::Config(format!(
                "{me:x} failed to read its member list for the corruption check ({other:?})"
            )));
        }
    };
    let mut asking = Vec::new();
    for peer in peers {
        let dialer = dialer.clone();
        asking.push(tokio::spawn(ask(
            peer,
            identity,
            dialer,
            revision,
            timeout,
            max_frame_bytes,
        )));
    }
    let mut reports = Vec::new();
    for task in asking {
        if let Ok(report) = task.await {
            reports.push(report);
        }
    }
    Ok(reports)
}

/// The periodic check: every `interval`, while this member leads, compares
/// its hash with every peer's and raises the CORRUPT alarm (through raft,
/// as an operator's alarm request would) for each peer that differs. Runs
/// until the node stops.
pub async fn periodic_corrupt_check(
    node: NodeHandle,
    identity: Identity,
    dialer: Dialer,
    interval: Duration,
    timeout: Duration,
    max_frame_bytes: usize,
) {
    let me = identity.member_id;
    tracing::info!("{me:x} enabled corruption checking with period {interval:?}");
    loop {
        tokio::time::sleep(interval).await;
        let status = node.status();
        if status.stopped {
            return;
        }
        if status.leader_id != me {
            continue;
        }
        let checked = async {
            let local = local_hash(&node, me).await?;
            let reports = ask_peers(
                &node,
                identity,
                &dialer,
                local.revision,
                timeout,
                max_frame_bytes,
            )
            .await?;
            Ok::<_, DaemonError>(judge(&local, &reports))
        }
        .await;
        let verdict = match checked {
            Ok(verdict) => verdict,
            Err(err) => {
                tracing::warn!("{me:x} corruption check failed: {err}");
                continue;
            }
        };
        for line in &verdict.warnings {
            tracing::warn!("{line}");
        }
        for (line, &peer) in verdict.mismatches.iter().zip(&verdict.corrupt) {
            tracing::error!("{line}");
            let alarm = Request::Alarm(AlarmRequest {
                action: AlarmAction::Activate,
                member_id: peer,
                alarm: AlarmType::Corrupt,
            });
            match node.request(alarm).await {
                Ok(_) => tracing::error!("{me:x} raised the CORRUPT alarm for {peer:x}"),
                Err(err) => tracing::warn!("{me:x} could not raise the CORRUPT alarm: {err}"),
            }
        }
    }
}

/// This member's hash at its latest revision.
async fn local_hash(node: &NodeHandle, me: u64) -> Result<LocalHash, DaemonError> {
    // The member's own check: not a client's, so not checked against auth.
    let hash = Request::HashKv(HashKvRequest { revision: 0 });
    match node
        .request_as(hash, keel_engine::api::Credentials::Member)
        .await
    {
        Ok(Response::HashKv(own)) => Ok(LocalHash {
            member_id: me,
            revision: own.header.revision,
            compact_revision: own.compact_revision,
            hash: own.hash,
        }),
        other => Err(DaemonError::Config(format!(
            "{me:x} failed to fetch hash ({other:?})"
        ))),
    }
}

/// Asks `peer` at each of its peer URLs until one answers.
async fn ask(
    peer: Member,
    identity: Identity,
    dialer: Dialer,
    revision: i64,
    timeout: Duration,
    max_frame_bytes: usize,
) -> PeerReport {
    let mut outcome = PeerOutcome::Unreachable("no peer URLs".into());
    for endpoint in &peer.peer_urls {
        let url = match Url::parse(endpoint) {
            Ok(url) => url,
            Err(err) => {
                outcome = PeerOutcome::Unreachable(err.to_string());
                continue;
            }
        };
        let asked = tokio::time::timeout(
            timeout,
            fetch_hash_kv(&url, &dialer, revision, max_frame_bytes),
        )
        .await;
        outcome = match asked {
            Err(_) => PeerOutcome::Unreachable(format!("{endpoint}: timed out")),
            Ok(Err(err)) => PeerOutcome::Unreachable(format!("{endpoint}: {err}")),
            Ok(Ok(answer)) => match answer.0 {
                Ok(hash) if hash.header.cluster_id != identity.cluster_id => {
                    PeerOutcome::Unreachable(format!(
                        "{endpoint}: answered for cluster {:x}",
                        hash.header.cluster_id
                    ))
                }
                Ok(hash) if hash.header.member_id != peer.id => PeerOutcome::Unreachable(format!(
                    "{endpoint}: answered as member {:x}",
                    hash.header.member_id
                )),
                Ok(hash) => return report(&peer, PeerOutcome::Hash(hash)),
                Err(err) => return report(&peer, PeerOutcome::Refused(err)),
            },
        };
    }
    report(&peer, outcome)
}

fn report(peer: &Member, outcome: PeerOutcome) -> PeerReport {
    PeerReport {
        member_id: peer.id,
        endpoints: peer.peer_urls.clone(),
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_engine::api::ResponseHeader;

    const LOCAL: LocalHash = LocalHash {
        member_id: 0xa,
        revision: 40,
        compact_revision: 5,
        hash: 1234,
    };

    fn answered(id: u64, hash: u32, compact_revision: i64) -> PeerReport {
        PeerReport {
            member_id: id,
            endpoints: vec![format!("http://10.0.0.{id}:2380")],
            outcome: PeerOutcome::Hash(HashKvResponse {
                header: ResponseHeader {
                    member_id: id,
                    revision: 44,
                    ..ResponseHeader::default()
                },
                hash,
                compact_revision,
            }),
        }
    }

    fn other(id: u64, outcome: PeerOutcome) -> PeerReport {
        PeerReport {
            member_id: id,
            endpoints: vec![format!("http://10.0.0.{id}:2380")],
            outcome,
        }
    }

    #[test]
    fn equal_hashes_pass_silently() {
        let verdict = judge(&LOCAL, &[answered(0xb, 1234, 5), answered(0xc, 1234, 5)]);
        assert_eq!(verdict, Verdict::default());
    }

    #[test]
    fn a_different_hash_from_the_same_compaction_is_a_mismatch() {
        let verdict = judge(&LOCAL, &[answered(0xb, 1234, 5), answered(0xc, 999, 5)]);
        assert_eq!(
            verdict.mismatches,
            ["a's hash 1234 != c's hash 999 (revision 40, peer revision 44, compact revision 5)"]
        );
        assert_eq!(verdict.corrupt, [0xc]);
        assert!(verdict.warnings.is_empty());
    }

    #[test]
    fn what_cannot_prove_damage_is_a_warning() {
        let verdict = judge(
            &LOCAL,
            &[
                // Compacted elsewhere: the hashes count from different points.
                answered(0xb, 999, 9),
                other(0xc, PeerOutcome::Refused(ApiError::FutureRevision)),
                other(
                    0xd,
                    PeerOutcome::Refused(ApiError::Compacted {
                        compact_revision: 50,
                    }),
                ),
                other(0xe, PeerOutcome::Unreachable("connection refused".into())),
            ],
        );
        assert!(verdict.mismatches.is_empty() && verdict.corrupt.is_empty());
        assert_eq!(verdict.warnings.len(), 4);
        assert!(
            verdict.warnings[0].contains("peer has a different compact revision 9"),
            "{:?}",
            verdict.warnings
        );
        assert!(verdict.warnings[1].contains("peer is lagging behind"));
        assert!(verdict.warnings[2].contains("local node is lagging behind"));
        assert!(verdict.warnings[3].contains("hash-kv error \"connection refused\""));
    }
}
