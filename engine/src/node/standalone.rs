//! etcd's `--force-new-cluster`: a member restarts from its own data as the
//! only member of its cluster, for when the others are lost for good.
//!
//! One committed membership change per other member is appended that
//! removes it; raft applies those like any committed entry, so the state,
//! raft's configuration and the member list agree on one voter, which then
//! elects itself. Every entry the member holds is kept and committed first:
//! where etcd drops the entries past the member's commit index, Keel keeps
//! them, because the lost leader may have committed (and acknowledged) them
//! before the member heard so; committing an entry that was not committed
//! is still a possible history, losing an acknowledged one is not.

use super::NodeError;
use super::proposal::{Proposal, ProposalBody};
use crate::raft_log::RaftLog;
use crate::state_machine::StateMachine;
use protobuf::Message as _;
use raft::eraftpb::{
    ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2, Entry, EntryType,
    HardState,
};
use raft::{GetEntriesContext, Storage};
use std::collections::BTreeSet;

fn storage(err: impl std::fmt::Display) -> NodeError {
    NodeError::Storage(err.to_string())
}

/// Rewrites the tail of `log` so that member `me` is the only member once
/// every committed entry is applied. Returns the members it removes.
pub(super) fn make_standalone(
    log: &mut RaftLog,
    state: &StateMachine,
    me: u64,
) -> Result<Vec<u64>, NodeError> {
    let hard_state = log.initial_state().map_err(storage)?.hard_state;
    let commit = log.last_index_now().max(state.applied_index());
    // Everyone the configuration will hold after the committed entries.
    let conf = state.conf_state();
    let mut others: BTreeSet<u64> = conf
        .voters
        .iter()
        .chain(&conf.learners)
        .chain(&conf.voters_outgoing)
        .chain(&conf.learners_next)
        .copied()
        .chain(state.members().iter().map(|m| m.id))
        .collect();
    let first = state.applied_index() + 1;
    if commit >= first {
        let tail = log
            .entries(first, commit + 1, None, GetEntriesContext::empty(false))
            .map_err(storage)?;
        for entry in tail
            .iter()
            .filter(|e| e.get_entry_type() == EntryType::EntryConfChangeV2)
        {
            let cc = ConfChangeV2::parse_from_bytes(&entry.data)
                .map_err(|e| NodeError::Corrupt(format!("conf change at {}: {e}", entry.index)))?;
            for change in cc.get_changes() {
                match change.get_change_type() {
                    ConfChangeType::RemoveNode => others.remove(&change.node_id),
                    _ => others.insert(change.node_id),
                };
            }
        }
    }
    others.remove(&me);
    let removed: Vec<u64> = others.into_iter().collect();
    if removed.is_empty() {
        return Ok(removed);
    }
    let term = hard_state.term.max(state.applied_term());
    let entries: Vec<Entry> = removed
        .iter()
        .enumerate()
        .map(|(k, &id)| {
            let proposal = Proposal {
                origin: 0,
                request_id: 0,
                who: None,
                body: ProposalBody::RemoveMember(id),
            };
            let change = ConfChangeSingle {
                change_type: ConfChangeType::RemoveNode,
                node_id: id,
                ..ConfChangeSingle::default()
            };
            let mut cc = ConfChangeV2::default();
            cc.set_transition(ConfChangeTransition::Auto);
            cc.set_changes(vec![change].into());
            cc.set_context(proposal.encode());
            let mut entry = Entry::default();
            entry.set_entry_type(EntryType::EntryConfChangeV2);
            entry.term = term;
            entry.index = commit + 1 + k as u64;
            entry.data = cc.write_to_bytes().map_err(storage)?.into();
            Ok(entry)
        })
        .collect::<Result<_, NodeError>>()?;
    let last = commit + entries.len() as u64;
    log.append(&entries)?;
    log.set_hard_state(&HardState {
        term,
        vote: hard_state.vote,
        commit: last,
        ..HardState::default()
    })?;
    log.sync()?;
    Ok(removed)
}
