//! Applying committed entries: every member runs exactly this, in log order,
//! so it depends on nothing but the entries and the state before them.

use super::NodeError;
use super::driver::Driver;
use super::proposal::{Proposal, ProposalBody};
use crate::api::{ApiError, AuthAnswer, AuthRequest, Request, Response, ResponseOp};
use crate::auth::AuthInfo;
use protobuf::Message as _;
use raft::eraftpb::{ConfChangeV2, Entry, EntryType};
use tokio::time::Instant;

/// What applying one entry produced for this member's waiting clients.
pub(crate) enum Applied {
    /// Nothing to answer here (another member's request, or no request).
    Nothing,
    /// The answer to a request this member proposed.
    Answer {
        /// The request's id in this member's pending registry.
        request_id: u64,
        /// The outcome.
        result: Result<Response, ApiError>,
    },
}

impl Driver {
    pub(crate) fn apply_entry(&mut self, entry: &Entry) -> Result<Applied, NodeError> {
        let (index, term) = (entry.index, entry.term);
        if index <= self.state.applied_index() {
            // Already part of the state (replayed after a checkpoint).
            return Ok(Applied::Nothing);
        }
        let applied = match entry.get_entry_type() {
            EntryType::EntryNormal if entry.data.is_empty() => Applied::Nothing,
            EntryType::EntryNormal => {
                let proposal = Proposal::decode(&entry.data)
                    .map_err(|e| NodeError::Corrupt(format!("entry {index}: {e}")))?;
                let result = self
                    .state
                    .apply(index, &proposal.body, proposal.who.as_ref())?;
                self.lease_applied(&proposal.body, &result);
                self.auth_applied(&proposal.body, &result);
                if let Ok(response) = &result {
                    self.count_writes(response);
                }
                self.answer_if_mine(&proposal, result)
            }
            EntryType::EntryConfChangeV2 => self.apply_conf_change(entry)?,
            // Keel never proposes the old conf change format.
            EntryType::EntryConfChange => Applied::Nothing,
        };
        self.state.set_applied(index, term);
        Ok(applied)
    }

    /// Keeps this member's tokens in step with the auth store: a token
    /// issued through raft is honoured here too; a deleted user's or a
    /// changed password's tokens, and every token once auth is off, are not.
    fn auth_applied(&mut self, body: &ProposalBody, result: &Result<Response, ApiError>) {
        let (ProposalBody::Client(Request::Auth(request)), Ok(Response::Auth(answer))) =
            (body, result)
        else {
            return;
        };
        match (request, &answer.answer) {
            (
                AuthRequest::IssueToken { name, .. },
                AuthAnswer::Authenticated { token, revision },
            ) => {
                let who = AuthInfo {
                    user: name.clone(),
                    revision: *revision,
                };
                self.tokens.issue(token.clone(), who, Instant::now());
            }
            (AuthRequest::UserDelete { name }, _)
            | (AuthRequest::UserChangePassword { name, .. }, _) => self.tokens.forget_user(name),
            (AuthRequest::Disable, _) => self.tokens.clear(),
            _ => {}
        }
    }

    /// Counts the puts and deletes an applied write made (etcd counts each
    /// operation of a txn's branch that ran).
    fn count_writes(&self, response: &Response) {
        let (mut puts, mut deletes) = (0, 0);
        match response {
            Response::Put(_) => puts = 1,
            Response::DeleteRange(_) => deletes = 1,
            Response::Txn(txn) => count_txn_ops(&txn.responses, &mut puts, &mut deletes),
            _ => {}
        }
        self.metrics.puts.add(puts);
        self.metrics.deletes.add(deletes);
    }

    fn answer_if_mine(&self, proposal: &Proposal, result: Result<Response, ApiError>) -> Applied {
        if proposal.origin == self.config.member_id && proposal.request_id != 0 {
            Applied::Answer {
                request_id: proposal.request_id,
                result,
            }
        } else {
            Applied::Nothing
        }
    }

    /// A membership change: checked against the state (deterministically, on
    /// every member), applied to raft's configuration, recorded in the state.
    fn apply_conf_change(&mut self, entry: &Entry) -> Result<Applied, NodeError> {
        let index = entry.index;
        let cc = ConfChangeV2::parse_from_bytes(&entry.data)
            .map_err(|e| NodeError::Corrupt(format!("conf change at {index}: {e}")))?;
        let proposal = if cc.context.is_empty() {
            None
        } else {
            Some(
                Proposal::decode(&cc.context)
                    .map_err(|e| NodeError::Corrupt(format!("conf change at {index}: {e}")))?,
            )
        };
        let body = proposal.as_ref().map(|p| &p.body);
        let result = match self.state.check_membership_change(body) {
            Err(refused) => Err(refused),
            // An error from raft (e.g. removing the last voter) leaves the
            // configuration unchanged on every member alike.
            Ok(()) => match self.raw.apply_conf_change(&cc) {
                Err(err) => Err(ApiError::Unavailable(format!(
                    "membership change refused: {err}"
                ))),
                Ok(conf_state) => self.state.apply_membership_change(index, body, conf_state),
            },
        };
        if self.state.is_removed(self.config.member_id) && self.removed_at.is_none() {
            tracing::warn!(
                member = self.config.member_id,
                "this member has been permanently removed from the cluster; stopping"
            );
            self.removed_at = Some(tokio::time::Instant::now());
        }
        Ok(match proposal {
            Some(p) => self.answer_if_mine(&p, result),
            None => Applied::Nothing,
        })
    }
}

/// Adds up the puts and deletes of a txn's branch, nested txns included.
fn count_txn_ops(ops: &[ResponseOp], puts: &mut u64, deletes: &mut u64) {
    for op in ops {
        match op {
            ResponseOp::Put(_) => *puts += 1,
            ResponseOp::DeleteRange(_) => *deletes += 1,
            ResponseOp::Range(_) => {}
            ResponseOp::Txn(nested) => count_txn_ops(&nested.responses, puts, deletes),
        }
    }
}
