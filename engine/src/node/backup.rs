//! Backups (etcd's Maintenance.Snapshot): the member's state as of now,
//! pinned for the caller to stream.

use super::driver::Driver;
use crate::api::ApiError;
use crate::storage::btree::ReadView;
use tokio::sync::oneshot;

impl Driver {
    /// Checkpoints what this member has applied and hands over that
    /// checkpoint's view: the caller streams it ([`crate::backup::BackupStream`])
    /// while the member goes on, and later checkpoints never overwrite a page
    /// the view can reach.
    pub(crate) fn backup(&mut self, reply: oneshot::Sender<Result<ReadView, ApiError>>) {
        if self.applied_since_checkpoint > 0 {
            if let Err(err) = self.checkpoint_now() {
                tracing::error!(member = self.config.member_id, "node stopping: {err}");
                self.stop(err.to_string());
                let _ = reply.send(Err(ApiError::Stopped));
                return;
            }
        }
        let view = match self.state.latest_checkpoint() {
            Some(checkpoint) => Ok(checkpoint.view.clone()),
            None => Err(ApiError::Unavailable(
                "keel: this member has no state to back up yet".into(),
            )),
        };
        let _ = reply.send(view);
    }
}
